"""`kcanary bench NAME`: run one benchmark from `bench/`.

Each benchmark module exposes `add_arguments(parser)` and `run(args) -> int`; it prints its
figures and writes them to a results file.
"""

from __future__ import annotations

import importlib
from typing import Any

# benchmark name -> module; each module has a docstring whose first line is its help text.
BENCHMARKS: dict[str, str] = {
    "aa": "bench.aa",
    "decisions": "bench.decisions",
    "apiserver": "bench.apiserver_load",
    "gateway": "bench.gateway_throughput",
}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("bench", help="run a benchmark and write its results")
    names = parser.add_subparsers(dest="benchmark", metavar="BENCHMARK", required=True)
    for name, module_name in BENCHMARKS.items():
        module = importlib.import_module(module_name)
        doc = (module.__doc__ or name).strip().splitlines()[0]
        sub = names.add_parser(name, help=doc, description=doc)
        module.add_arguments(sub)
        sub.set_defaults(func=module.run)

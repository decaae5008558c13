"""`kcanary bench NAME [ARGS...]`: run one benchmark from `bench/`.

Each benchmark module exposes `add_arguments(parser)` and `run(args) -> int`; it prints its
figures and writes them to a results file. The module is imported only when its benchmark runs:
the benchmarks pull in numpy, scipy and matplotlib, which every other command would otherwise
pay for at start-up.
"""

from __future__ import annotations

import argparse
import importlib
from functools import partial
from typing import Any

# benchmark name -> (module, one-line help)
BENCHMARKS: dict[str, tuple[str, str]] = {
    "aa": ("bench.aa", "A/A false rollbacks, power and requests to detection (virtual time)"),
    "decisions": (
        "bench.decisions",
        "kcanary against Flagger-, Argo Rollouts- and Kayenta-style analysis (virtual time)",
    ),
    "margins": (
        "bench.margin_curve",
        "the harm margin's trade-off: misses, false rollbacks and time (virtual time)",
    ),
    "apiserver": ("bench.apiserver_load", "the local API server under many ISVCs and watchers"),
    "gateway": ("bench.gateway_throughput", "requests per second through the local gateway"),
    "controller": (
        "bench.controller_scale",
        "many concurrent rollouts on one controller against the local API server",
    ),
}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("bench", help="run a benchmark and write its results")
    names = parser.add_subparsers(dest="benchmark", metavar="BENCHMARK", required=True)
    for name, (_, help_text) in BENCHMARKS.items():
        sub = names.add_parser(name, help=help_text, description=help_text, add_help=False)
        sub.add_argument("arguments", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
        sub.set_defaults(func=partial(run, name), extra="bench")


def run(name: str, args: argparse.Namespace) -> int:
    module_name, help_text = BENCHMARKS[name]
    module = importlib.import_module(module_name)
    parser = argparse.ArgumentParser(prog=f"kcanary bench {name}", description=help_text)
    module.add_arguments(parser)
    code: int = module.run(parser.parse_args(args.arguments))
    return code

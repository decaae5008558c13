"""The optional parts of kcanary and the extra that installs each.

`pip install kcanary` is the controller and the CLI. The local cluster, the demo, the report's
plots and the benchmarks need more (an HTTP server framework, certificate generation, plotting),
which pip installs only when asked for an extra. A command declares the extra it needs; when a
module of that extra cannot be imported, the command fails before it starts, with one line that
names the extra to install instead of an ImportError in the middle of a run.
"""

from __future__ import annotations

import importlib

EXTRA_MODULES: dict[str, tuple[str, ...]] = {
    "report": ("matplotlib",),
    # The demo writes a report at the end: it needs the plots as well as the local cluster.
    "local": ("aiohttp", "cryptography", "matplotlib"),
    "bench": ("aiohttp", "cryptography", "matplotlib"),
}
"""The modules each extra brings that some command imports (pyproject.toml lists the extras)."""


def missing_modules(extra: str) -> list[str]:
    """The modules of `extra` that cannot be imported here (none when it is installed)."""
    missing = []
    for module in EXTRA_MODULES[extra]:
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(module)
    return missing


def missing_extra_message(command: str, extra: str, missing: list[str]) -> str:
    return (
        f"kcanary {command} needs the '{extra}' extra ({', '.join(missing)} not installed): "
        f"pip install 'kcanary[{extra}]'"
    )

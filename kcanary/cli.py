"""The `kcanary` command (also installed as `kubectl-canary`): one sub-command per module.

Each command module exposes `register(subparsers)`, which adds its parser and sets `func` to a
callable taking the parsed arguments and returning the exit code.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Modules that register sub-commands, in the order `--help` lists them.
COMMAND_MODULES: tuple[str, ...] = (
    "kcanary.get_command",
    "kcanary.status_command",
    "kcanary.action_commands",
    "kcanary.history_command",
    "kcanary.controller_command",
    "kcanary.local_cluster_command",
    "kcanary.bench_command",
    "kcanary.demo_command",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kcanary",
        description="Canary rollouts for KServe InferenceServices.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        code: int = func(args)
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())

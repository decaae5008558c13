"""The `kcanary` command (also installed as `kubectl-canary`): one sub-command per module.

Each command module exposes `register(subparsers)`, which adds its parser and sets `func` to a
callable taking the parsed arguments and returning the exit code.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kcanary.extras import missing_extra_message, missing_modules
from reconcile.build_info import describe

# Modules that register sub-commands, in the order `--help` lists them.
COMMAND_MODULES: tuple[str, ...] = (
    "kcanary.get_command",
    "kcanary.status_command",
    "kcanary.action_commands",
    "kcanary.history_command",
    "kcanary.set_command",
    "kcanary.lint_command",
    "kcanary.sensitivity_command",
    "kcanary.report_command",
    "kcanary.controller_command",
    "kcanary.version_command",
    "kcanary.completion_command",
)
# Commands for working on kcanary rather than rolling out models: listed under `kcanary dev`, and
# still run by their first names (`kcanary demo`), which scripts and the README use.
DEV_COMMAND_MODULES: tuple[str, ...] = (
    "kcanary.local_cluster_command",
    "kcanary.demo_command",
    "kcanary.bench_command",
)


class _Unlisted:
    """Sub-commands added through it parse as usual but are left out of `--help`: argparse lists
    a sub-command only when it was given a help text."""

    def __init__(self, subparsers: Any) -> None:
        self._subparsers = subparsers

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        kwargs.pop("help", None)
        parser: argparse.ArgumentParser = self._subparsers.add_parser(name, **kwargs)
        return parser


def build_parser() -> argparse.ArgumentParser:
    # Reached as a kubectl plugin, say so in usage lines, as `kubectl argo rollouts` does.
    invoked_as = Path(sys.argv[0]).name
    parser = argparse.ArgumentParser(
        prog="kubectl canary" if invoked_as == "kubectl-canary" else "kcanary",
        description="Canary rollouts for KServe InferenceServices.",
    )
    parser.add_argument("--version", action="version", version=describe())
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    dev = subparsers.add_parser(
        "dev",
        help="developer commands: the local cluster, the demo, the benchmarks",
        description="Commands for trying and working on kcanary: a local cluster, a demo "
        "rollout on it, the benchmarks.",
    )
    dev_commands = dev.add_subparsers(dest="dev_command", metavar="COMMAND", required=True)
    for name in DEV_COMMAND_MODULES:
        module = importlib.import_module(name)
        module.register(dev_commands)
        module.register(_Unlisted(subparsers))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    # A TAB in a shell that sourced `kcanary completion SHELL` runs kcanary with the line so far
    # in _ARGCOMPLETE and friends: answer with the candidates and exit before parsing. Flags
    # only once a `-` is typed, as kubectl completes.
    if "_ARGCOMPLETE" in os.environ:
        import argcomplete

        argcomplete.autocomplete(parser, always_complete_options=False)
    # A command that hands its arguments on (`bench NAME ...`) declares an `arguments` list;
    # argparse will not put leading options into it, so they arrive here as unknown.
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        if not hasattr(args, "arguments"):
            parser.error(f"unrecognized arguments: {' '.join(unknown)}")
        args.arguments = [*unknown, *args.arguments]
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return 2
    # A command that needs an extra declares it (`set_defaults(extra=...)`): say which to install
    # before it starts rather than fail on an import halfway through.
    extra: str | None = getattr(args, "extra", None)
    if extra is not None and (missing := missing_modules(extra)):
        command = f"dev {args.dev_command}" if args.command == "dev" else args.command
        print(f"error: {missing_extra_message(command, extra, missing)}", file=sys.stderr)
        return 1
    try:
        code: int = func(args)
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())

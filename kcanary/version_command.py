"""`kcanary version` (and `kcanary --version`): which kcanary this is, and on which Python.

The version is the one pip recorded when it installed the package, the same that the controller
logs when it starts and exports as `kcanary_build_info` (reconcile.build_info).
"""

from __future__ import annotations

import argparse
from typing import Any

from reconcile.build_info import describe


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "version",
        help="print kcanary's version",
        description="Print the installed kcanary's version and the Python it runs on.",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    print(describe())
    return 0

"""`kcanary demo`: a canary rollout on the local cluster, from a stable model to a new one.

Only the parser lives here; the demo itself (kcanary.demo_run) imports the local cluster, which
no other command should pay for at start-up.
"""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path
from typing import Any

from kcanary.demo_scenarios import ROUTERS, SCENARIOS
from kcanary.flags import parse_duration


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run a canary rollout on the local cluster and show the decision",
        description="Run a canary rollout on the local cluster and show the decision.",
    )
    parser.add_argument(
        "--scenario",
        choices=sorted(SCENARIOS),
        default="good",
        help="what the new model does (default: good)",
    )
    parser.add_argument(
        "--router", choices=ROUTERS, default="istio", help="traffic mode (default: istio)"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("kcanary-demo"),
        metavar="DIR",
        help="where to write the kubeconfig, status, events and logs (default: ./kcanary-demo)",
    )
    parser.add_argument(
        "--load", type=float, default=100.0, metavar="RPS", help="requests per second (default 100)"
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the cluster and controller running afterwards, until Ctrl-C",
    )
    parser.add_argument(
        "--timeout",
        type=parse_duration,
        default=240.0,
        metavar="DURATION",
        help="give up if the rollout has not ended by then, e.g. 10m (default 4m)",
    )
    parser.set_defaults(func=run, extra="local")


def run(args: argparse.Namespace) -> int:
    code: int = importlib.import_module("kcanary.demo_run").run(args)
    return code

"""`kcanary controller`: run the controller until SIGTERM or SIGINT.

Every flag can also be set as `KCANARY_<FLAG>` (kcanary.flags). In a pod the controller talks
to the API server with its service account and takes the Lease in the pod's namespace; outside
one it uses `--kubeconfig` (or KUBECONFIG, or ~/.kube/config) and the namespace `default`.
"""

from __future__ import annotations

import argparse
import importlib
import logging
from pathlib import Path
from typing import Any

from kcanary.flags import add_env_flag, parse_address, parse_duration
from kcanary.log_format import LEVELS
from kcanary.prometheus_flags import add_connection_flags

log = logging.getLogger("kcanary.controller")

SERVICE_ACCOUNT = Path("/var/run/secrets/kubernetes.io/serviceaccount")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "controller",
        help="run the kcanary controller",
        description="Watch annotated InferenceServices and roll out their new revisions as "
        "canaries. Every flag can also be set as KCANARY_<FLAG> in the environment.",
    )
    add_env_flag(parser, "--kubeconfig", metavar="PATH", help="kubeconfig outside a pod")
    add_env_flag(parser, "--context", metavar="NAME", help="kubeconfig context to use")
    add_env_flag(
        parser,
        "--namespace",
        action="append",
        default=[],
        metavar="NS",
        help="watch only this namespace (repeatable; default: all)",
    )
    add_env_flag(
        parser, "--prometheus-url", required=True, metavar="URL", help="Prometheus to query"
    )
    add_connection_flags(parser)
    add_env_flag(
        parser,
        "--metrics-addr",
        type=parse_address,
        default=parse_address(":8080"),
        metavar="ADDR",
        help="where to serve /metrics (default :8080)",
    )
    add_env_flag(
        parser,
        "--health-addr",
        type=parse_address,
        default=parse_address(":8081"),
        metavar="ADDR",
        help="where to serve /healthz and /readyz (default :8081)",
    )
    add_env_flag(
        parser,
        "--leader-elect",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="act only while holding the Lease (default on)",
    )
    add_env_flag(
        parser,
        "--lease-namespace",
        metavar="NS",
        help="namespace of the Lease (default: the pod's, else default)",
    )
    add_env_flag(
        parser, "--lease-name", default="kcanary-controller", metavar="NAME", help="Lease name"
    )
    add_env_flag(
        parser,
        "--lease-duration",
        type=parse_duration,
        default=15.0,
        metavar="D",
        help="how long the Lease holds without renewal (default 15s)",
    )
    add_env_flag(
        parser,
        "--renew-deadline",
        type=parse_duration,
        default=10.0,
        metavar="D",
        help="a leader that cannot renew for this long stops acting (default 10s)",
    )
    add_env_flag(
        parser,
        "--retry-period",
        type=parse_duration,
        default=2.0,
        metavar="D",
        help="how often to renew or try to take the Lease (default 2s)",
    )
    add_env_flag(
        parser,
        "--log-format",
        choices=("text", "json"),
        default="text",
        help="log lines as text or JSON (default text)",
    )
    add_env_flag(
        parser,
        "--log-level",
        choices=LEVELS,
        default="info",
        help="least severe level logged (default info)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    code: int = importlib.import_module("kcanary.controller_run").run(args)
    return code

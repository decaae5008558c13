"""`kcanary controller`: run the controller until SIGTERM or SIGINT.

Every flag can also be set as `KCANARY_<FLAG>` (kcanary.flags). In a pod the controller talks
to the API server with its service account and takes the Lease in the pod's namespace; outside
one it uses `--kubeconfig` (or KUBECONFIG, or ~/.kube/config) and the namespace `default`.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import sys
import threading
import uuid
from pathlib import Path
from types import FrameType
from typing import Any

from kubernetes import client as k8s_client
from kubernetes import config as k8s_config

from kcanary.flags import add_env_flag, parse_address, parse_duration
from kcanary.log_format import LEVELS, configure_logging
from reconcile.analysis_run import PrometheusAnalyst
from reconcile.controller import Controller, ControllerConfig
from reconcile.leader import LeaseConfig
from reconcile.metrics import MetricsRecorder

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
    add_env_flag(
        parser,
        "--prometheus-token-file",
        metavar="F",
        help="file with a bearer token for Prometheus (re-read on every query)",
    )
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


def in_pod() -> bool:
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST")) and (SERVICE_ACCOUNT / "token").exists()


def api_client(kubeconfig: str | None, context: str | None) -> k8s_client.ApiClient:
    """The service account in a pod (unless a kubeconfig is named), else the kubeconfig."""
    if kubeconfig is None and in_pod():
        configuration = k8s_client.Configuration()
        k8s_config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        return k8s_client.ApiClient(configuration)
    loaded: k8s_client.ApiClient = k8s_config.new_client_from_config(  # type: ignore[no-untyped-call]
        config_file=kubeconfig, context=context
    )
    return loaded


def lease_namespace(flag: str | None) -> str:
    if flag:
        return flag
    namespace_file = SERVICE_ACCOUNT / "namespace"
    if in_pod() and namespace_file.exists():
        return namespace_file.read_text().strip() or "default"
    return "default"


def run(args: argparse.Namespace) -> int:
    configure_logging(args.log_format, args.log_level)
    identity = f"{socket.gethostname()}_{uuid.uuid4().hex[:8]}"
    lease = None
    try:
        if args.leader_elect:
            lease = LeaseConfig(
                namespace=lease_namespace(args.lease_namespace),
                name=args.lease_name,
                identity=identity,
                lease_duration_s=args.lease_duration,
                renew_deadline_s=args.renew_deadline,
                retry_period_s=args.retry_period,
            )
        metrics = MetricsRecorder()
        analyst = PrometheusAnalyst.connect(
            args.prometheus_url, metrics=metrics, token_file=args.prometheus_token_file
        )
        client = api_client(args.kubeconfig, args.context)
    except (ValueError, k8s_config.ConfigException, OSError) as error:
        print(f"kcanary controller: {error}", file=sys.stderr)
        return 2
    config = ControllerConfig(
        namespaces=tuple(args.namespace or ()),
        identity=identity,
        lease=lease,
        metrics_address=args.metrics_addr,
        health_address=args.health_addr,
    )
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    controller = Controller(client, analyst, config, metrics=metrics)
    try:
        try:
            controller.start()
        except OSError as error:
            print(f"kcanary controller: cannot start: {error}", file=sys.stderr)
            return 1
        log.info("controller %s started", identity)
        while not stop.wait(0.5):
            pass
        log.info("stopping")
    finally:
        controller.stop()
        analyst.close()
        client.close()  # type: ignore[no-untyped-call]
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0

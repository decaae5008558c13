"""What `kcanary controller` does once its flags are parsed: connect, elect, reconcile.

Kept apart from the parser (kcanary.controller_command) so that other commands do not import
the controller at start-up.
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
from types import FrameType

from kubernetes import client as k8s_client
from kubernetes import config as k8s_config

from kcanary.controller_command import SERVICE_ACCOUNT
from kcanary.log_format import configure_logging
from kcanary.prometheus_flags import connection
from reconcile.analysis_run import PrometheusAnalyst
from reconcile.build_info import kcanary_version
from reconcile.controller import Controller, ControllerConfig, connections_needed
from reconcile.leader import LeaseConfig
from reconcile.low_traffic import PrometheusTraffic
from reconcile.metrics import MetricsRecorder

log = logging.getLogger("kcanary.controller")


def in_pod() -> bool:
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST")) and (SERVICE_ACCOUNT / "token").exists()


def api_client(
    kubeconfig: str | None, context: str | None, *, connections: int = 10
) -> k8s_client.ApiClient:
    """The service account in a pod (unless a kubeconfig is named), else the kubeconfig; with
    room for `connections` open at once (every watch holds one for as long as it streams)."""
    configuration = k8s_client.Configuration()
    if kubeconfig is None and in_pod():
        k8s_config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    else:
        k8s_config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=kubeconfig, context=context, client_configuration=configuration
        )
    configuration.connection_pool_maxsize = max(connections, 1)
    return k8s_client.ApiClient(configuration)


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
        analyst = PrometheusAnalyst.connect(connection(args, args.prometheus_url), metrics=metrics)
        namespaces = tuple(args.namespace or ())
        client = api_client(
            args.kubeconfig,
            args.context,
            connections=connections_needed(len(namespaces), ControllerConfig.workers),
        )
    except (ValueError, k8s_config.ConfigException, OSError) as error:
        print(f"kcanary controller: {error}", file=sys.stderr)
        return 2
    config = ControllerConfig(
        namespaces=namespaces,
        identity=identity,
        lease=lease,
        metrics_address=args.metrics_addr,
        health_address=args.health_addr,
    )
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    controller = Controller(
        client, analyst, config, metrics=metrics, traffic=PrometheusTraffic(analyst.source)
    )
    try:
        try:
            controller.start()
        except OSError as error:
            print(f"kcanary controller: cannot start: {error}", file=sys.stderr)
            return 1
        log.info("controller %s started (kcanary %s)", identity, kcanary_version())
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

"""`kcanary local-cluster`: run the local cluster in the foreground until interrupted.

It writes a kubeconfig for it, prints one `name: URL` line per part (`api-server`, `gateway`,
`prometheus` unless `--no-prometheus`) and then `ready`, and stops cleanly on SIGINT or SIGTERM.
`--load RPS` sends Poisson load to every ready ISVC's public host through the gateway;
`--scrape HOST:PORT` (repeatable) adds a Prometheus target, such as the controller's metrics.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "local-cluster",
        help="run the local cluster: API server, KServe stand-in, gateway, load, Prometheus",
        description="Run the local cluster in the foreground; Ctrl-C stops it.",
    )
    parser.add_argument(
        "--kubeconfig",
        type=Path,
        required=True,
        metavar="PATH",
        help="where to write the kubeconfig for the local cluster",
    )
    parser.add_argument(
        "--port",
        type=_port,
        default=0,
        metavar="N",
        help="API server port (default: any free port)",
    )
    parser.add_argument(
        "--load",
        type=_rate,
        default=0.0,
        metavar="RPS",
        help="requests per second (Poisson) to every ready ISVC's public host (default: none)",
    )
    parser.add_argument(
        "--no-prometheus",
        action="store_true",
        help="do not start Prometheus",
    )
    parser.add_argument(
        "--scrape",
        type=_address,
        action="append",
        default=[],
        metavar="HOST:PORT",
        help="another target for Prometheus to scrape at /metrics (repeatable)",
    )
    parser.set_defaults(func=run, extra="local")


def _rate(text: str) -> float:
    try:
        rate = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--load must be a number, not {text!r}") from None
    if not 0 <= rate <= 10_000:
        raise argparse.ArgumentTypeError(
            f"--load must be between 0 and 10000 requests per second, not {text}"
        )
    return rate


def _address(text: str) -> str:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) <= 65535:
        raise argparse.ArgumentTypeError(
            f"--scrape must be HOST:PORT such as 127.0.0.1:8080, not {text!r}"
        )
    return text


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--port must be a number, not {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"--port must be between 0 and 65535, not {port}")
    return port


def run(args: argparse.Namespace) -> int:
    # Imported here: the local cluster is heavy, and every other command would pay for it.
    from sim.apiserver.control_plane import CRDFileError
    from sim.cluster import LocalCluster, LocalClusterConfig
    from sim.prometheus import PrometheusError

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    cluster = LocalCluster(
        LocalClusterConfig(
            kubeconfig=args.kubeconfig,
            api_port=args.port,
            load_rps=args.load,
            prometheus=not args.no_prometheus,
            extra_scrape=tuple(args.scrape),
        )
    )
    try:
        try:
            cluster.start()
        except (OSError, CRDFileError, PrometheusError) as error:
            print(f"kcanary local-cluster: cannot start: {error}", file=sys.stderr)
            return 1
        try:
            for name, url in cluster.endpoints():
                print(f"{name}: {url}", flush=True)
            print("ready", flush=True)
            while not stop.wait(0.5):
                pass
        finally:
            cluster.stop()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0

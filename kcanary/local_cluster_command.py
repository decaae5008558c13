"""`kcanary local-cluster`: run the local cluster in the foreground until interrupted.

It writes a kubeconfig for it, prints one `name: URL` line per part and then `ready`, and stops
cleanly on SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from sim.apiserver.control_plane import CRDFileError
from sim.cluster import LocalCluster, LocalClusterConfig


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "local-cluster",
        help="run a local Kubernetes API server (and, later, KServe, gateway, Prometheus)",
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
    parser.set_defaults(func=run)


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--port must be a number, not {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"--port must be between 0 and 65535, not {port}")
    return port


def run(args: argparse.Namespace) -> int:
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    cluster = LocalCluster(LocalClusterConfig(kubeconfig=args.kubeconfig, api_port=args.port))
    try:
        try:
            cluster.start()
        except (OSError, CRDFileError) as error:
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

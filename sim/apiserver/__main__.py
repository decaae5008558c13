"""`python -m sim.apiserver --kubeconfig PATH [--port N]`: the API server alone.

`kcanary local-cluster` runs the whole local cluster; this runs only its API server, for
benchmarks that must not share the machine with the other parts. Output and signals are as
for `kcanary local-cluster`: an `api-server: URL` line, then `ready`; SIGINT or SIGTERM stops it.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from sim.apiserver.server import APIServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sim.apiserver", description=__doc__)
    parser.add_argument("--kubeconfig", type=Path, required=True, metavar="PATH")
    parser.add_argument("--port", type=int, default=0, metavar="N")
    args = parser.parse_args(argv)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    server = APIServer(port=args.port)
    try:
        server.start()
    except OSError as error:
        print(f"cannot start the API server: {error}", file=sys.stderr)
        return 1
    try:
        server.write_kubeconfig(args.kubeconfig)
        print(f"api-server: {server.url}", flush=True)
        print("ready", flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Running `kcanary controller` as a process against the local cluster, as an operator would.

The session's controller and the extra ones the restart and leader-election tests own are all
started here: each logs to its own file (shown when a test fails), serves `/metrics` and the
probes on free ports, and is stopped (SIGTERM, then SIGKILL) by whoever started it.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kubectl_harness import REPO_ROOT

from sim.ports import listen_port

STARTED_LINE = re.compile(r"controller (\S+) started")


@dataclass(frozen=True)
class LeaseTimings:
    """Leader-election flags; short ones let a test see a takeover in seconds."""

    name: str
    namespace: str = "default"
    duration_s: float = 15.0
    renew_deadline_s: float = 10.0
    retry_period_s: float = 2.0


@dataclass
class ControllerProcess:
    """One `kcanary controller` process and where to reach it."""

    process: subprocess.Popen[bytes]
    log_path: Path
    metrics_port: int
    health_port: int
    identity: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def metrics_address(self) -> str:
        return f"127.0.0.1:{self.metrics_port}"

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no release of the Lease, no last writes, as when a node dies."""
        if self.alive():
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM and wait; SIGKILL if it does not end in time."""
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def metrics_text(self) -> str:
        url = f"http://{self.metrics_address}/metrics"
        with urllib.request.urlopen(url, timeout=5) as reply:
            return str(reply.read().decode())


def start_controller(
    *,
    kubeconfig: Path,
    prometheus_url: str,
    log_path: Path,
    namespaces: Sequence[str] = (),
    lease: LeaseTimings | None = None,
    ready_timeout_s: float = 60.0,
) -> ControllerProcess:
    """Start a controller and return once its readiness probe answers (caches synced)."""
    metrics_port, health_port = listen_port(), listen_port()
    command = [
        sys.executable, "-m", "kcanary", "controller",
        "--kubeconfig", str(kubeconfig),
        "--prometheus-url", prometheus_url,
        "--metrics-addr", f"127.0.0.1:{metrics_port}",
        "--health-addr", f"127.0.0.1:{health_port}",
    ]  # fmt: skip
    for namespace in namespaces:
        command += ["--namespace", namespace]
    if lease is None:
        command.append("--no-leader-elect")
    else:
        command += [
            "--leader-elect",
            "--lease-name", lease.name,
            "--lease-namespace", lease.namespace,
            "--lease-duration", f"{lease.duration_s}s",
            "--renew-deadline", f"{lease.renew_deadline_s}s",
            "--retry-period", f"{lease.retry_period_s}s",
        ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("KCANARY_")}
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO_ROOT
        )
    controller = ControllerProcess(process, log_path, metrics_port, health_port)
    deadline = time.monotonic() + ready_timeout_s
    while True:
        if not controller.alive():
            raise RuntimeError(
                f"the controller exited with {process.returncode}:\n{controller.log_text()}"
            )
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{health_port}/readyz", timeout=1):
                break
        except OSError:
            if time.monotonic() > deadline:
                controller.stop()
                raise RuntimeError(
                    f"the controller was not ready in {ready_timeout_s}s:\n{controller.log_text()}"
                ) from None
            time.sleep(0.1)
    # The identity is logged right after start(); a leader-election test needs it.
    while not (found := STARTED_LINE.findall(controller.log_text())):
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)
    controller.identity = found[-1] if found else ""
    return controller

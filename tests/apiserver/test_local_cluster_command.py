"""`kcanary local-cluster`: announces itself, serves kubectl, stops cleanly on a signal."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from kubectl_harness import PINNED_KUBECTL, kubectl_for


def test_local_cluster_prints_its_url_then_ready_and_stops_on_sigterm(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kcanary",
            "local-cluster",
            "--kubeconfig",
            str(kubeconfig),
            "--no-prometheus",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 60
        lines: list[str] = []
        while "ready" not in lines and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line.strip())
        assert lines[-1] == "ready", lines
        assert lines[0].startswith("api-server: https://127.0.0.1:")
        assert PINNED_KUBECTL is not None
        kubectl = kubectl_for(PINNED_KUBECTL, kubeconfig, tmp_path / "cache")
        namespaces = kubectl.run("get", "namespaces", "-o", "name").stdout.split()
        assert {"namespace/default", "namespace/kube-system", "namespace/kserve"} <= set(namespaces)
        assert "No resources found" in kubectl.run("get", "isvc", "-A").stderr
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=10)


def test_local_cluster_refuses_a_bad_port() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "kcanary", "local-cluster", "--kubeconfig", "x", "--port", "70000"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 2
    assert "--port must be between 0 and 65535, not 70000" in completed.stderr

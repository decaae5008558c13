"""`kcanary local-cluster` and `LocalCluster`: ready in under 15 s, and nothing left behind."""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from cluster_checks import isvc_manifest, wait_until
from kubectl_harness import PINNED_KUBECTL, kubectl_for
from kubernetes import config as k8s_config

from kcanary import local_cluster_command
from sim.cluster import LocalCluster, LocalClusterConfig
from sim.kube_calls import INFERENCE_SERVICES, KubeCalls
from sim.prometheus import PrometheusRunner


def refused(address: tuple[str, int]) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(address) != 0


def port_of(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port


class _Metrics(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b'kcanary_canary_weight{namespace="demo",name="iris"} 10\n'
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def controller_metrics() -> Iterator[str]:
    """A stand-in for the controller's /metrics endpoint: `host:port`."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Metrics)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found.extend(int(child) for child in text)
    return found


def stop(process: subprocess.Popen[str]) -> None:
    """SIGTERM first, so the command stops its Prometheus; SIGKILL only if it hangs."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
    process.communicate(timeout=10)


def start_command(*args: str) -> tuple[subprocess.Popen[str], list[str], float]:
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "kcanary", "local-cluster", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    lines: list[str] = []
    while "ready" not in lines:
        line = process.stdout.readline()
        if not line:
            stop(process)
            raise AssertionError(f"exited before ready: {lines}")
        lines.append(line.strip())
    return process, lines, time.monotonic() - started


def test_the_command_prints_its_parts_sends_load_scrapes_extra_targets_and_cleans_up(
    tmp_path: Path, controller_metrics: str
) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    process, lines, took = start_command(
        "--kubeconfig", str(kubeconfig), "--load", "40", "--scrape", controller_metrics
    )
    try:
        assert took < 60, took  # the Python start of the CLI included; the cluster's own below
        assert [line.split(":", 1)[0] for line in lines] == [
            "api-server",
            "gateway",
            "prometheus",
            "ready",
        ]
        urls = {line.split(": ", 1)[0]: line.split(": ", 1)[1] for line in lines[:-1]}
        assert urls["api-server"].startswith("https://127.0.0.1:")
        assert urls["gateway"].startswith("http://127.0.0.1:")
        prometheus_pid = next(
            c for c in children(process.pid) if "prometheus" in Path(f"/proc/{c}/comm").read_text()
        )
        cmdline = Path(f"/proc/{prometheus_pid}/cmdline").read_text().split("\0")
        data = next(a for a in cmdline if a.startswith("--storage.tsdb.path="))
        prometheus_folder = Path(data.split("=", 1)[1]).parent
        assert prometheus_folder.is_dir()

        assert PINNED_KUBECTL is not None
        kubectl = kubectl_for(PINNED_KUBECTL, kubeconfig, tmp_path / "cache")
        kubectl.run(
            "apply",
            "-f",
            "-",
            input=isvc_manifest("iris", "default", mode="Standard")
            + "\n---\n"
            + isvc_manifest(
                "iris-primary",
                "default",
                mode="Standard",
                labels={"app.kubernetes.io/managed-by": "kcanary"},
            ),
        )
        runner = PrometheusRunner()
        runner.port = port_of(urls["prometheus"])[1]

        def requests_to(workload: str) -> float:
            found = runner.query(
                f'sum(istio_requests_total{{reporter="source",destination_workload="{workload}"}})'
            )
            return float(found[0]["value"][1]) if found else 0.0

        wait_until(lambda: requests_to("iris-predictor") >= 20, 30, "load reaching iris")
        assert requests_to("iris-primary-predictor") == 0  # a primary copy gets no load
        extra = runner.query(f'kcanary_canary_weight{{instance="{controller_metrics}"}}')
        assert [e["metric"]["namespace"] for e in extra] == ["demo"]  # its own, not overwritten

        def scraped_pods() -> set[str]:
            found = runner.query('up{namespace="default"} == 1')
            return {p["metric"]["pod"].rsplit("-", 2)[0] for p in found}

        wait_until(lambda: scraped_pods() == {"iris-predictor", "iris-primary-predictor"}, 20,
                   "pods scraped with namespace and pod labels")  # fmt: skip

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        stop(process)
    assert not Path(f"/proc/{prometheus_pid}").exists()
    assert not prometheus_folder.exists()
    for url in urls.values():
        assert refused(port_of(url)), url


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--load", "lots"], "--load must be a number, not 'lots'"),
        (["--load", "-5"], "--load must be between 0 and 10000 requests per second, not -5"),
        (["--scrape", "metrics"], "--scrape must be HOST:PORT such as 127.0.0.1:8080"),
    ],
)
def test_bad_flags_are_refused_with_what_to_change(
    flags: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = argparse.ArgumentParser(prog="kcanary")
    local_cluster_command.register(parser.add_subparsers())
    with pytest.raises(SystemExit) as exit_:
        parser.parse_args(["local-cluster", "--kubeconfig", "x", *flags])
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def test_the_session_cluster_was_ready_within_15_seconds(local_cluster: LocalCluster) -> None:
    assert 0 < local_cluster.started_in_s < 15


def test_without_prometheus_a_cluster_has_no_prometheus_part_and_stops_without_a_trace(
    tmp_path: Path,
) -> None:
    threads_before = {t.ident for t in threading.enumerate()}
    cluster = LocalCluster(LocalClusterConfig(kubeconfig=tmp_path / "k", prometheus=False))
    cluster.start()
    try:
        api_client = k8s_config.new_client_from_config(config_file=str(tmp_path / "k"))  # type: ignore[no-untyped-call]
        calls = KubeCalls(api_client)
        calls.create(INFERENCE_SERVICES, "default", json.loads(isvc_manifest("one", "default")))
        wait_until(lambda: [p.ready for p in cluster.pods.all()] == [True], what="a ready pod")
        pod = cluster.pods.all()[0]
        api_client.close()
        assert [name for name, _ in cluster.endpoints()] == ["api-server", "gateway"]
        addresses = [port_of(url) for _, url in cluster.endpoints()]
        addresses.append(("127.0.0.1", pod.server.port))
    finally:
        cluster.stop()
    for address in addresses:
        assert refused(address), address
    wait_until(lambda: {t.ident for t in threading.enumerate()} <= threads_before | set(),
               5, "threads ended")  # fmt: skip
    assert os.path.exists(tmp_path / "k")  # the kubeconfig the caller asked for stays

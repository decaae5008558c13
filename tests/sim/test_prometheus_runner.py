"""The real Prometheus scrapes the data plane, survives outages, and leaves nothing behind."""

from __future__ import annotations

import os
import socket
import urllib.error
import urllib.request

import pytest

from sim.behaviour import parse_storage_uri
from sim.gateway import Gateway, PodDirectory, build_routing_table
from sim.load import LoadGenerator, Target
from sim.modelserver import ModelServerHost, ModelServerSpec, PodIdentity
from sim.prometheus import PrometheusError, PrometheusRunner, ScrapeTarget

HOST = "iris-models.example.com"


def _port_free(port: int) -> bool:
    """Nothing listens on `port` and a server could bind it (TIME_WAIT leftovers allowed)."""
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            return False
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _answers(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=0.5).close()
    except (urllib.error.URLError, TimeoutError, OSError):
        return False
    return True


def test_prometheus_counts_match_the_load_and_outages_are_survivable(
    host: ModelServerHost, directory: PodDirectory, gateway: Gateway
) -> None:
    server = host.launch(
        ModelServerSpec(
            "iris", behaviour=parse_storage_uri("sim://iris/v1?p50_ms=1&error_rate=0.2")
        ),
        PodIdentity("models", "iris-predictor-a", "iris-predictor", "iris-predictor"),
        seed=1,
    )
    directory.add("iris-predictor", "models", server)
    vs = {
        "metadata": {"name": "iris", "namespace": "models"},
        "spec": {
            "hosts": [HOST],
            "gateways": ["knative-serving/knative-ingress-gateway"],
            "http": [{"route": [{"destination": {"host": "iris-predictor"}}]}],
        },
    }
    gateway.set_routes(build_routing_table(virtual_services=[vs]).table)
    gateway_address = f"127.0.0.1:{gateway.metrics_port}"
    pod_address = f"127.0.0.1:{server.port}"
    prometheus = PrometheusRunner()
    prometheus.set_targets([ScrapeTarget(gateway_address, {"namespace": "istio-system"})])
    prometheus.start()
    # A pod that comes later is picked up through the rewritten file_sd file.
    prometheus.add_target(
        ScrapeTarget(pod_address, {"namespace": "models", "pod": "iris-predictor-a"})
    )
    folder, port, pid = prometheus.folder, prometheus.port, prometheus.pid
    assert folder is not None and pid is not None
    try:
        load = LoadGenerator(gateway.url, seed=3)
        load.start()
        try:
            sent = load.send(Target(HOST, "iris"), 300, rps=600)
        finally:
            load.stop()
        prometheus.wait_for_scrape(gateway_address)
        prometheus.wait_for_scrape(pod_address)

        def total(promql: str) -> float:
            return sum(float(r["value"][1]) for r in prometheus.query(promql))

        assert total('istio_requests_total{reporter="source"}') == 300
        assert total('istio_requests_total{reporter="destination",response_code="500"}') == (
            sent.errors_5xx
        )
        assert total('request_predict_seconds_count{model_name="iris"}') == 300
        assert prometheus.query('up{pod="iris-predictor-a"}')[0]["metric"]["namespace"] == "models"

        prometheus.freeze()
        assert not _answers(prometheus.url + "/-/ready")  # hung, not refused
        prometheus.thaw()
        prometheus.stop_process()
        assert not _answers(prometheus.url + "/-/ready")
        prometheus.start_again()
        assert prometheus.port == port and prometheus.folder == folder
        assert total('istio_requests_total{reporter="source"}') == 300  # data survived
    finally:
        prometheus.stop()
    assert not folder.exists()
    assert _port_free(port)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_missing_binary_says_how_to_install_it() -> None:
    runner = PrometheusRunner(binary="prometheus-that-is-not-installed")
    with pytest.raises(PrometheusError, match="apt-get install --no-install-recommends prometheus"):
        runner.start()
    assert runner.folder is None

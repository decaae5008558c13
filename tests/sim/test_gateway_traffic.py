"""The gateway splits real HTTP traffic by route weights and counts it as Istio would."""

from __future__ import annotations

import math
import socket
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from sim.background_loop import BackgroundLoop
from sim.behaviour import parse_storage_uri
from sim.gateway import Endpoint, Gateway, PodDirectory, build_routing_table
from sim.load import LoadGenerator, Target
from sim.modelserver import ModelServer, ModelServerHost, ModelServerSpec, PodIdentity
from sim.modelserver.naming import Protocol

HttpCall = Callable[..., tuple[int, Any]]
SampleSum = Callable[..., float]
HOST = "iris-models.example.com"
STABLE, CANARY = "iris-primary-predictor", "iris-predictor"


def route(stable: int, canary: int) -> dict[str, Any]:
    return {
        "metadata": {"name": "iris-kcanary", "namespace": "models"},
        "spec": {
            "hosts": [HOST],
            "gateways": ["knative-serving/knative-ingress-gateway"],
            "http": [
                {
                    "route": [
                        {"destination": {"host": STABLE}, "weight": stable},
                        {"destination": {"host": CANARY}, "weight": canary},
                    ]
                }
            ],
        },
    }


def launch(
    host: ModelServerHost, directory: PodDirectory, workload: str, uri: str, pod: str = "a"
) -> ModelServer:
    server = host.launch(
        ModelServerSpec("iris", behaviour=parse_storage_uri(uri)),
        PodIdentity("models", f"{workload}-{pod}", workload, workload),
        seed=11,
    )
    directory.add(workload, "models", server)
    return server


@pytest.fixture
def load(gateway: Gateway, loop: BackgroundLoop) -> Any:
    generator = LoadGenerator(gateway.url, loop=loop, seed=5)
    generator.start()
    yield generator
    generator.stop()


def test_split_90_10_is_within_binomial_bounds_and_counted_exactly(
    host: ModelServerHost,
    directory: PodDirectory,
    gateway: Gateway,
    load: LoadGenerator,
    samples: SampleSum,
) -> None:
    stable = launch(host, directory, STABLE, "sim://iris/v1?p50_ms=1")
    canary = launch(host, directory, CANARY, "sim://iris/v2?p50_ms=1&error_rate=0.1")
    gateway.set_routes(build_routing_table(virtual_services=[route(90, 10)]).table)
    n = 1500
    sent = load.send(Target(HOST, "iris"), n, rps=600)
    assert sent.sent == n and sent.answered == n

    source = gateway.metrics_text()
    to_canary = samples(
        source, "istio_requests_total", reporter="source", destination_workload=CANARY
    )
    assert abs(to_canary - 0.1 * n) < 4.5 * math.sqrt(n * 0.1 * 0.9)
    # Every request is counted once by the gateway and once by the pod that served it.
    assert samples(source, "istio_requests_total", source_workload="istio-ingressgateway") == n
    for server, workload in ((stable, STABLE), (canary, CANARY)):
        pod_text = server.metrics_text()
        for code in ("200", "500"):
            at_source = samples(
                source, "istio_requests_total", destination_workload=workload, response_code=code
            )
            at_pod = samples(
                pod_text,
                "istio_requests_total",
                reporter="destination",
                source_workload="istio-ingressgateway",
                response_code=code,
            )
            assert at_source == at_pod
    assert samples(source, "istio_requests_total", response_code="500") == sent.errors_5xx
    assert samples(source, "istio_request_duration_milliseconds_count") == n
    assert samples(source, "istio_request_duration_milliseconds_bucket", le="+Inf") == n


def test_zero_weight_sends_nothing_to_the_stable(
    host: ModelServerHost,
    directory: PodDirectory,
    gateway: Gateway,
    load: LoadGenerator,
    samples: SampleSum,
) -> None:
    stable = launch(host, directory, STABLE, "sim://iris/v1?p50_ms=0")
    launch(host, directory, CANARY, "sim://iris/v2?p50_ms=0")
    gateway.set_routes(build_routing_table(virtual_services=[route(0, 100)]).table)
    assert load.send(Target(HOST, "iris", Protocol.V2), 200, rps=500).statuses == {200: 200}
    assert samples(stable.metrics_text(), "istio_requests_total") == 0
    assert (
        samples(gateway.metrics_text(), "istio_requests_total", destination_workload=CANARY) == 200
    )


def test_unknown_host_is_envoys_empty_404(gateway: Gateway, http: HttpCall) -> None:
    gateway.set_routes(build_routing_table(virtual_services=[route(90, 10)]).table)
    assert http("GET", gateway.url + "/", host="nobody.example.com") == (404, "")


def test_service_without_ready_pods_is_no_healthy_upstream(
    host: ModelServerHost,
    directory: PodDirectory,
    gateway: Gateway,
    http: HttpCall,
    samples: SampleSum,
) -> None:
    launch(host, directory, STABLE, "sim://iris/v1?never_ready=1")
    gateway.set_routes(build_routing_table(virtual_services=[route(100, 0)]).table)
    status, body = http("POST", gateway.url + "/v1/models/iris:predict", {}, host=HOST)
    assert (status, body) == (503, "no healthy upstream")
    assert (
        samples(
            gateway.metrics_text(),
            "istio_requests_total",
            response_flags="UH",
            destination_service_name=STABLE,
            destination_workload="unknown",
        )
        == 1
    )


class DeadEndpoints:
    """A directory listing a pod whose port refuses connections (a pod that just died)."""

    def __init__(self) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        self.endpoint = Endpoint(
            f"http://127.0.0.1:{port}", PodIdentity("models", "dead", STABLE, STABLE)
        )

    def endpoints(self, service: str, namespace: str) -> Sequence[Endpoint]:
        return [self.endpoint]


def test_refused_connections_are_retried_then_reported_as_upstream_failure(
    loop: BackgroundLoop, http: HttpCall, samples: SampleSum
) -> None:
    gateway = Gateway(DeadEndpoints(), loop=loop)
    gateway.start()
    try:
        gateway.set_routes(build_routing_table(virtual_services=[route(100, 0)]).table)
        status, body = http("POST", gateway.url + "/v1/models/iris:predict", {}, host=HOST)
        assert status == 503 and body.startswith("upstream connect error")
        assert (
            samples(
                gateway.metrics_text(),
                "istio_requests_total",
                response_flags="UF,URX",
                destination_workload=STABLE,
            )
            == 1
        )
    finally:
        gateway.stop()


def test_503s_are_retried_on_another_pod(
    host: ModelServerHost,
    directory: PodDirectory,
    gateway: Gateway,
    load: LoadGenerator,
    samples: SampleSum,
) -> None:
    failing = launch(host, directory, STABLE, "sim://iris/v1?p50_ms=0&error_rate=1&error_code=503")
    healthy = launch(host, directory, STABLE, "sim://iris/v1?p50_ms=0", pod="b")
    gateway.set_routes(build_routing_table(virtual_services=[route(100, 0)]).table)
    assert load.send(Target(HOST, "iris"), 100, rps=500).statuses == {200: 100}
    retried = samples(failing.metrics_text(), "istio_requests_total", response_code="503")
    assert retried > 0
    assert samples(healthy.metrics_text(), "istio_requests_total") == 100


def test_source_counts_survive_a_pod_replacement_that_resets_the_pods_own(
    host: ModelServerHost,
    directory: PodDirectory,
    gateway: Gateway,
    load: LoadGenerator,
    samples: SampleSum,
) -> None:
    old = launch(host, directory, STABLE, "sim://iris/v1?p50_ms=0")
    gateway.set_routes(build_routing_table(virtual_services=[route(100, 0)]).table)
    load.send(Target(HOST, "iris"), 50, rps=500)
    directory.remove(old)
    new = host.replace(old)
    directory.add(STABLE, "models", new)
    load.send(Target(HOST, "iris"), 30, rps=500)
    assert samples(new.metrics_text(), "istio_requests_total") == 30
    source = gateway.metrics_text()
    assert samples(source, "istio_requests_total", destination_workload=STABLE) == 80

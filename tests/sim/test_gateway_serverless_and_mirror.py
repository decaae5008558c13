"""Serverless revisions and mirrors through the gateway, counted where the mesh counts them."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from polling import wait_until

from sim.background_loop import BackgroundLoop
from sim.behaviour import parse_storage_uri
from sim.gateway import Gateway, PodDirectory, build_routing_table
from sim.load import LoadGenerator, Target
from sim.modelserver import (
    KnativeRevision,
    ModelServer,
    ModelServerHost,
    ModelServerSpec,
    PodIdentity,
)

SampleSum = Callable[..., float]
HOST = "iris-models.example.com"


def revision_pod(
    host: ModelServerHost, directory: PodDirectory, revision: str, uri: str
) -> ModelServer:
    pod = PodIdentity(
        namespace="models",
        pod_name=f"{revision}-deployment-7b8c9",
        workload=f"{revision}-deployment",
        service=revision,
        app=revision,
        knative=KnativeRevision("iris-predictor", "iris-predictor", revision),
    )
    server = host.launch(ModelServerSpec("iris", behaviour=parse_storage_uri(uri)), pod, seed=2)
    directory.add(revision, "models", server)
    return server


def isvc_with_traffic(latest_percent: int) -> dict[str, Any]:
    return {
        "metadata": {"name": "iris", "namespace": "models"},
        "status": {
            "url": f"http://{HOST}",
            "deploymentMode": "Serverless",
            "components": {
                "predictor": {
                    "traffic": [
                        {"latestRevision": True, "percent": latest_percent,
                         "revisionName": "iris-predictor-00002"},
                        {"latestRevision": False, "percent": 100 - latest_percent,
                         "revisionName": "iris-predictor-00001"},
                    ]
                }
            },
        },
    }  # fmt: skip


def test_serverless_split_is_counted_by_each_revisions_queue_proxy(
    host: ModelServerHost,
    directory: PodDirectory,
    gateway: Gateway,
    loop: BackgroundLoop,
    samples: SampleSum,
) -> None:
    old = revision_pod(host, directory, "iris-predictor-00001", "sim://iris/v1?p50_ms=0")
    new = revision_pod(host, directory, "iris-predictor-00002", "sim://iris/v2?p50_ms=0")
    gateway.set_routes(build_routing_table(inference_services=[isvc_with_traffic(20)]).table)
    load = LoadGenerator(gateway.url, loop=loop, seed=8)
    load.start()
    try:
        n = 600
        assert load.send(Target(HOST, "iris"), n, rps=800).statuses == {200: n}
    finally:
        load.stop()
    to_new = samples(new.metrics_text(), "revision_app_request_count", response_code="200")
    to_old = samples(old.metrics_text(), "revision_app_request_count", response_code="200")
    assert to_new + to_old == n
    assert abs(to_new - 0.2 * n) < 4.5 * math.sqrt(n * 0.2 * 0.8)
    assert (
        samples(
            gateway.metrics_text(),
            "istio_requests_total",
            destination_workload="iris-predictor-00002-deployment",
            destination_service_name="iris-predictor-00002",
        )
        == to_new
    )


def test_mirrored_requests_reach_the_mirror_with_a_shadow_host(
    host: ModelServerHost,
    directory: PodDirectory,
    gateway: Gateway,
    loop: BackgroundLoop,
    samples: SampleSum,
) -> None:
    pods = {}
    for service in ("iris-predictor", "iris-shadow"):
        pods[service] = host.launch(
            ModelServerSpec("iris"), PodIdentity("models", f"{service}-a", service, service)
        )
        directory.add(service, "models", pods[service])
    vs = {
        "metadata": {"name": "iris", "namespace": "models"},
        "spec": {
            "hosts": [HOST],
            "gateways": ["knative-serving/knative-ingress-gateway"],
            "http": [
                {
                    "route": [{"destination": {"host": "iris-predictor"}}],
                    "mirror": {"host": "iris-shadow"},
                }
            ],
        },
    }
    gateway.set_routes(build_routing_table(virtual_services=[vs]).table)
    load = LoadGenerator(gateway.url, loop=loop, seed=9)
    load.start()
    try:
        assert load.send(Target(HOST, "iris"), 40, rps=400).statuses == {200: 40}
    finally:
        load.stop()
    wait_until(lambda: samples(pods["iris-shadow"].metrics_text(), "istio_requests_total") == 40)
    # Clients only ever see the primary destination's answers; the gateway counts those.
    assert samples(gateway.metrics_text(), "istio_requests_total") == 40

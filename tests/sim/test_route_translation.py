"""Route objects translate into the routing table a real mesh would program."""

from __future__ import annotations

import logging
import random
from collections import Counter
from typing import Any

import pytest

from sim.gateway import Backend, GatewayBinding, build_routing_table
from sim.gateway.routing import RouteRule

HOST = "iris-models.example.com"


def meta(
    name: str, created: str = "2026-01-01T00:00:00Z", namespace: str = "models"
) -> dict[str, Any]:
    return {"name": name, "namespace": namespace, "creationTimestamp": created}


def kcanary_virtual_service(stable: int, canary: int) -> dict[str, Any]:
    return {
        "apiVersion": "networking.istio.io/v1beta1",
        "kind": "VirtualService",
        "metadata": meta("iris-kcanary"),
        "spec": {
            "hosts": [HOST, "iris-predictor.models.svc.cluster.local"],
            "gateways": ["knative-serving/knative-ingress-gateway", "mesh"],
            "http": [
                {
                    "match": [{"headers": {"x-canary": {"exact": "always"}}}],
                    "route": [{"destination": {"host": "iris-predictor"}}],
                },
                {
                    "route": [
                        {
                            "destination": {
                                "host": "iris-primary-predictor.models.svc.cluster.local",
                                "port": {"number": 80},
                            },
                            "weight": stable,
                        },
                        {"destination": {"host": "iris-predictor"}, "weight": canary},
                    ],
                },
            ],
        },
    }


def split(rule: RouteRule | None) -> dict[str, int]:
    assert rule is not None
    return {b.service: b.weight for b in rule.backends}


def test_virtual_service_split_with_header_match() -> None:
    table = build_routing_table(virtual_services=[kcanary_virtual_service(90, 10)]).table
    assert split(table.route(HOST, "/v1/models/iris:predict", {})) == {
        "iris-primary-predictor": 90,
        "iris-predictor": 10,
    }
    assert split(table.route(HOST + ":80", "/", {"x-canary": "always"})) == {"iris-predictor": 100}
    assert table.route("other.example.com", "/", {}) is None
    primary = table.route(HOST, "/", {})
    assert primary is not None and primary.backends[0] == Backend(
        "iris-primary-predictor", "models", 90, 80
    )


def test_virtual_service_on_mesh_only_does_not_reach_the_ingress_gateway() -> None:
    vs = kcanary_virtual_service(90, 10)
    vs["spec"]["gateways"] = ["mesh"]
    assert build_routing_table(virtual_services=[vs]).table.route(HOST, "/", {}) is None
    del vs["spec"]["gateways"]  # absent means mesh
    assert build_routing_table(virtual_services=[vs]).table.route(HOST, "/", {}) is None


def test_virtual_service_gateway_in_its_own_namespace_by_short_name() -> None:
    vs = kcanary_virtual_service(50, 50)
    vs["metadata"]["namespace"] = "knative-serving"
    vs["spec"]["gateways"] = ["knative-ingress-gateway"]
    rule = build_routing_table(virtual_services=[vs]).table.route(HOST, "/", {})
    assert rule is not None and rule.backends[1].namespace == "knative-serving"


def test_virtual_service_mirror_and_uri_prefix() -> None:
    vs = kcanary_virtual_service(100, 0)
    vs["spec"]["http"] = [
        {
            "match": [{"uri": {"prefix": "/v2/"}}],
            "route": [{"destination": {"host": "iris-predictor"}}],
            "mirror": {"host": "iris-shadow.models.svc.cluster.local"},
            "mirrorPercentage": {"value": 25.0},
        }
    ]
    table = build_routing_table(virtual_services=[vs]).table
    rule = table.route(HOST, "/v2/models/iris/infer", {})
    assert rule is not None and rule.mirror == Backend("iris-shadow", "models", 100)
    assert rule.mirror_percent == 25.0
    assert table.route(HOST, "/v1/models/iris:predict", {}) is None


def kcanary_http_route(stable: int, canary: int) -> dict[str, Any]:
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": meta("iris-kcanary"),
        "spec": {
            "parentRefs": [{"name": "kserve-ingress-gateway", "namespace": "kserve"}],
            "hostnames": [HOST],
            "rules": [
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                    "backendRefs": [
                        {"name": "iris-primary-predictor", "port": 80, "weight": stable},
                        {"name": "iris-predictor", "port": 80, "weight": canary},
                    ],
                },
                {
                    "matches": [
                        {
                            "path": {"type": "PathPrefix", "value": "/v1"},
                            "headers": [{"name": "X-Canary", "value": "always"}],
                        }
                    ],
                    "backendRefs": [{"name": "iris-predictor", "port": 80}],
                },
            ],
        },
    }


def test_http_route_weights_and_precedence() -> None:
    table = build_routing_table(http_routes=[kcanary_http_route(900_000, 100_000)]).table
    assert split(table.route(HOST, "/v1/models/iris:predict", {})) == {
        "iris-primary-predictor": 900_000,
        "iris-predictor": 100_000,
    }
    # The longer prefix with a header match outranks "/" although it is listed later.
    assert split(table.route(HOST, "/v1/models/iris:predict", {"x-canary": "always"})) == {
        "iris-predictor": 1
    }
    # PathPrefix matches whole segments: /v1x is not under /v1.
    assert split(table.route(HOST, "/v1x", {"x-canary": "always"})) == {
        "iris-primary-predictor": 900_000,
        "iris-predictor": 100_000,
    }


def test_http_route_for_another_gateway_is_ignored() -> None:
    route = kcanary_http_route(1, 1)
    route["spec"]["parentRefs"] = [{"name": "internal-gateway"}]
    assert build_routing_table(http_routes=[route]).table.hosts == {}


def test_http_route_with_zero_weights_sends_nothing() -> None:
    rule = build_routing_table(http_routes=[kcanary_http_route(0, 0)]).table.route(HOST, "/", {})
    assert rule is not None and rule.pick_backend(random.Random(0)) is None


def kserve_ingress() -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": meta("iris", created="2025-12-01T00:00:00Z"),
        "spec": {
            "ingressClassName": "istio",
            "rules": [
                {
                    "host": HOST,
                    "http": {
                        "paths": [
                            {
                                "path": "/",
                                "pathType": "Prefix",
                                "backend": {
                                    "service": {"name": "iris-predictor", "port": {"number": 80}}
                                },
                            }
                        ]
                    },
                }
            ],
        },
    }


def test_ingress_host_rule_routes_to_its_service() -> None:
    table = build_routing_table(ingresses=[kserve_ingress()]).table
    assert split(table.route(HOST, "/v1/models/iris:predict", {})) == {"iris-predictor": 1}


def test_ingress_of_another_class_is_ignored() -> None:
    ingress = kserve_ingress()
    ingress["spec"]["ingressClassName"] = "nginx"
    assert build_routing_table(ingresses=[ingress]).table.hosts == {}
    assert build_routing_table(
        ingresses=[ingress], binding=GatewayBinding(ingress_class="nginx")
    ).table.route(HOST, "/", {})


def serverless_isvc(percent_new: int) -> dict[str, Any]:
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": meta("iris"),
        "status": {
            "url": "http://iris-models.example.com",
            "address": {"url": "http://iris.models.svc.cluster.local"},
            "deploymentMode": "Serverless",
            "components": {
                "predictor": {
                    "url": "http://iris-predictor-models.example.com",
                    "latestCreatedRevision": "iris-predictor-00002",
                    "latestReadyRevision": "iris-predictor-00002",
                    "latestRolledoutRevision": "iris-predictor-00001",
                    "traffic": [
                        {
                            "latestRevision": True,
                            "percent": percent_new,
                            "revisionName": "iris-predictor-00002",
                            "tag": "latest",
                            "url": "http://latest-iris-predictor-models.example.com",
                        },
                        {
                            "latestRevision": False,
                            "percent": 100 - percent_new,
                            "revisionName": "iris-predictor-00001",
                        },
                    ],
                }
            },
        },
    }


def test_serverless_traffic_splits_the_public_hosts_by_revision() -> None:
    table = build_routing_table(inference_services=[serverless_isvc(10)]).table
    expected = {"iris-predictor-00002": 10, "iris-predictor-00001": 90}
    assert split(table.route(HOST, "/", {})) == expected
    assert split(table.route("iris-predictor-models.example.com", "/", {})) == expected
    assert split(table.route("latest-iris-predictor-models.example.com", "/", {})) == {
        "iris-predictor-00002": 100
    }
    assert table.route("iris.models.svc.cluster.local", "/", {}) is None


def test_raw_deployment_isvc_status_adds_no_route() -> None:
    isvc = serverless_isvc(10)
    isvc["status"]["deploymentMode"] = "RawDeployment"
    assert build_routing_table(inference_services=[isvc]).table.hosts == {}


def test_two_objects_on_one_host_merge_oldest_first_and_are_reported(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING):
        translation = build_routing_table(
            virtual_services=[kcanary_virtual_service(90, 10)], ingresses=[kserve_ingress()]
        )
    # KServe's older Ingress catches everything first, so the newer split does not apply.
    assert split(translation.table.route(HOST, "/", {})) == {"iris-predictor": 1}
    assert [str(o) for o in translation.conflicts[0].origins] == [
        "Ingress models/iris",
        "VirtualService models/iris-kcanary",
    ]
    assert HOST in caplog.text


def test_weighted_pick_follows_the_weights() -> None:
    rule = build_routing_table(virtual_services=[kcanary_virtual_service(75, 25)]).table.route(
        HOST, "/", {}
    )
    assert rule is not None
    rng = random.Random(5)
    picks = Counter(b.service for b in (rule.pick_backend(rng) for _ in range(10_000)) if b)
    assert 7_300 < picks["iris-primary-predictor"] < 7_700

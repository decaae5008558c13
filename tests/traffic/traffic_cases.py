"""The ISVC the router tests route, and realistic routes written by hand for adoption tests."""

from __future__ import annotations

import copy
from typing import Any

from traffic.target import RouteTarget

NAMESPACE = "models"
ISVC = "iris"
ISVC_UID = "0b5f2c4e-1111-4222-8333-944455556666"
PUBLIC_HOST = "iris-models.example.com"
STABLE_HOST = "iris-primary-predictor.models.svc.cluster.local"
CANARY_HOST = "iris-predictor.models.svc.cluster.local"


def make_target(**changes: Any) -> RouteTarget:
    values: dict[str, Any] = {
        "namespace": NAMESPACE,
        "isvc_name": ISVC,
        "isvc_uid": ISVC_UID,
        "hosts": (PUBLIC_HOST,),
        "gateways": ("knative-serving/knative-ingress-gateway",),
    }
    values.update(changes)
    return RouteTarget(**values)


def blank_weights(obj: Any, places: list[tuple[Any, ...]]) -> Any:
    """A copy of ``obj`` with the ``weight`` at each place (a path to a destination) removed."""
    result = copy.deepcopy(obj)
    for place in places:
        node = result
        for key in place:
            node = node[key]
        node.pop("weight", None)
    return result


def platform_virtual_service() -> dict[str, Any]:
    """A VirtualService as a platform team writes it: header routes, mirror, retries, a third."""
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {
            "name": "iris-route",
            "namespace": NAMESPACE,
            "labels": {"team": "ml-platform"},
            "annotations": {"owner": "ml-platform@example.com"},
        },
        "spec": {
            "hosts": ["iris.models.example.com"],
            "gateways": ["istio-system/public-gateway"],
            "http": [
                {
                    "name": "debug-header",
                    "match": [{"headers": {"x-debug": {"exact": "canary"}}}],
                    "route": [{"destination": {"host": CANARY_HOST, "port": {"number": 80}}}],
                },
                {
                    "name": "shadowed",
                    "match": [
                        {"uri": {"prefix": "/v2/"}},
                        {"headers": {"x-tier": {"regex": "gold|silver"}}},
                    ],
                    "route": [
                        {
                            "destination": {
                                "host": "iris-primary-predictor",
                                "port": {"number": 80},
                            },
                            "weight": 100,
                        },
                        {
                            "destination": {
                                "host": "iris-predictor.models",
                                "port": {"number": 80},
                            },
                            "weight": 0,
                        },
                    ],
                    "mirror": {
                        "host": "iris-shadow.models.svc.cluster.local",
                        "port": {"number": 80},
                    },
                    "mirrorPercentage": {"value": 5.0},
                    "retries": {"attempts": 3, "perTryTimeout": "2s", "retryOn": "5xx,reset"},
                    "timeout": "10s",
                    "headers": {"request": {"set": {"x-routed-by": "platform"}}},
                },
                {
                    "name": "default",
                    "route": [
                        {
                            "destination": {"host": STABLE_HOST, "port": {"number": 80}},
                            "weight": 80,
                        },
                        {"destination": {"host": CANARY_HOST, "port": {"number": 80}}, "weight": 0},
                        {
                            "destination": {"host": "iris-legacy.models.svc.cluster.local"},
                            "weight": 20,
                        },
                    ],
                    "retries": {"attempts": 2},
                    "corsPolicy": {"allowOrigins": [{"exact": "https://app.example.com"}]},
                },
            ],
            "tcp": [{"route": [{"destination": {"host": "iris-grpc.models.svc.cluster.local"}}]}],
        },
    }


def platform_http_route() -> dict[str, Any]:
    """An HTTPRoute with header matches, filters, a mirror, timeouts and a third backend."""
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {
            "name": "iris-route",
            "namespace": NAMESPACE,
            "labels": {"team": "ml-platform"},
        },
        "spec": {
            "parentRefs": [{"name": "public", "namespace": "gateways", "sectionName": "https"}],
            "hostnames": ["iris.models.example.com"],
            "rules": [
                {
                    "name": "debug",
                    "matches": [{"headers": [{"name": "x-debug", "value": "canary"}]}],
                    "backendRefs": [{"name": "iris-predictor", "port": 80}],
                },
                {
                    "name": "v2",
                    "matches": [{"path": {"type": "PathPrefix", "value": "/v2/"}}],
                    "filters": [
                        {
                            "type": "RequestMirror",
                            "requestMirror": {"backendRef": {"name": "iris-shadow", "port": 80}},
                        },
                        {
                            "type": "RequestHeaderModifier",
                            "requestHeaderModifier": {
                                "set": [{"name": "x-routed-by", "value": "platform"}]
                            },
                        },
                    ],
                    "timeouts": {"request": "10s"},
                    "backendRefs": [
                        {"name": "iris-primary-predictor", "port": 80, "weight": 1},
                        {"name": "iris-predictor", "port": 80, "weight": 0},
                        {"name": "iris-legacy", "port": 80, "weight": 1},
                    ],
                },
                {
                    "name": "default",
                    "backendRefs": [
                        {
                            "group": "",
                            "kind": "Service",
                            "name": "iris-primary-predictor",
                            "port": 80,
                            "weight": 1000,
                        },
                        {
                            "group": "",
                            "kind": "Service",
                            "name": "iris-predictor",
                            "namespace": NAMESPACE,
                            "port": 80,
                            "weight": 0,
                        },
                    ],
                },
            ],
        },
    }

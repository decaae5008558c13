"""Shared pieces for router tests: a target ISVC and an in-memory store."""

from __future__ import annotations

from typing import Any

import pytest

from traffic.memory_store import InMemoryStore
from traffic.target import RouteTarget

NAMESPACE = "models"
ISVC = "iris"
STABLE_HOST = "iris-primary-predictor.models.svc.cluster.local"
CANARY_HOST = "iris-predictor.models.svc.cluster.local"


@pytest.fixture
def store() -> InMemoryStore:
    return InMemoryStore()


def make_target(**changes: Any) -> RouteTarget:
    values: dict[str, Any] = {
        "namespace": NAMESPACE,
        "isvc_name": ISVC,
        "isvc_uid": "0b5f2c4e-1111-4222-8333-944455556666",
        "hosts": ("iris-models.example.com",),
        "gateways": ("knative-serving/knative-ingress-gateway",),
    }
    values.update(changes)
    return RouteTarget(**values)


def without(obj: Any, *paths: tuple[Any, ...]) -> Any:
    """A deep copy of ``obj`` with the values at ``paths`` replaced by a marker."""
    import copy

    result = copy.deepcopy(obj)
    for path in paths:
        node = result
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = "<compared separately>"
    return result

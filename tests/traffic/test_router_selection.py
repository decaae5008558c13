"""``kcanary.io/traffic`` picks the router; every router satisfies the one interface."""

from __future__ import annotations

from traffic_cases import make_target

from traffic.gateway_api import GatewayApiRouter
from traffic.istio import VIRTUAL_SERVICE_V1BETA1, IstioRouter
from traffic.kserve import KServeRouter
from traffic.memory_store import InMemoryStore
from traffic.router import RouterKind
from traffic.routers import make_router


def test_each_mode_gets_its_router(store: InMemoryStore) -> None:
    target = make_target()
    expected = {
        RouterKind.ISTIO: (IstioRouter, "VirtualService models/iris-kcanary"),
        RouterKind.GATEWAY_API: (GatewayApiRouter, "HTTPRoute models/iris-kcanary"),
        RouterKind.KSERVE: (KServeRouter, "InferenceService models/iris"),
    }
    for kind, (router_class, name) in expected.items():
        router = make_router(kind, store, target)
        assert isinstance(router, router_class)
        assert router.kind is kind and router.name == name
    assert RouterKind("gateway-api") is RouterKind.GATEWAY_API


def test_an_older_istio_api_version_can_be_chosen(store: InMemoryStore) -> None:
    router = make_router(
        RouterKind.ISTIO, store, make_target(), route_resource=VIRTUAL_SERVICE_V1BETA1
    )
    router.ensure()
    assert store.log[0].ref.resource.version == "v1beta1"

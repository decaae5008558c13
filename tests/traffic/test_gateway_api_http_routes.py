"""The gateway-api router: its own HTTPRoute, and adopting a user's with relative weights."""

from __future__ import annotations

import re
from typing import Any

import pytest
from traffic_cases import (
    ISVC_UID,
    NAMESPACE,
    PUBLIC_HOST,
    blank_weights,
    make_target,
    platform_http_route,
)

from traffic.errors import RouteError, UnroutableTarget
from traffic.gateway_api import HTTP_ROUTE, GatewayApiRouter
from traffic.memory_store import InMemoryStore
from traffic.router import RouterKind, RouteWeights
from traffic.store import JsonObject, ObjectRef, PatchType

OWNED = ObjectRef(HTTP_ROUTE, NAMESPACE, "iris-kcanary")
ADOPTED = ObjectRef(HTTP_ROUTE, NAMESPACE, "iris-route")


def backend_weights(store: InMemoryStore, ref: ObjectRef, rule: int) -> list[int | None]:
    route = store.get(ref)
    assert route is not None
    return [backend.get("weight") for backend in route["spec"]["rules"][rule]["backendRefs"]]


def owned_router(store: InMemoryStore, **changes: Any) -> GatewayApiRouter:
    target = make_target(**{"gateways": ("kserve/kserve-ingress-gateway",), **changes})
    return GatewayApiRouter(store, target)


def test_the_owned_route_attaches_to_kserves_gateway_with_defaulted_fields_written_out(
    store: InMemoryStore,
) -> None:
    router = owned_router(store)
    assert router.kind is RouterKind.GATEWAY_API
    assert router.ensure() is True
    route = store.get(OWNED)
    assert route is not None
    assert route["apiVersion"] == "gateway.networking.k8s.io/v1"
    assert route["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "kcanary"}
    assert route["metadata"]["ownerReferences"][0]["uid"] == ISVC_UID
    assert route["spec"] == {
        "parentRefs": [
            {
                "group": "gateway.networking.k8s.io",
                "kind": "Gateway",
                "name": "kserve-ingress-gateway",
                "namespace": "kserve",
            }
        ],
        "hostnames": [PUBLIC_HOST],
        "rules": [
            {
                "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                "backendRefs": [
                    {"group": "", "kind": "Service", "name": "iris-primary-predictor",
                     "port": 80, "weight": 100},
                    {"group": "", "kind": "Service", "name": "iris-predictor",
                     "port": 80, "weight": 0},
                ],
            }
        ],
    }  # fmt: skip


def test_owned_route_steps_read_back_and_write_once_per_change(store: InMemoryStore) -> None:
    router = owned_router(store)
    for step in (0, 10, 50, 100):
        router.set_weight(step)
        router.set_weight(step)
        assert backend_weights(store, OWNED, 0) == [100 - step, step]
        assert router.get_weight() == RouteWeights(step)
        assert router.verify_weight(step) is None
    assert store.writes() == 4


def test_server_defaults_on_the_owned_route_are_not_mistaken_for_drift(
    store: InMemoryStore,
) -> None:
    router = owned_router(store)
    router.set_weight(10)
    # What an API server adds on its own must not trigger a rewrite on every reconcile.
    store.patch(
        OWNED,
        [{"op": "add", "path": "/spec/rules/0/timeouts", "value": {"request": "0s"}}],
        resource_version=None,
        patch_type=PatchType.JSON,
    )
    writes = store.writes()
    assert router.verify_weight(10) is None
    assert router.set_weight(10) is False
    assert store.writes() == writes


def test_owned_route_drift_is_detected_and_corrected(store: InMemoryStore) -> None:
    router = owned_router(store)
    router.set_weight(50)
    store.patch(
        OWNED,
        [{"op": "replace", "path": "/spec/rules/0/backendRefs/1/weight", "value": 0}],
        resource_version=None,
        patch_type=PatchType.JSON,
    )
    drift = router.verify_weight(50)
    assert drift is not None and drift.found == ("spec.rules[0]: stable 50, canary 0",)
    assert router.set_weight(50) is True
    assert backend_weights(store, OWNED, 0) == [50, 50]


def test_owned_route_survives_a_concurrent_writer_and_is_deleted_on_hand_back(
    store: InMemoryStore,
) -> None:
    router = owned_router(store)
    router.ensure()
    store.interleave(
        lambda other: other.patch(
            OWNED, {"metadata": {"annotations": {"a": "b"}}}, resource_version=None
        )
    )
    assert router.set_weight(10) is True
    assert [r.accepted for r in store.log] == [True, False, True]
    router.hand_back()
    assert store.get(OWNED) is None


def test_gateways_without_a_namespace_attach_in_the_routes_namespace(store: InMemoryStore) -> None:
    router = owned_router(store, gateways=("shared/edge", "internal"))
    router.ensure()
    route = store.get(OWNED)
    assert route is not None
    assert [(ref.get("namespace"), ref["name"]) for ref in route["spec"]["parentRefs"]] == [
        ("shared", "edge"),
        (None, "internal"),
    ]


def test_an_owned_route_needs_a_gateway_and_at_most_16_hostnames(store: InMemoryStore) -> None:
    with pytest.raises(RouteError, match="needs a Gateway to attach to"):
        owned_router(store, gateways=()).ensure()
    hosts = tuple(f"h{i}.example.com" for i in range(17))
    with pytest.raises(RouteError, match="at most 16 hostnames and 32 parentRefs"):
        owned_router(store, hosts=hosts).ensure()
    assert store.log == []


# --- adoption ---------------------------------------------------------------------------------


def adopted(
    store: InMemoryStore, route: JsonObject | None = None
) -> tuple[GatewayApiRouter, JsonObject]:
    original = store.put(ADOPTED, route or platform_http_route())
    return GatewayApiRouter(store, make_target(adopted_route="iris-route")), original


PAIR_PLACES: list[tuple[Any, ...]] = [
    ("spec", "rules", rule, "backendRefs", index) for rule in (1, 2) for index in (0, 1)
]


def everything_but_the_weights(obj: JsonObject, places: list[tuple[Any, ...]]) -> JsonObject:
    result = blank_weights(obj, places)
    for volatile in ("resourceVersion", "generation"):
        result["metadata"].pop(volatile)
    return result  # type: ignore[no-any-return]


def test_adoption_changes_only_the_pairs_weights_and_scales_coarse_rules_keeping_shares(
    store: InMemoryStore,
) -> None:
    router, original = adopted(store)
    assert router.set_weight(10) is True
    after = store.get(ADOPTED)
    assert after is not None
    # Rule "v2" had weights 1/0/1 (pair half of the rule): scaled by 100, pair 90/10, legacy 100.
    assert backend_weights(store, ADOPTED, 1) == [90, 10, 100]
    # Rule "default" keeps the pair's total of 1000.
    assert backend_weights(store, ADOPTED, 2) == [900, 100]
    assert after["spec"]["rules"][0] == original["spec"]["rules"][0]
    places = [*PAIR_PLACES, ("spec", "rules", 1, "backendRefs", 2)]
    assert everything_but_the_weights(after, places) == everything_but_the_weights(original, places)
    for field in ("filters", "matches", "timeouts", "name"):
        assert after["spec"]["rules"][1][field] == original["spec"]["rules"][1][field]
    assert after["spec"]["parentRefs"] == original["spec"]["parentRefs"]
    assert router.get_weight() == RouteWeights(10)
    assert router.verify_weight(10) is None


def test_adopted_steps_read_back_and_never_write_twice(store: InMemoryStore) -> None:
    router, _ = adopted(store)
    for step in (0, 10, 50, 100):
        router.set_weight(step)
        assert router.set_weight(step) is False
        assert router.verify_weight(step) is None
        assert router.get_weight() == RouteWeights(step)
    assert backend_weights(store, ADOPTED, 1) == [0, 100, 100]
    assert backend_weights(store, ADOPTED, 2) == [0, 1000]
    assert store.writes() == 4


def test_adopted_drift_is_reported_per_rule(store: InMemoryStore) -> None:
    router, _ = adopted(store)
    router.set_weight(10)
    store.patch(
        ADOPTED,
        [{"op": "replace", "path": "/spec/rules/2/backendRefs/1/weight", "value": 500}],
        resource_version=None,
        patch_type=PatchType.JSON,
    )
    drift = router.verify_weight(10)
    assert drift is not None
    assert drift.found == (
        'spec.rules[2] ("default"): stable 900, canary 500 (expected stable 1260, canary 140)',
    )


def test_hand_back_of_an_adopted_route_leaves_it_sending_to_the_isvc(store: InMemoryStore) -> None:
    router, _ = adopted(store)
    router.set_weight(50)
    router.hand_back()
    assert backend_weights(store, ADOPTED, 1) == [0, 100, 100]
    assert backend_weights(store, ADOPTED, 2) == [0, 1000]
    assert store.get(ADOPTED) is not None


def test_a_rule_without_the_stable_backend_cannot_be_adopted(store: InMemoryStore) -> None:
    route = platform_http_route()
    for rule in route["spec"]["rules"]:
        rule["backendRefs"] = [
            b for b in rule["backendRefs"] if b["name"] != "iris-primary-predictor"
        ]
    router, _ = adopted(store, route)
    message = (
        "HTTPRoute models/iris-route cannot be adopted: no rule has a backendRef to the stable of "
        "Service iris-primary-predictor (stable, kcanary's primary copy) and Service "
        "iris-predictor (canary, the InferenceService) in namespace models; add the missing "
        "backendRef (weight 0) next to the other in the rule that serves the InferenceService "
        "(at most 16 per rule)"
    )
    with pytest.raises(UnroutableTarget, match=re.escape(message)):
        router.set_weight(10)


def test_a_backend_in_another_namespace_is_not_the_isvcs(store: InMemoryStore) -> None:
    route = platform_http_route()
    route["spec"]["rules"] = [route["spec"]["rules"][2]]
    route["spec"]["rules"][0]["backendRefs"][1]["namespace"] = "elsewhere"
    router, _ = adopted(store, route)
    with pytest.raises(UnroutableTarget, match="no rule has a backendRef to the canary"):
        router.ensure()

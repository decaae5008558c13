"""Adopting a user's VirtualService changes the two weights and nothing else."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from traffic_cases import NAMESPACE, blank_weights, make_target, platform_virtual_service

from traffic.errors import RouteNotFound, UnroutableTarget
from traffic.istio import VIRTUAL_SERVICE, IstioRouter
from traffic.memory_store import InMemoryStore
from traffic.router import RouteWeights
from traffic.store import JsonObject, ObjectRef, PatchType

REF = ObjectRef(VIRTUAL_SERVICE, NAMESPACE, "iris-route")
# The destinations kcanary may touch: http[1] (short host names), http[2] (with a third).
PAIR_PLACES: list[tuple[Any, ...]] = [
    ("spec", "http", 1, "route", 0),
    ("spec", "http", 1, "route", 1),
    ("spec", "http", 2, "route", 0),
    ("spec", "http", 2, "route", 1),
]


def adopted(
    store: InMemoryStore, route: JsonObject | None = None
) -> tuple[IstioRouter, JsonObject]:
    original = store.put(REF, route or platform_virtual_service())
    return IstioRouter(store, make_target(adopted_route="iris-route")), original


def pair_weights(store: InMemoryStore) -> list[list[int]]:
    route = store.get(REF)
    assert route is not None
    return [[d.get("weight") for d in route["spec"]["http"][i]["route"]] for i in (1, 2)]


def everything_but_the_pair(obj: JsonObject) -> JsonObject:
    result = blank_weights(obj, PAIR_PLACES)
    for volatile in ("resourceVersion", "generation"):
        result["metadata"].pop(volatile)
    return result  # type: ignore[no-any-return]


def test_only_the_stable_and_canary_weights_change_in_every_route_that_sends_to_both(
    store: InMemoryStore,
) -> None:
    router, original = adopted(store)
    assert router.set_weight(10) is True

    after = store.get(REF)
    assert after is not None
    # Field by field, everything except the four weights is as the user wrote it.
    assert everything_but_the_pair(after) == everything_but_the_pair(original)
    for key in original["spec"]:
        if key != "http":
            assert after["spec"][key] == original["spec"][key]
    assert after["spec"]["http"][0] == original["spec"]["http"][0]  # canary-only header route
    for index in (1, 2):
        before_route, after_route = original["spec"]["http"][index], after["spec"]["http"][index]
        assert set(after_route) == set(before_route)
        for field in before_route:
            if field != "route":
                assert after_route[field] == before_route[field], field
    assert after["spec"]["http"][2]["route"][2] == {
        "destination": {"host": "iris-legacy.models.svc.cluster.local"},
        "weight": 20,
    }
    # The third destination keeps its 20; stable and canary share the remaining 80.
    assert pair_weights(store) == [[90, 10], [72, 8, 20]]
    assert router.get_weight() == RouteWeights(canary=10)
    assert router.verify_weight(10) is None


def test_steps_keep_every_route_summing_to_100(store: InMemoryStore) -> None:
    router, _ = adopted(store)
    expected = {0: [[100, 0], [80, 0, 20]], 25: [[75, 25], [60, 20, 20]],
                50: [[50, 50], [40, 40, 20]], 100: [[0, 100], [0, 80, 20]]}  # fmt: skip
    for step, split in expected.items():
        router.set_weight(step)
        assert pair_weights(store) == split
        assert all(sum(weights) == 100 for weights in split)
        assert router.verify_weight(step) is None


def test_setting_the_weight_already_there_writes_nothing(store: InMemoryStore) -> None:
    router, _ = adopted(store)
    assert router.set_weight(0) is False  # the user's route already sends all to stable
    assert router.ensure() is False
    assert router.set_weight(25) is True
    assert router.set_weight(25) is False
    assert store.writes() == 1


def test_drift_names_the_route_that_changed_and_setting_again_fixes_only_it(
    store: InMemoryStore,
) -> None:
    router, _ = adopted(store)
    router.set_weight(25)
    store.patch(
        REF,
        [
            {"op": "replace", "path": "/spec/http/1/route/0/weight", "value": 50},
            {"op": "replace", "path": "/spec/http/1/route/1/weight", "value": 50},
        ],
        resource_version=None,
        patch_type=PatchType.JSON,
    )
    drift = router.verify_weight(25)
    assert drift is not None
    assert drift.found == (
        'spec.http[1] ("shadowed"): stable 50, canary 50 (expected stable 75, canary 25)',
    )
    assert router.set_weight(25) is True
    assert store.log[-1].body == [
        {"op": "add", "path": "/spec/http/1/route/0/weight", "value": 75},
        {"op": "add", "path": "/spec/http/1/route/1/weight", "value": 25},
    ]
    assert router.verify_weight(25) is None


def test_a_conflicting_edit_by_the_user_is_kept_and_the_weights_still_land(
    store: InMemoryStore,
) -> None:
    router, _ = adopted(store)

    def user_edits_timeout(other: InMemoryStore) -> None:
        other.patch(
            REF,
            [{"op": "replace", "path": "/spec/http/1/timeout", "value": "30s"}],
            resource_version=None,
            patch_type=PatchType.JSON,
        )

    store.interleave(user_edits_timeout)
    router.set_weight(50)
    after = store.get(REF)
    assert after is not None and after["spec"]["http"][1]["timeout"] == "30s"
    assert pair_weights(store) == [[50, 50], [40, 40, 20]]


def test_hand_back_sends_the_pair_to_the_isvc_service_and_keeps_the_route(
    store: InMemoryStore,
) -> None:
    router, original = adopted(store)
    router.set_weight(25)
    router.hand_back()
    after = store.get(REF)
    assert after is not None
    assert pair_weights(store) == [[0, 100], [0, 80, 20]]
    assert everything_but_the_pair(after) == everything_but_the_pair(original)


def test_a_missing_route_to_adopt_is_a_clear_error(store: InMemoryStore) -> None:
    router = IstioRouter(store, make_target(adopted_route="iris-route"))
    message = (
        "VirtualService models/iris-route, named by kcanary.io/route on InferenceService "
        "models/iris, does not exist; create it or remove the annotation to let kcanary create "
        "its own route"
    )
    for call in (router.ensure, lambda: router.set_weight(10), router.get_weight):
        with pytest.raises(RouteNotFound, match=re.escape(message)):
            call()


def test_a_route_without_the_canary_destination_is_a_clear_error(store: InMemoryStore) -> None:
    route = platform_virtual_service()
    for http in route["spec"]["http"]:
        http["route"] = [
            d for d in http["route"] if "iris-predictor" not in d["destination"]["host"]
            or "primary" in d["destination"]["host"]
        ]  # fmt: skip
    router, original = adopted(store, route)
    message = (
        "VirtualService models/iris-route cannot be adopted: no HTTP route sends to the canary "
        "of iris-primary-predictor.models.svc.cluster.local (stable, kcanary's primary copy) and "
        "iris-predictor.models.svc.cluster.local (canary, the InferenceService); add the missing "
        "destination (weight 0) next to the other in the route that serves the InferenceService"
    )
    with pytest.raises(UnroutableTarget, match=re.escape(message)):
        router.set_weight(10)
    assert store.get(REF) == original


def test_a_route_whose_destinations_are_in_different_routes_is_a_clear_error(
    store: InMemoryStore,
) -> None:
    route = copy.deepcopy(platform_virtual_service())
    route["spec"]["http"] = [
        {"route": [{"destination": {"host": "iris-primary-predictor"}}]},
        {"route": [{"destination": {"host": "iris-predictor"}}]},
    ]
    router, _ = adopted(store, route)
    with pytest.raises(UnroutableTarget, match="no single HTTP route sends to both"):
        router.ensure()


def test_other_destinations_taking_everything_leave_nothing_to_split(store: InMemoryStore) -> None:
    route = platform_virtual_service()
    route["spec"]["http"][2]["route"][2]["weight"] = 100
    router, _ = adopted(store, route)
    with pytest.raises(
        UnroutableTarget, match=re.escape('other destinations in spec.http[2] ("default") take 100')
    ):
        router.set_weight(10)


def test_a_route_kserve_owns_is_not_adopted_because_kserve_reverts_it(
    store: InMemoryStore,
) -> None:
    route = platform_virtual_service()
    route["metadata"]["ownerReferences"] = [
        {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService", "name": "iris",
         "uid": "u", "controller": True, "blockOwnerDeletion": True}
    ]  # fmt: skip
    router, original = adopted(store, route)
    with pytest.raises(UnroutableTarget, match="is created and reconciled by KServe"):
        router.set_weight(10)
    assert store.get(REF) == original

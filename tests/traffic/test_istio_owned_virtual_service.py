"""The istio router's own VirtualService: shape, steps, drift, conflicts, idempotence, hand back."""

from __future__ import annotations

import re

import pytest
from traffic_cases import CANARY_HOST, ISVC_UID, NAMESPACE, PUBLIC_HOST, STABLE_HOST, make_target

from traffic.errors import InvalidWeight, RouteNotManaged, TooManyConflicts
from traffic.gateway_api import HTTP_ROUTE
from traffic.istio import VIRTUAL_SERVICE, VIRTUAL_SERVICE_V1BETA1, IstioRouter
from traffic.memory_store import InMemoryStore
from traffic.router import RouterKind, RouteWeights
from traffic.store import ObjectRef, PatchType

REF = ObjectRef(VIRTUAL_SERVICE, NAMESPACE, "iris-kcanary")


def weights(store: InMemoryStore) -> list[int]:
    route = store.get(REF)
    assert route is not None
    return [entry["weight"] for entry in route["spec"]["http"][0]["route"]]


def test_ensure_creates_the_owned_route_bound_to_the_ingress_gateway_and_the_mesh(
    store: InMemoryStore,
) -> None:
    router = IstioRouter(store, make_target())
    assert router.kind is RouterKind.ISTIO
    assert router.name == "VirtualService models/iris-kcanary"
    assert router.get_weight() is None

    assert router.ensure() is True

    route = store.get(REF)
    assert route is not None
    assert route["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "kcanary"}
    assert route["metadata"]["ownerReferences"] == [
        {
            "apiVersion": "serving.kserve.io/v1beta1",
            "kind": "InferenceService",
            "name": "iris",
            "uid": ISVC_UID,
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    assert route["spec"] == {
        "hosts": [PUBLIC_HOST, CANARY_HOST],
        "gateways": ["knative-serving/knative-ingress-gateway", "mesh"],
        "http": [
            {
                "name": "kcanary",
                "route": [
                    {"destination": {"host": STABLE_HOST, "port": {"number": 80}}, "weight": 100},
                    {"destination": {"host": CANARY_HOST, "port": {"number": 80}}, "weight": 0},
                ],
            }
        ],
    }
    assert router.ensure() is False
    assert store.writes() == 1


def test_stepping_through_the_weights_writes_once_per_change_and_reads_back(
    store: InMemoryStore,
) -> None:
    router = IstioRouter(store, make_target(port=8080))
    for step in (0, 10, 50, 100):
        router.set_weight(step)
        assert router.get_weight() == RouteWeights(canary=step)
        assert router.verify_weight(step) is None
        assert weights(store) == [100 - step, step]
        assert sum(weights(store)) == 100
    assert store.writes() == 4  # create at 0, then one patch per change
    writes = store.writes()
    assert router.set_weight(100) is False
    assert router.set_weight(100) is False
    assert store.writes() == writes
    route = store.get(REF)
    assert route is not None
    assert route["spec"]["http"][0]["route"][1]["destination"]["port"] == {"number": 8080}


def test_drift_is_reported_with_the_weights_found_and_corrected_by_setting_again(
    store: InMemoryStore,
) -> None:
    router = IstioRouter(store, make_target())
    router.set_weight(10)
    store.patch(
        REF,
        [{"op": "replace", "path": "/spec/http/0/route/1/weight", "value": 60}],
        resource_version=None,
        patch_type=PatchType.JSON,
    )
    drift = router.verify_weight(10)
    assert drift is not None
    assert drift.message == (
        "VirtualService models/iris-kcanary should send 10% to the canary: "
        'spec.http[0] ("kcanary"): stable 90, canary 60'
    )
    assert router.set_weight(10) is True
    assert router.verify_weight(10) is None
    assert weights(store) == [90, 10]


def test_a_deleted_owned_route_is_drift_and_is_recreated(store: InMemoryStore) -> None:
    router = IstioRouter(store, make_target())
    router.set_weight(25)
    store.delete(REF)
    drift = router.verify_weight(25)
    assert drift is not None and drift.found == ("the route does not exist",)
    assert router.set_weight(25) is True
    assert weights(store) == [75, 25]


def test_a_concurrent_writer_causes_a_conflict_that_is_retried_from_a_fresh_read(
    store: InMemoryStore,
) -> None:
    router = IstioRouter(store, make_target())
    router.ensure()

    def someone_labels_it(other: InMemoryStore) -> None:
        other.patch(REF, {"metadata": {"labels": {"team": "a"}}}, resource_version=None)

    store.interleave(someone_labels_it)
    assert router.set_weight(50) is True
    assert weights(store) == [50, 50]
    route = store.get(REF)
    assert route is not None and route["metadata"]["labels"]["team"] == "a"
    assert [(r.verb, r.accepted) for r in store.log] == [
        ("create", True),
        ("patch", False),
        ("patch", True),
    ]


def test_a_writer_that_never_stops_makes_the_router_give_up_with_a_clear_error(
    store: InMemoryStore,
) -> None:
    router = IstioRouter(store, make_target(), attempts=3)
    router.ensure()

    writes_by_other = iter(range(100))

    def keeps_writing(other: InMemoryStore) -> None:
        count = str(next(writes_by_other))
        other.patch(REF, {"metadata": {"annotations": {"n": count}}}, resource_version=None)

    store.interleave(keeps_writing, times=3)
    with pytest.raises(TooManyConflicts, match="changed under every one of 3 attempts"):
        router.set_weight(10)


@pytest.mark.parametrize("bad", [101, -1, 10.5, True, "10"])
def test_weights_outside_0_to_100_are_refused_before_anything_is_written(
    store: InMemoryStore, bad: object
) -> None:
    router = IstioRouter(store, make_target())
    message = (
        f"canary weight {bad!r} is not a whole percentage from 0 to 100; "
        "use an integer such as 10, 25 or 50"
    )
    with pytest.raises(InvalidWeight, match=re.escape(message)):
        router.set_weight(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        router.verify_weight(bad)  # type: ignore[arg-type]
    assert store.log == []


def test_an_object_with_the_owned_name_that_kcanary_did_not_create_is_left_alone(
    store: InMemoryStore,
) -> None:
    store.put(REF, {"spec": {"hosts": ["x"]}})
    router = IstioRouter(store, make_target())
    message = (
        "VirtualService models/iris-kcanary exists but was not created by kcanary (no label "
        "app.kubernetes.io/managed-by=kcanary); delete or rename it, or let kcanary adopt it with "
        "the annotation kcanary.io/route: iris-kcanary"
    )
    with pytest.raises(RouteNotManaged, match=re.escape(message)):
        router.set_weight(10)
    router.hand_back()
    assert store.get(REF) is not None


def test_promote_and_roll_back_send_everything_to_the_primary(store: InMemoryStore) -> None:
    router = IstioRouter(store, make_target())
    router.set_weight(50)
    assert router.promote().done
    assert weights(store) == [100, 0]
    router.set_weight(50)
    progress = router.roll_back()
    assert progress.done and "stable primary" in progress.message
    assert weights(store) == [100, 0]


def test_hand_back_deletes_the_owned_route_and_is_idempotent(store: InMemoryStore) -> None:
    router = IstioRouter(store, make_target())
    router.set_weight(0)
    router.hand_back()
    assert store.get(REF) is None
    router.hand_back()
    assert store.writes() == 2


def test_ensure_restores_an_owned_route_edited_by_hand_keeping_its_weight(
    store: InMemoryStore,
) -> None:
    router = IstioRouter(store, make_target())
    router.set_weight(25)
    store.patch(REF, {"spec": {"hosts": ["elsewhere.example.com"]}}, resource_version=None)
    assert router.ensure() is True
    route = store.get(REF)
    assert route is not None and route["spec"]["hosts"] == [PUBLIC_HOST, CANARY_HOST]
    assert weights(store) == [75, 25]


def test_an_owned_route_edited_elsewhere_than_its_weights_is_drift_too(
    store: InMemoryStore,
) -> None:
    router = IstioRouter(store, make_target())
    router.set_weight(10)
    store.patch(REF, {"spec": {"gateways": ["mesh"]}}, resource_version=None)
    drift = router.verify_weight(10)
    assert drift is not None
    assert drift.found == ("its hosts, gateways or rules differ from what kcanary wrote",)
    store.patch(REF, {"spec": {"http": []}}, resource_version=None)
    assert router.get_weight() is None
    drift = router.verify_weight(10)
    assert drift is not None
    assert drift.found == ("no rule sends to both the stable and the canary",)
    assert router.set_weight(10) is True
    assert router.verify_weight(10) is None


def test_older_istio_gets_the_v1beta1_api(store: InMemoryStore) -> None:
    router = IstioRouter(store, make_target(), resource=VIRTUAL_SERVICE_V1BETA1)
    router.set_weight(10)
    route = store.get(ObjectRef(VIRTUAL_SERVICE_V1BETA1, NAMESPACE, "iris-kcanary"))
    assert route is not None and route["apiVersion"] == "networking.istio.io/v1beta1"
    with pytest.raises(ValueError, match="IstioRouter routes VirtualService objects"):
        IstioRouter(store, make_target(), resource=HTTP_ROUTE)

"""The kserve router drives canaryTrafficPercent (Serverless) and spec.canary[] (Standard)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from traffic_cases import NAMESPACE, make_target

from traffic.errors import InvalidWeight, RouteError, RouteNotFound, UnroutableTarget
from traffic.kserve import INFERENCE_SERVICE, DeploymentMode, KServeRouter, deployment_mode
from traffic.memory_store import InMemoryStore
from traffic.router import RouterKind, RouteWeights
from traffic.store import JsonObject, ObjectRef

REF = ObjectRef(INFERENCE_SERVICE, NAMESPACE, "iris")


def serverless_isvc(**predictor: Any) -> JsonObject:
    return {
        "metadata": {"annotations": {"serving.kserve.io/deploymentMode": "Serverless"}},
        "spec": {"predictor": {"model": {"modelFormat": {"name": "sklearn"},
                                         "storageUri": "s3://models/iris/v2"}, **predictor}},
    }  # fmt: skip


def set_status(store: InMemoryStore, *, created: str, ready: str, rolled_out: str) -> None:
    traffic = [
        {"latestRevision": True, "percent": 10, "revisionName": created, "tag": "latest"},
        {"latestRevision": False, "percent": 90, "revisionName": rolled_out, "tag": "prev"},
    ]
    predictor = {
        "latestCreatedRevision": created,
        "latestReadyRevision": ready,
        "latestRolledoutRevision": rolled_out,
        "traffic": traffic,
    }
    status = {"deploymentMode": "Serverless", "components": {"predictor": predictor}}
    store.patch(REF, {"status": status}, resource_version=None)


def canary_traffic_percent(store: InMemoryStore) -> Any:
    isvc = store.get(REF)
    assert isvc is not None
    return isvc["spec"]["predictor"].get("canaryTrafficPercent")


@pytest.fixture
def serverless(store: InMemoryStore) -> KServeRouter:
    store.put(REF, serverless_isvc())
    return KServeRouter(store, make_target())


def test_ensure_guards_the_next_revision_with_zero_percent(
    store: InMemoryStore, serverless: KServeRouter
) -> None:
    assert serverless.kind is RouterKind.KSERVE
    assert serverless.name == "InferenceService models/iris"
    assert serverless.get_weight() is None
    assert serverless.ensure() is True
    assert canary_traffic_percent(store) == 0
    assert serverless.ensure() is False
    assert store.writes() == 1


def test_serverless_steps_patch_canary_traffic_percent_once_per_change(
    store: InMemoryStore, serverless: KServeRouter
) -> None:
    for step in (0, 10, 50, 100):
        assert serverless.set_weight(step) is True
        assert serverless.set_weight(step) is False
        assert canary_traffic_percent(store) == step
        assert serverless.get_weight() == RouteWeights(step)
        assert serverless.verify_weight(step) is None
    assert store.writes() == 4
    assert store.log[0].body == {"spec": {"predictor": {"canaryTrafficPercent": 0}}}


def test_serverless_drift_names_the_field_and_is_corrected(
    store: InMemoryStore, serverless: KServeRouter
) -> None:
    serverless.set_weight(10)
    store.patch(REF, {"spec": {"predictor": {"canaryTrafficPercent": 30}}}, resource_version=None)
    drift = serverless.verify_weight(10)
    assert drift is not None
    assert drift.message == (
        "InferenceService models/iris should send 10% to the canary: "
        "spec.predictor.canaryTrafficPercent is 30"
    )
    serverless.set_weight(10)
    assert serverless.verify_weight(10) is None


def test_serverless_write_is_retried_when_kserve_updates_the_isvc_meanwhile(
    store: InMemoryStore, serverless: KServeRouter
) -> None:
    store.interleave(lambda other: set_status(other, created="iris-predictor-00002",
                                              ready="iris-predictor-00002",
                                              rolled_out="iris-predictor-00001"))  # fmt: skip
    assert serverless.set_weight(25) is True
    assert canary_traffic_percent(store) == 25
    assert [r.accepted for r in store.log] == [False, True]


def test_serverless_split_is_read_from_the_status(
    store: InMemoryStore, serverless: KServeRouter
) -> None:
    set_status(
        store,
        created="iris-predictor-00002",
        ready="iris-predictor-00002",
        rolled_out="iris-predictor-00001",
    )
    split = serverless.serverless_split()
    assert split.stable_revision == "iris-predictor-00001"
    assert split.canary_revision == "iris-predictor-00002"
    assert split.canary_ready and split.rolling_out
    assert split.canary_percent == 10
    assert [entry.tag for entry in split.traffic] == ["latest", "prev"]
    assert serverless.mode() is DeploymentMode.SERVERLESS


def test_serverless_promotion_sets_100_waits_for_the_rollout_then_guards_again(
    store: InMemoryStore, serverless: KServeRouter
) -> None:
    serverless.set_weight(50)
    set_status(store, created="iris-predictor-00002", ready="iris-predictor-00001",
               rolled_out="iris-predictor-00001")  # fmt: skip
    progress = serverless.promote()
    assert not progress.done
    assert progress.message == (
        "waiting for revision iris-predictor-00002 to become ready "
        "(latest ready: iris-predictor-00001)"
    )
    assert canary_traffic_percent(store) == 100
    set_status(store, created="iris-predictor-00002", ready="iris-predictor-00002",
               rolled_out="iris-predictor-00001")  # fmt: skip
    progress = serverless.promote()
    assert not progress.done
    assert progress.message == (
        "waiting for latestRolledoutRevision to become iris-predictor-00002 "
        "(now iris-predictor-00001)"
    )
    set_status(store, created="iris-predictor-00002", ready="iris-predictor-00002",
               rolled_out="iris-predictor-00002")  # fmt: skip
    assert serverless.promote().done
    assert canary_traffic_percent(store) == 0
    writes = store.writes()
    assert serverless.promote().done
    assert store.writes() == writes


def test_serverless_rollback_sets_zero_and_hand_back_removes_the_field(
    store: InMemoryStore, serverless: KServeRouter
) -> None:
    serverless.set_weight(50)
    assert serverless.roll_back().done
    assert canary_traffic_percent(store) == 0
    serverless.hand_back()
    isvc = store.get(REF)
    assert isvc is not None and "canaryTrafficPercent" not in isvc["spec"]["predictor"]
    writes = store.writes()
    serverless.hand_back()
    assert store.writes() == writes


def test_a_missing_isvc_and_a_bad_weight_are_clear_errors(store: InMemoryStore) -> None:
    router = KServeRouter(store, make_target())
    with pytest.raises(RouteNotFound, match="InferenceService models/iris does not exist"):
        router.set_weight(10)
    store.put(REF, serverless_isvc())
    with pytest.raises(InvalidWeight, match=re.escape("canary weight 101 is not a whole")):
        router.set_weight(101)


# --- Standard mode, spec.canary[] ---------------------------------------------------------------


def standard_isvc(*canaries: dict[str, Any]) -> JsonObject:
    isvc: JsonObject = {
        "metadata": {"annotations": {"serving.kserve.io/deploymentMode": "Standard"}},
        "spec": {
            "predictor": {
                "name": "v1",
                "minReplicas": 2,
                "maxReplicas": 6,
                "model": {"modelFormat": {"name": "sklearn"}, "storageUri": "s3://iris/v1"},
            }
        },
    }
    if canaries:
        isvc["spec"]["canary"] = list(canaries)
    return isvc


CANARY_V2: dict[str, Any] = {
    "trafficPercent": 0,
    "predictor": {
        "name": "v2",
        "model": {"modelFormat": {"name": "sklearn"}, "storageUri": "s3://iris/v2"},
    },
}


def spec(store: InMemoryStore) -> Any:
    isvc = store.get(REF)
    assert isvc is not None
    return isvc["spec"]


def test_standard_mode_walks_the_canary_entrys_traffic_percent(store: InMemoryStore) -> None:
    store.put(REF, standard_isvc(CANARY_V2))
    router = KServeRouter(store, make_target())
    assert router.mode() is DeploymentMode.STANDARD
    assert router.ensure() is False
    for step in (0, 10, 50, 100):
        router.set_weight(step)
        router.set_weight(step)
        assert spec(store)["canary"][0]["trafficPercent"] == step
        assert router.get_weight() == RouteWeights(step)
        assert router.verify_weight(step) is None
    assert store.writes() == 3  # 0 was already there
    assert store.log[0].body == [
        {"op": "add", "path": "/spec/canary/0/trafficPercent", "value": 10}
    ]
    assert spec(store)["canary"][0]["predictor"] == CANARY_V2["predictor"]


def test_standard_mode_drift_and_concurrent_writes(store: InMemoryStore) -> None:
    store.put(REF, standard_isvc(CANARY_V2))
    router = KServeRouter(store, make_target())
    router.set_weight(25)
    store.patch(REF, {"metadata": {"labels": {"x": "y"}}}, resource_version=None)
    relabel = {"metadata": {"labels": {"x": "z"}}}
    store.interleave(lambda other: other.patch(REF, relabel, resource_version=None))
    assert router.set_weight(50) is True
    drift_isvc = store.get(REF)
    assert drift_isvc is not None
    drift_isvc["spec"]["canary"][0]["trafficPercent"] = 5
    store.patch(REF, {"spec": {"canary": drift_isvc["spec"]["canary"]}}, resource_version=None)
    drift = router.verify_weight(50)
    assert drift is not None and drift.found == ("spec.canary[0].trafficPercent is 5",)


def test_standard_promotion_moves_the_canary_predictor_into_the_spec(store: InMemoryStore) -> None:
    store.put(REF, standard_isvc(CANARY_V2))
    router = KServeRouter(store, make_target())
    router.set_weight(50)
    assert router.promote().done
    after = spec(store)
    assert "canary" not in after
    assert after["predictor"] == {**CANARY_V2["predictor"], "minReplicas": 2, "maxReplicas": 6}
    writes = store.writes()
    assert router.promote().done
    assert store.writes() == writes


def test_standard_rollback_removes_the_entry_and_keeps_the_stable(store: InMemoryStore) -> None:
    store.put(REF, standard_isvc(CANARY_V2))
    router = KServeRouter(store, make_target())
    router.set_weight(50)
    assert router.roll_back().done
    assert spec(store) == standard_isvc()["spec"]
    router.hand_back()


def test_standard_mode_without_a_canary_entry_names_the_other_routers(store: InMemoryStore) -> None:
    store.put(REF, standard_isvc())
    router = KServeRouter(store, make_target())
    assert router.set_weight(0) is False
    assert router.get_weight() == RouteWeights(0)
    assert router.verify_weight(0) is None
    message = (
        "InferenceService models/iris runs in Standard mode and has no spec.canary[] entry to "
        "send 10% to. The kserve router drives KServe's own Standard-mode canary (KServe >= "
        "0.20): add the new predictor as a spec.canary[] entry, or use kcanary.io/traffic: istio "
        "or gateway-api, which need no entry"
    )
    with pytest.raises(UnroutableTarget, match=re.escape(message)):
        router.set_weight(10)
    assert store.writes() == 0


def test_more_than_one_canary_entry_is_refused(store: InMemoryStore) -> None:
    third = {"trafficPercent": 0, "predictor": {"name": "v3"}}
    store.put(REF, standard_isvc(CANARY_V2, third))
    with pytest.raises(UnroutableTarget, match=re.escape("has 2 spec.canary[] entries (v2, v3)")):
        KServeRouter(store, make_target()).set_weight(10)


@pytest.mark.parametrize(
    ("isvc", "mode"),
    [
        ({"metadata": {"annotations": {"serving.kserve.io/deploymentMode": "RawDeployment"}}},
         DeploymentMode.STANDARD),
        ({"metadata": {"annotations": {"serving.kserve.io/deploymentMode": "Knative"}}},
         DeploymentMode.SERVERLESS),
        ({"metadata": {}, "status": {"deploymentMode": "Standard"}}, DeploymentMode.STANDARD),
        ({"metadata": {}, "spec": {"canary": [CANARY_V2]}}, DeploymentMode.STANDARD),
        ({"metadata": {}}, DeploymentMode.SERVERLESS),
    ],
)  # fmt: skip
def test_the_deployment_mode_comes_from_status_then_annotation(
    isvc: JsonObject, mode: DeploymentMode
) -> None:
    assert deployment_mode(isvc) is mode


def test_model_mesh_isvcs_are_refused() -> None:
    annotations = {"serving.kserve.io/deploymentMode": "ModelMesh"}
    isvc = {"metadata": {"name": "iris", "namespace": "models", "annotations": annotations}}
    with pytest.raises(
        RouteError, match="deployment mode 'ModelMesh' of InferenceService models/iris"
    ):
        deployment_mode(isvc)


def test_a_revision_newer_than_the_one_analysed_is_not_promoted_unseen(
    store: InMemoryStore, serverless: KServeRouter
) -> None:
    serverless.set_weight(50)
    set_status(store, created="iris-predictor-00002", ready="iris-predictor-00002",
               rolled_out="iris-predictor-00001")  # fmt: skip
    assert not serverless.promote(revision="iris-predictor-00002").done
    assert canary_traffic_percent(store) == 100
    set_status(store, created="iris-predictor-00003", ready="iris-predictor-00002",
               rolled_out="iris-predictor-00001")  # fmt: skip
    progress = serverless.promote(revision="iris-predictor-00002")
    assert not progress.done
    assert progress.message == (
        "revision iris-predictor-00002 is no longer the newest (iris-predictor-00003 is); "
        "spec.predictor.canaryTrafficPercent is back to 0 until the newer revision has been "
        "analysed"
    )
    assert canary_traffic_percent(store) == 0
    set_status(store, created="iris-predictor-00003", ready="iris-predictor-00003",
               rolled_out="iris-predictor-00002")  # fmt: skip
    assert serverless.promote(revision="iris-predictor-00002").done
    assert canary_traffic_percent(store) == 0


def test_ensure_resets_the_guard_once_nothing_rolls_out_but_not_during_a_rollout(
    store: InMemoryStore, serverless: KServeRouter
) -> None:
    serverless.set_weight(25)
    set_status(store, created="iris-predictor-00002", ready="iris-predictor-00002",
               rolled_out="iris-predictor-00001")  # fmt: skip
    assert serverless.ensure() is False
    assert canary_traffic_percent(store) == 25
    store.patch(REF, {"spec": {"predictor": {"canaryTrafficPercent": 100}}}, resource_version=None)
    set_status(store, created="iris-predictor-00002", ready="iris-predictor-00002",
               rolled_out="iris-predictor-00002")  # fmt: skip
    assert serverless.ensure() is True
    assert canary_traffic_percent(store) == 0

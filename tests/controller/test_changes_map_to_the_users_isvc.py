"""Every watched change is queued under the user's ISVC it concerns: a primary copy's and a
KServe Deployment's go to the ISVC that owns them, a route's to the ISVC that owns or adopts it."""

from __future__ import annotations

from typing import Any

from reconcile.controller import deployment_owner, rollout_key, route_users


def owned_by(name: str) -> list[dict[str, Any]]:
    return [{"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService", "name": name}]


def test_a_users_isvc_is_its_own_key() -> None:
    isvc = {"metadata": {"namespace": "models", "name": "iris"}}
    assert rollout_key(isvc) == ("models", "iris")


def test_a_primary_copy_is_queued_under_its_owner() -> None:
    primary = {
        "metadata": {
            "namespace": "models",
            "name": "iris-primary",
            "labels": {"app.kubernetes.io/managed-by": "kcanary"},
            "ownerReferences": owned_by("iris"),
        }
    }
    assert rollout_key(primary) == ("models", "iris")


def test_a_deployment_names_the_isvc_that_owns_it() -> None:
    owned = {
        "metadata": {"name": "iris-primary-predictor", "ownerReferences": owned_by("iris-primary")}
    }
    assert deployment_owner(owned) == "iris-primary"
    labelled = {
        "metadata": {
            "name": "iris-predictor",
            "labels": {"serving.kserve.io/inferenceservice": "iris"},
        }
    }
    assert deployment_owner(labelled) == "iris"
    assert deployment_owner({"metadata": {"name": "iris-predictor"}}) == "iris"


def route(name: str, *, labels: dict[str, str] | None = None, owner: str = "") -> dict[str, Any]:
    meta: dict[str, Any] = {"namespace": "models", "name": name, "labels": labels or {}}
    if owner:
        meta["ownerReferences"] = owned_by(owner)
    return {"kind": "VirtualService", "metadata": meta}


def rollout(namespace: str, name: str, adopted: str | None) -> dict[str, Any]:
    annotations = {"kcanary.io/traffic": "istio"}
    if adopted is not None:
        annotations["kcanary.io/route"] = adopted
    return {"metadata": {"namespace": namespace, "name": name, "annotations": annotations}}


ROLLOUTS = [
    rollout("models", "iris", adopted="shop"),
    rollout("models", "wine", adopted=None),
    rollout("other", "iris", adopted="shop"),
]


def test_kcanarys_own_route_is_queued_under_the_isvc_that_owns_it() -> None:
    owned = route("iris-kcanary", labels={"app.kubernetes.io/managed-by": "kcanary"}, owner="iris")
    assert route_users(owned, ROLLOUTS) == [("models", "iris")]


def test_an_adopted_route_is_queued_under_the_isvcs_whose_rollout_names_it() -> None:
    assert route_users(route("shop"), ROLLOUTS) == [("models", "iris")]


def test_a_route_kcanary_neither_owns_nor_adopts_concerns_no_isvc() -> None:
    # KServe's own VirtualService for an ISVC: owned by the ISVC, but not kcanary's.
    assert route_users(route("wine", owner="wine"), ROLLOUTS) == []
    assert route_users(route("unrelated"), ROLLOUTS) == []

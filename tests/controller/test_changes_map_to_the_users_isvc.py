"""Every watched change is queued under the user's ISVC it concerns: a primary copy's and a
KServe Deployment's go to the ISVC that owns them."""

from __future__ import annotations

from typing import Any

from reconcile.controller import deployment_owner, rollout_key


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

"""The primary copy serves the model under the user's ISVC name, or is refused with a reason."""

from __future__ import annotations

from typing import Any

from reconcile.primary_copy import CannotPin, build_primary, is_primary_copy


def isvc(model: dict[str, Any], **annotations: str) -> dict[str, Any]:
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {
            "name": "iris",
            "namespace": "models",
            "uid": "u-1",
            "labels": {"team": "ml"},
            "annotations": {"kcanary.io/strategy": "canary", "owner": "me", **annotations},
        },
        "spec": {"predictor": {"model": model, "canaryTrafficPercent": 0}},
    }


def test_python_runtimes_get_the_name_pinned_by_the_last_model_name_arg() -> None:
    user = isvc({"modelFormat": {"name": "sklearn"}, "args": ["--model_name=x", "--workers=2"]})
    copy = build_primary(user, user["spec"])
    assert not isinstance(copy, CannotPin)
    assert copy["metadata"]["name"] == "iris-primary"
    assert copy["spec"]["predictor"]["model"]["args"] == ["--workers=2", "--model_name=iris"]
    assert "canaryTrafficPercent" not in copy["spec"]["predictor"]


def test_mlserver_gets_the_name_through_its_environment() -> None:
    user = isvc({"modelFormat": {"name": "mlflow"}, "env": [{"name": "A", "value": "1"}]})
    copy = build_primary(user, user["spec"])
    assert not isinstance(copy, CannotPin)
    assert copy["spec"]["predictor"]["model"]["env"] == [
        {"name": "A", "value": "1"},
        {"name": "MLSERVER_MODEL_NAME", "value": "iris"},
    ]


def test_triton_needs_no_pin() -> None:
    user = isvc({"modelFormat": {"name": "onnx"}})
    copy = build_primary(user, user["spec"])
    assert not isinstance(copy, CannotPin)
    assert "args" not in copy["spec"]["predictor"]["model"]


def test_the_copy_is_cluster_local_owned_labelled_and_carries_no_kcanary_annotations() -> None:
    user = isvc({"modelFormat": {"name": "sklearn"}})
    copy = build_primary(user, user["spec"])
    assert not isinstance(copy, CannotPin)
    meta = copy["metadata"]
    assert meta["labels"] == {
        "team": "ml",
        "app.kubernetes.io/managed-by": "kcanary",
        "networking.kserve.io/visibility": "cluster-local",
    }
    assert meta["annotations"] == {"owner": "me"}
    assert meta["ownerReferences"][0]["uid"] == "u-1"
    assert meta["ownerReferences"][0]["blockOwnerDeletion"] is True
    assert is_primary_copy(copy)
    assert not is_primary_copy(user)


def test_an_unknown_runtime_is_refused_with_what_to_change() -> None:
    user = isvc({"modelFormat": {"name": "sklearn"}, "runtime": "my-runtime"})
    refused = build_primary(user, user["spec"])
    assert isinstance(refused, CannotPin)
    assert "'my-runtime'" in refused.message
    assert "kserve traffic mode" in refused.message


def test_a_custom_container_is_refused() -> None:
    user = isvc({})
    user["spec"]["predictor"] = {"containers": [{"name": "c", "image": "x"}]}
    refused = build_primary(user, user["spec"])
    assert isinstance(refused, CannotPin)
    assert "custom container" in refused.message

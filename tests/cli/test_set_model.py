"""`kcanary set model NAME URI [--format F]`: a merge patch of the ISVC's predictor model, as a
CI makes it; refused with what to do when there is no such ISVC, no spec.predictor.model, or no
URI."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from typing import Any

from cli_harness import ISVC_API, Kcanary
from kubectl_harness import PINNED_KUBECTL
from kubernetes import client as k8s_client

OLD, NEW = "s3://models/iris/v1", "s3://models/iris/v2"


def model_of(custom: k8s_client.CustomObjectsApi, namespace: str, name: str) -> dict[str, Any]:
    found: Any = custom.get_namespaced_custom_object(*ISVC_API[:2], namespace, ISVC_API[2], name)
    return dict(found["spec"]["predictor"]["model"])


def test_set_model_patches_the_storage_uri_and_prints_the_change(
    kcanary: Kcanary,
    make_isvc: Callable[..., dict[str, Any]],
    custom: k8s_client.CustomObjectsApi,
    namespace: str,
) -> None:
    make_isvc("set-iris", model=OLD)
    result = kcanary("set", "model", "set-iris", NEW)
    assert (result.code, result.out, result.err) == (
        0,
        f"inferenceservice/set-iris: storageUri {OLD} -> {NEW}\n",
        "",
    )
    assert model_of(custom, namespace, "set-iris") == {
        "modelFormat": {"name": "sklearn"},
        "storageUri": NEW,
    }


def test_format_changes_the_model_format_too(
    kcanary: Kcanary,
    make_isvc: Callable[..., dict[str, Any]],
    custom: k8s_client.CustomObjectsApi,
    namespace: str,
) -> None:
    make_isvc("set-format", model=OLD)
    result = kcanary("set", "model", "set-format", NEW, "--format", "onnx")
    assert result.code == 0, result.err
    assert result.out.splitlines() == [
        f"inferenceservice/set-format: storageUri {OLD} -> {NEW}",
        "inferenceservice/set-format: modelFormat.name sklearn -> onnx",
    ]
    model = model_of(custom, namespace, "set-format")
    assert (model["storageUri"], model["modelFormat"]) == (NEW, {"name": "onnx"})


def test_the_same_uri_changes_nothing(
    kcanary: Kcanary,
    make_isvc: Callable[..., dict[str, Any]],
    custom: k8s_client.CustomObjectsApi,
    namespace: str,
) -> None:
    created = make_isvc("set-same", model=OLD)
    result = kcanary("set", "model", "set-same", OLD)
    assert (result.code, result.out) == (
        0,
        f"inferenceservice/set-same: model unchanged (storageUri is already {OLD})\n",
    )
    found: Any = custom.get_namespaced_custom_object(
        *ISVC_API[:2], namespace, ISVC_API[2], "set-same"
    )
    assert found["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]


def test_an_unknown_isvc_is_refused(kcanary: Kcanary, namespace: str) -> None:
    result = kcanary("set", "model", "set-missing", NEW)
    assert result.code == 1
    assert result.err.startswith(
        f'error: InferenceService "set-missing" not found in namespace "{namespace}"'
    )


def test_an_isvc_without_predictor_model_is_refused_and_left_alone(
    kcanary: Kcanary, custom: k8s_client.CustomObjectsApi, namespace: str
) -> None:
    body = {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": "set-custom"},
        "spec": {"predictor": {"containers": [{"name": "kserve-container", "image": "m:1"}]}},
    }
    custom.create_namespaced_custom_object(*ISVC_API[:2], namespace, ISVC_API[2], body)
    result = kcanary("set", "model", "set-custom", NEW)
    assert result.code == 1
    assert result.err == (
        f'error: InferenceService "set-custom" in namespace "{namespace}" has no '
        "spec.predictor.model (a custom container or a framework-specific predictor): change "
        "its model in its own spec (kubectl edit inferenceservice)\n"
    )
    found: Any = custom.get_namespaced_custom_object(
        *ISVC_API[:2], namespace, ISVC_API[2], "set-custom"
    )
    assert "model" not in found["spec"]["predictor"]


def test_an_empty_uri_or_format_is_refused_before_the_cluster_is_asked(kcanary: Kcanary) -> None:
    empty = kcanary("set", "model", "set-iris", " ", cluster_flags=False)
    assert (empty.code, empty.err) == (
        1,
        "error: URI is empty: give the model's storageUri, e.g. s3://models/iris/v2\n",
    )
    no_format = kcanary("set", "model", "set-iris", NEW, "--format", "", cluster_flags=False)
    assert (no_format.code, no_format.err) == (
        1,
        "error: --format is empty: give a model format name, e.g. sklearn\n",
    )


def test_kubectl_canary_set_model_patches_through_kubectl(
    process_env: dict[str, str],
    make_isvc: Callable[..., dict[str, Any]],
    custom: k8s_client.CustomObjectsApi,
    namespace: str,
) -> None:
    assert PINNED_KUBECTL is not None, "the dev extra's kubectl is not installed"
    make_isvc("set-kubectl", model=OLD)
    done = subprocess.run(
        [PINNED_KUBECTL, "canary", "set", "model", "set-kubectl", NEW, "-n", namespace],
        capture_output=True,
        text=True,
        env=process_env,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stdout) == (
        0,
        f"inferenceservice/set-kubectl: storageUri {OLD} -> {NEW}\n",
    ), done.stderr
    assert model_of(custom, namespace, "set-kubectl")["storageUri"] == NEW

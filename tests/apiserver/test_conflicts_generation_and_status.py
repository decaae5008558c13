"""Optimistic concurrency, generation and the status subresource, through the Python client."""

from __future__ import annotations

from typing import Any

import pytest
from apiserver_manifests import isvc_object
from kubernetes import client as k8s_client
from kubernetes.client import ApiException

GROUP, VERSION = "kcanary.io", "v1alpha1"
PLURAL = "inferencerollouts"


def _rollout(name: str, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "InferenceRollout",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"targetRef": {"name": name}},
        "status": {"phase": "Stable"},
    }


def test_replace_with_a_stale_resource_version_conflicts(
    kube_api_client: k8s_client.ApiClient, namespace: str
) -> None:
    custom: Any = k8s_client.CustomObjectsApi(kube_api_client)
    created = custom.create_namespaced_custom_object(
        "serving.kserve.io", "v1beta1", namespace, "inferenceservices", isvc_object("a", namespace)
    )
    fresh = dict(created)
    fresh["metadata"] = {**created["metadata"], "labels": {"first": "yes"}}
    custom.replace_namespaced_custom_object(
        "serving.kserve.io", "v1beta1", namespace, "inferenceservices", "a", fresh
    )
    stale = dict(created)
    stale["metadata"] = {**created["metadata"], "labels": {"second": "yes"}}
    with pytest.raises(ApiException) as conflict:
        custom.replace_namespaced_custom_object(
            "serving.kserve.io", "v1beta1", namespace, "inferenceservices", "a", stale
        )
    assert conflict.value.status == 409
    assert '"reason":"Conflict"' in str(conflict.value.body)


def test_create_of_an_existing_name_is_already_exists(
    kube_api_client: k8s_client.ApiClient, namespace: str
) -> None:
    core: Any = k8s_client.CoreV1Api(kube_api_client)
    body = {"metadata": {"name": "twice"}, "data": {"a": "1"}}
    core.create_namespaced_config_map(namespace, body)
    with pytest.raises(ApiException) as duplicate:
        core.create_namespaced_config_map(namespace, body)
    assert duplicate.value.status == 409
    assert '"message":"configmaps \\"twice\\" already exists"' in str(duplicate.value.body)
    assert '"reason":"AlreadyExists"' in str(duplicate.value.body)


def test_generation_counts_spec_changes_only(
    kube_api_client: k8s_client.ApiClient, namespace: str
) -> None:
    custom: Any = k8s_client.CustomObjectsApi(kube_api_client)
    args = ("serving.kserve.io", "v1beta1", namespace, "inferenceservices", "gen")
    created = custom.create_namespaced_custom_object(*args[:-1], isvc_object("gen", namespace))
    assert created["metadata"]["generation"] == 1
    labelled = custom.patch_namespaced_custom_object(*args, {"metadata": {"labels": {"x": "1"}}})
    assert labelled["metadata"]["generation"] == 1
    changed = custom.patch_namespaced_custom_object(
        *args, {"spec": {"predictor": {"minReplicas": 2}}}
    )
    assert changed["metadata"]["generation"] == 2
    same = custom.patch_namespaced_custom_object(*args, {"spec": {"predictor": {"minReplicas": 2}}})
    assert same["metadata"]["generation"] == 2
    assert same["metadata"]["resourceVersion"] == changed["metadata"]["resourceVersion"]


def test_status_is_written_only_through_the_status_subresource(
    kube_api_client: k8s_client.ApiClient, namespace: str
) -> None:
    custom: Any = k8s_client.CustomObjectsApi(kube_api_client)
    args = (GROUP, VERSION, namespace, PLURAL)
    created = custom.create_namespaced_custom_object(*args, _rollout("r", namespace))
    assert "status" not in created  # dropped on create

    ignored = custom.patch_namespaced_custom_object(*args, "r", {"status": {"phase": "Paused"}})
    assert "status" not in ignored
    assert ignored["metadata"]["generation"] == 1

    written = custom.patch_namespaced_custom_object_status(
        *args,
        "r",
        {
            "metadata": {"labels": {"dropped": "yes"}},
            "spec": {"targetRef": {"name": "other"}},
            "status": {"phase": "Progressing", "canaryWeight": 10, "notInSchema": True},
        },
    )
    assert written["status"] == {"phase": "Progressing", "canaryWeight": 10}
    assert written["spec"] == {"targetRef": {"name": "r"}}
    assert "labels" not in written["metadata"]
    assert written["metadata"]["generation"] == 1

    spec_change = custom.patch_namespaced_custom_object(
        *args, "r", {"spec": {"targetRef": {"name": "r2"}}}
    )
    assert spec_change["status"]["phase"] == "Progressing"
    assert spec_change["metadata"]["generation"] == 2


def test_scale_subresource_reads_and_writes_replicas(
    kube_api_client: k8s_client.ApiClient, namespace: str
) -> None:
    apps: Any = k8s_client.AppsV1Api(kube_api_client)
    apps.create_namespaced_deployment(
        namespace,
        {
            "metadata": {"name": "web"},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "web", "image": "nginx"}]},
                },
            },
        },
    )
    scale = apps.read_namespaced_deployment_scale("web", namespace)
    assert scale.spec.replicas == 1
    apps.patch_namespaced_deployment_scale("web", namespace, {"spec": {"replicas": 4}})
    assert apps.read_namespaced_deployment("web", namespace).spec.replicas == 4

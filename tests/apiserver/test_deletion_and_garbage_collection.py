"""Deletion: promptness, finalizers, and the garbage collector's cascades."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from apiserver_manifests import config_map, isvc, isvc_object
from kubectl_harness import Kubectl, unique_name
from kubernetes import client as k8s_client
from kubernetes.client import ApiException
from polling import wait_until

from sim.apiserver.server import APIServer

GROUP, VERSION, PLURAL = "serving.kserve.io", "v1beta1", "inferenceservices"


def _owned_config_map(
    name: str, namespace: str, owner: dict[str, Any], *, block: bool = False
) -> dict[str, Any]:
    body = config_map(name, namespace, key="value")
    body["metadata"]["ownerReferences"] = [
        {
            "apiVersion": owner["apiVersion"],
            "kind": owner["kind"],
            "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"],
            "controller": True,
            "blockOwnerDeletion": block,
        }
    ]
    return body


def _exists(core: k8s_client.CoreV1Api, name: str, namespace: str) -> bool:
    try:
        core.read_namespaced_config_map(name, namespace)
    except ApiException as error:
        if error.status == 404:
            return False
        raise
    return True


def _isvc_exists(custom: k8s_client.CustomObjectsApi, name: str, namespace: str) -> bool:
    try:
        custom.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
    except ApiException as error:
        if error.status == 404:
            return False
        raise
    return True


def test_delete_returns_promptly(kubectl: Kubectl, namespace: str) -> None:
    name = unique_name("iris")
    kubectl.run("apply", "-f", "-", input=isvc(name, namespace))
    started = time.monotonic()
    deleted = kubectl.run("delete", "isvc", name, "-n", namespace, timeout=20)
    assert time.monotonic() - started < 10
    assert f'inferenceservice.serving.kserve.io "{name}" deleted' in deleted.stdout
    assert "NotFound" in kubectl.run("get", "isvc", name, "-n", namespace, check=False).stderr


def test_delete_is_held_by_a_finalizer_until_it_is_removed(
    kube_api_client: k8s_client.ApiClient, namespace: str
) -> None:
    custom: Any = k8s_client.CustomObjectsApi(kube_api_client)
    name = unique_name("iris")
    body = isvc_object(name, namespace)
    body["metadata"]["finalizers"] = ["kcanary.io/cleanup"]
    custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, body)

    returned = custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
    assert returned["metadata"]["deletionTimestamp"]
    held = custom.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
    assert held["metadata"]["finalizers"] == ["kcanary.io/cleanup"]
    assert held["metadata"]["generation"] == 2  # setting deletionTimestamp bumps generation

    custom.patch_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, name, {"metadata": {"finalizers": None}}
    )
    assert not _isvc_exists(custom, name, namespace)


def test_dependents_outlive_the_owners_delete_call_then_go(
    api_server: APIServer, kube_api_client: k8s_client.ApiClient, namespace: str
) -> None:
    custom: Any = k8s_client.CustomObjectsApi(kube_api_client)
    core: Any = k8s_client.CoreV1Api(kube_api_client)
    name = unique_name("iris")
    owner = custom.create_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, isvc_object(name, namespace)
    )
    core.create_namespaced_config_map(namespace, _owned_config_map("dep", namespace, owner))

    # the collector acts a while after the owner's DELETE has returned (the API server itself
    # never cascades); a longer wait than usual keeps this check safe on a busy machine
    api_server.faults.gc_delay = 1.0
    try:
        custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
        assert _exists(core, "dep", namespace)
        wait_until(lambda: not _exists(core, "dep", namespace))
    finally:
        api_server.faults.gc_delay = 0.05


def test_an_owner_recreated_under_the_same_name_adopts_nothing(
    kube_api_client: k8s_client.ApiClient, namespace: str
) -> None:
    custom: Any = k8s_client.CustomObjectsApi(kube_api_client)
    core: Any = k8s_client.CoreV1Api(kube_api_client)
    name = unique_name("iris")
    first = custom.create_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, isvc_object(name, namespace)
    )
    core.create_namespaced_config_map(namespace, _owned_config_map("dep", namespace, first))
    custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
    second = custom.create_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, isvc_object(name, namespace)
    )
    assert second["metadata"]["uid"] != first["metadata"]["uid"]
    wait_until(lambda: not _exists(core, "dep", namespace))
    assert _isvc_exists(custom, name, namespace)


def test_foreground_deletion_waits_for_blocking_dependents(
    kube_api_client: k8s_client.ApiClient, namespace: str
) -> None:
    custom: Any = k8s_client.CustomObjectsApi(kube_api_client)
    core: Any = k8s_client.CoreV1Api(kube_api_client)
    name = unique_name("iris")
    owner = custom.create_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, isvc_object(name, namespace)
    )
    dependent = _owned_config_map("held", namespace, owner, block=True)
    dependent["metadata"]["finalizers"] = ["kcanary.io/hold"]
    core.create_namespaced_config_map(namespace, dependent)

    returned = custom.delete_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, name, propagation_policy="Foreground"
    )
    assert "foregroundDeletion" in returned["metadata"]["finalizers"]
    assert returned["metadata"]["deletionTimestamp"]
    wait_until(
        lambda: bool(core.read_namespaced_config_map("held", namespace).metadata.deletion_timestamp)
    )
    assert _isvc_exists(custom, name, namespace)  # still waiting for its dependent

    core.patch_namespaced_config_map("held", namespace, {"metadata": {"finalizers": None}})
    wait_until(lambda: not _isvc_exists(custom, name, namespace))


def test_orphan_deletion_keeps_dependents_without_the_reference(
    kube_api_client: k8s_client.ApiClient, namespace: str
) -> None:
    custom: Any = k8s_client.CustomObjectsApi(kube_api_client)
    core: Any = k8s_client.CoreV1Api(kube_api_client)
    name = unique_name("iris")
    owner = custom.create_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, isvc_object(name, namespace)
    )
    core.create_namespaced_config_map(namespace, _owned_config_map("kept", namespace, owner))

    custom.delete_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, name, propagation_policy="Orphan"
    )
    wait_until(lambda: not _isvc_exists(custom, name, namespace))
    kept = core.read_namespaced_config_map("kept", namespace)
    assert kept.metadata.owner_references is None


def test_kubectl_cascade_orphan_keeps_dependents(
    kubectl: Kubectl, kube_api_client: k8s_client.ApiClient, namespace: str
) -> None:
    custom: Any = k8s_client.CustomObjectsApi(kube_api_client)
    core: Any = k8s_client.CoreV1Api(kube_api_client)
    name = unique_name("iris")
    owner = custom.create_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, isvc_object(name, namespace)
    )
    core.create_namespaced_config_map(namespace, _owned_config_map("kept", namespace, owner))
    kubectl.run("delete", "isvc", name, "-n", namespace, "--cascade=orphan", timeout=20)
    assert not _isvc_exists(custom, name, namespace)
    assert core.read_namespaced_config_map("kept", namespace).metadata.owner_references is None


def test_deleting_a_namespace_deletes_its_contents(
    kube_api_client: k8s_client.ApiClient,
) -> None:
    core: Any = k8s_client.CoreV1Api(kube_api_client)
    name = unique_name("doomed")
    core.create_namespace({"metadata": {"name": name}})
    core.create_namespaced_config_map(name, config_map("inside", name))
    core.delete_namespace(name)
    with pytest.raises(ApiException) as refused:
        core.create_namespaced_config_map(name, config_map("late", name))
    assert refused.value.status in (403, 404)

    def gone() -> bool:
        try:
            core.read_namespace(name)
        except ApiException as error:
            return bool(error.status == 404)
        return False

    wait_until(gone)
    with pytest.raises(ApiException) as missing:
        core.create_namespaced_config_map(name, config_map("again", name))
    assert missing.value.status == 404
    assert json.loads(str(missing.value.body))["message"] == f'namespaces "{name}" not found'

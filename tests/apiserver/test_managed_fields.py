"""metadata.managedFields record who set which field and when, as a real server records them,
so a controller can tell who asked for something (kcanary reads who set kcanary.io/action)."""

from __future__ import annotations

import datetime
import json
from typing import Any

from apiserver_manifests import isvc
from kubectl_harness import Kubectl, unique_name

from reconcile.observe import manual_request
from sim.apiserver.managed_fields import manager_name, record_write


def _entries(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["manager"]: e for e in obj["metadata"].get("managedFields") or []}


def _get(kubectl: Kubectl, namespace: str, name: str) -> dict[str, Any]:
    shown = kubectl.run("get", "isvc", name, "-n", namespace, "-o", "json", "--show-managed-fields")
    got: dict[str, Any] = json.loads(shown.stdout)
    return got


def test_kubectl_annotate_is_recorded_as_the_manager_of_the_annotation(
    pinned_kubectl: Kubectl, namespace: str
) -> None:
    name = unique_name("iris")
    pinned_kubectl.run("create", "-f", "-", input=isvc(name, namespace))
    before = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    pinned_kubectl.run("annotate", "isvc", name, "-n", namespace, "kcanary.io/action=promote")
    obj = _get(pinned_kubectl, namespace, name)
    entries = _entries(obj)
    annotate = entries["kubectl-annotate"]
    assert annotate["operation"] == "Update"
    assert annotate["fieldsType"] == "FieldsV1"
    assert annotate["apiVersion"] == "serving.kserve.io/v1beta1"
    assert annotate["fieldsV1"] == {"f:metadata": {"f:annotations": {"f:kcanary.io/action": {}}}}
    # the creator keeps what it set and does not own the new annotation
    create = entries["kubectl-create"]
    assert "f:spec" in create["fieldsV1"]
    assert "f:kcanary.io/action" not in str(create["fieldsV1"])
    request = manual_request(obj)
    assert request is not None
    assert request.action == "promote"
    assert request.by == "kubectl-annotate"
    assert request.requested_at is not None and request.requested_at >= before


def test_a_field_changed_by_another_manager_changes_hands(
    pinned_kubectl: Kubectl, namespace: str
) -> None:
    name = unique_name("iris")
    pinned_kubectl.run("create", "-f", "-", input=isvc(name, namespace))
    pinned_kubectl.run("annotate", "isvc", name, "-n", namespace, "kcanary.io/action=pause")
    patch = json.dumps({"metadata": {"annotations": {"kcanary.io/action": "promote"}}})
    pinned_kubectl.run(
        "patch", "isvc", name, "-n", namespace, "--type", "merge", "-p", patch,
        "--field-manager", "release-bot",
    )  # fmt: skip
    entries = _entries(_get(pinned_kubectl, namespace, name))
    assert "kubectl-annotate" not in entries  # it owned nothing else
    assert entries["release-bot"]["fieldsV1"] == {
        "f:metadata": {"f:annotations": {"f:kcanary.io/action": {}}}
    }
    pinned_kubectl.run("annotate", "isvc", name, "-n", namespace, "kcanary.io/action-")
    assert "release-bot" not in _entries(_get(pinned_kubectl, namespace, name))


def test_the_manager_comes_from_the_field_manager_or_the_user_agent() -> None:
    assert manager_name("my-controller", "kubectl/v1.37.1 (linux/amd64)") == "my-controller"
    assert manager_name(None, "kubectl-annotate/v1.37.1 (linux/amd64) kubernetes/abc") == (
        "kubectl-annotate"
    )
    assert manager_name("", "OpenAPI-Generator/31.0.0/python") == "OpenAPI-Generator"


def test_a_status_write_is_recorded_apart_from_the_main_resource() -> None:
    old: dict[str, Any] = {"apiVersion": "v1", "kind": "X", "metadata": {"name": "a"}, "spec": {}}
    record_write(old, None, manager="creator", operation="Update")
    new = {**old, "status": {"phase": "Ready"}}
    record_write(new, old, manager="ctl", operation="Update", subresource="status")
    entries = new["metadata"]["managedFields"]
    assert [(e["manager"], e.get("subresource")) for e in entries] == [
        ("creator", None),
        ("ctl", "status"),
    ]
    assert entries[1]["fieldsV1"] == {"f:status": {"f:phase": {}}}


def test_a_no_op_write_leaves_managed_fields_as_they_were() -> None:
    old: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "X",
        "metadata": {"name": "a"},
        "data": {"k": "v"},
    }
    record_write(old, None, manager="creator", operation="Update")
    new = json.loads(json.dumps(old))
    record_write(new, old, manager="someone-else", operation="Update")
    assert new["metadata"]["managedFields"] == old["metadata"]["managedFields"]

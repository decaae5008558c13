"""The scale subresource: an autoscaling/v1 Scale view of an object whose replica counts live
where the kind's scale paths say (a CRD's `subresources.scale`, or a Deployment's spec).
"""

from __future__ import annotations

from typing import Any

from sim.apiserver import errors
from sim.apiserver.errors import Cause
from sim.apiserver.resources import ResourceType
from sim.apiserver.store import StoredObject

SCALE = ResourceType(
    group="autoscaling", version="v1", kind="Scale", plural="scale", singular="scale",
    namespaced=True,
)  # fmt: skip


def _path_get(obj: Any, path: str) -> Any:
    for key in path.lstrip(".").split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _path_set(obj: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.lstrip(".").split(".")
    for key in parents:
        child = obj.get(key)
        if not isinstance(child, dict):
            child = obj[key] = {}
        obj = child
    obj[leaf] = value


def scale_of(obj: dict[str, Any], rtype: ResourceType) -> dict[str, Any]:
    """The autoscaling/v1 Scale view of an object."""
    paths = rtype.scale or {}
    metadata = obj["metadata"]
    scale: dict[str, Any] = {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            key: metadata[key]
            for key in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            if key in metadata
        },
        "spec": {},
        "status": {"replicas": 0},
    }
    replicas = _path_get(obj, paths.get("specReplicasPath", ".spec.replicas"))
    if replicas is not None:
        scale["spec"]["replicas"] = replicas
    status_replicas = _path_get(obj, paths.get("statusReplicasPath", ".status.replicas"))
    scale["status"]["replicas"] = status_replicas or 0
    selector_path = paths.get("labelSelectorPath")
    if selector_path:
        selector = _path_get(obj, selector_path)
        if selector is not None:
            scale["status"]["selector"] = selector
    return scale


def with_scale(
    obj: dict[str, Any], rtype: ResourceType, scale: dict[str, Any], stored: StoredObject
) -> dict[str, Any]:
    paths = rtype.scale or {}
    replicas = (scale.get("spec") or {}).get("replicas")
    if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
        raise errors.invalid(
            SCALE,
            stored.name,
            [
                Cause(
                    "FieldValueInvalid",
                    "Invalid value: must be greater than or equal to 0",
                    "spec.replicas",
                )
            ],
        )
    _path_set(obj, paths.get("specReplicasPath", ".spec.replicas"), replicas)
    sent_rv = (scale.get("metadata") or {}).get("resourceVersion")
    if sent_rv:
        obj["metadata"]["resourceVersion"] = sent_rv
    return obj

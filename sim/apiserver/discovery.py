"""API discovery documents, legacy and aggregated, built from the registry on each request.

Legacy discovery is `/api` (APIVersions), `/apis` (APIGroupList) and one APIResourceList per
group version; aggregated discovery (what kubectl 1.37 asks for first) is one
APIGroupDiscoveryList for `/api` and one for `/apis`. Both always reflect the CRDs served now.
"""

from __future__ import annotations

from typing import Any

from sim.apiserver.registry import TypeRegistry
from sim.apiserver.resources import ResourceType

AGGREGATED_CONTENT_TYPE = (
    "application/json;g=apidiscovery.k8s.io;v={version};as=APIGroupDiscoveryList"
)

_STATUS_VERBS = ["get", "patch", "update"]


def api_versions(server_address: str) -> dict[str, Any]:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}
        ],
    }


def api_group_list(registry: TypeRegistry) -> dict[str, Any]:
    groups = []
    for group in registry.groups():
        if not group.group:
            continue
        versions = [
            {"groupVersion": f"{group.group}/{version}", "version": version}
            for version in group.versions
        ]
        groups.append({"name": group.group, "versions": versions, "preferredVersion": versions[0]})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(registry: TypeRegistry, name: str) -> dict[str, Any] | None:
    for group in registry.groups():
        if group.group == name and name:
            versions = [
                {"groupVersion": f"{name}/{version}", "version": version}
                for version in group.versions
            ]
            return {
                "kind": "APIGroup",
                "apiVersion": "v1",
                "name": name,
                "versions": versions,
                "preferredVersion": versions[0],
            }
    return None


def api_resource_list(registry: TypeRegistry, group: str, version: str) -> dict[str, Any] | None:
    types = registry.types_in(group, version)
    if not types:
        return None
    resources: list[dict[str, Any]] = []
    for rtype in types:
        entry: dict[str, Any] = {
            "name": rtype.plural,
            "singularName": rtype.singular,
            "namespaced": rtype.namespaced,
            "kind": rtype.kind,
            "verbs": list(rtype.verbs),
        }
        if rtype.short_names:
            entry["shortNames"] = list(rtype.short_names)
        if rtype.categories:
            entry["categories"] = list(rtype.categories)
        entry["storageVersionHash"] = _storage_hash(rtype)
        resources.append(entry)
        if rtype.has_status:
            resources.append(
                {
                    "name": f"{rtype.plural}/status",
                    "singularName": "",
                    "namespaced": rtype.namespaced,
                    "kind": rtype.kind,
                    "verbs": _STATUS_VERBS,
                }
            )
        if rtype.scale is not None:
            resources.append(
                {
                    "name": f"{rtype.plural}/scale",
                    "singularName": "",
                    "namespaced": rtype.namespaced,
                    "group": "autoscaling",
                    "version": "v1",
                    "kind": "Scale",
                    "verbs": _STATUS_VERBS,
                }
            )
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{group}/{version}" if group else version,
        "resources": resources,
    }


def _storage_hash(rtype: ResourceType) -> str:
    import base64
    import hashlib

    digest = hashlib.sha256(f"{rtype.group}/{rtype.version}/{rtype.kind}".encode()).digest()
    return base64.b64encode(digest[:8]).decode()


def aggregated(registry: TypeRegistry, *, legacy: bool, version: str = "v2") -> dict[str, Any]:
    """The APIGroupDiscoveryList for `/api` (legacy=True) or `/apis`."""
    items = []
    for group in registry.groups():
        if (group.group == "") != legacy:
            continue
        versions = []
        for gv in group.versions:
            resources = [_aggregated_resource(t) for t in registry.types_in(group.group, gv)]
            versions.append({"version": gv, "resources": resources, "freshness": "Current"})
        items.append({"metadata": {"name": group.group, "creationTimestamp": None},
                      "versions": versions})  # fmt: skip
    return {
        "kind": "APIGroupDiscoveryList",
        "apiVersion": f"apidiscovery.k8s.io/{version}",
        "metadata": {},
        "items": items,
    }


def _aggregated_resource(rtype: ResourceType) -> dict[str, Any]:
    kind = {"group": rtype.group, "version": rtype.version, "kind": rtype.kind}
    entry: dict[str, Any] = {
        "resource": rtype.plural,
        "responseKind": kind,
        "scope": "Namespaced" if rtype.namespaced else "Cluster",
        "singularResource": rtype.singular,
        "verbs": list(rtype.verbs),
    }
    if rtype.short_names:
        entry["shortNames"] = list(rtype.short_names)
    if rtype.categories:
        entry["categories"] = list(rtype.categories)
    subresources = []
    if rtype.has_status:
        subresources.append({"subresource": "status", "responseKind": kind,
                             "verbs": _STATUS_VERBS})  # fmt: skip
    if rtype.scale is not None:
        subresources.append(
            {
                "subresource": "scale",
                "responseKind": {"group": "autoscaling", "version": "v1", "kind": "Scale"},
                "verbs": _STATUS_VERBS,
            }
        )
    if subresources:
        entry["subresources"] = subresources
    return entry

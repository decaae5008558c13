"""OpenAPI v3 documents: the structure kubectl apply and explain rely on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from sim.apiserver.builtin_kinds import BUILTIN_TYPES
from sim.apiserver.crd import resource_types_from_crd
from sim.apiserver.openapi import (
    openapi_v3_group_version,
    openapi_v3_index,
    supports_strategic_merge,
)
from sim.apiserver.resources import ResourceType

ROOT = Path(__file__).resolve().parents[2]


def _isvc() -> ResourceType:
    crd = yaml.safe_load((ROOT / "sim/crds/serving.kserve.io_inferenceservices.yaml").read_text())
    (isvc,) = resource_types_from_crd(crd)
    return isvc


TYPES = [*BUILTIN_TYPES, _isvc()]


def test_index_lists_every_group_version_with_a_content_hash() -> None:
    index = openapi_v3_index(TYPES)
    paths = index["paths"]
    assert "api/v1" in paths and "apis/apps/v1" in paths
    assert "apis/serving.kserve.io/v1beta1" in paths
    url = paths["apis/apps/v1"]["serverRelativeURL"]
    assert url.startswith("/openapi/v3/apis/apps/v1?hash=")
    assert openapi_v3_index(TYPES) == index  # stable


def test_hash_changes_when_a_group_version_changes() -> None:
    before = openapi_v3_index(TYPES)["paths"]
    after = openapi_v3_index(TYPES[:-1])["paths"]
    assert "apis/serving.kserve.io/v1beta1" not in after
    assert before["apis/apps/v1"] == after["apis/apps/v1"]


def _patch_operation(document: dict[str, Any], path: str) -> dict[str, Any]:
    operation: dict[str, Any] = document["paths"][path]["patch"]
    return operation


def test_custom_resource_document_has_named_schemas_and_patch_operations() -> None:
    document = openapi_v3_group_version("apis/serving.kserve.io/v1beta1", TYPES)
    assert document is not None
    schemas = document["components"]["schemas"]
    kind = schemas["io.kserve.serving.v1beta1.InferenceService"]
    assert kind["x-kubernetes-group-version-kind"] == [
        {"group": "serving.kserve.io", "kind": "InferenceService", "version": "v1beta1"}
    ]
    assert kind["properties"]["metadata"]["allOf"] == [
        {"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}
    ]
    assert "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta" in schemas
    assert "io.kserve.serving.v1beta1.InferenceServiceList" in schemas
    named = "/apis/serving.kserve.io/v1beta1/namespaces/{namespace}/inferenceservices/{name}"
    patch = _patch_operation(document, named)
    assert patch["x-kubernetes-action"] == "patch"
    assert patch["x-kubernetes-group-version-kind"] == {
        "group": "serving.kserve.io",
        "kind": "InferenceService",
        "version": "v1beta1",
    }
    assert {"fieldValidation", "dryRun", "fieldManager"} <= {p["name"] for p in patch["parameters"]}
    assert "application/strategic-merge-patch+json" not in patch["requestBody"]["content"]
    assert "application/merge-patch+json" in patch["requestBody"]["content"]
    assert f"{named}/status" in document["paths"]
    assert "/apis/serving.kserve.io/v1beta1/inferenceservices" in document["paths"]


def test_builtin_kinds_use_the_real_schema_names_and_patch_extensions() -> None:
    document = openapi_v3_group_version("apps/v1", TYPES)
    assert document is not None
    schemas = document["components"]["schemas"]
    deployment = schemas["io.k8s.api.apps.v1.Deployment"]
    containers = deployment["properties"]["spec"]["properties"]["template"]["properties"]["spec"][
        "properties"
    ]["containers"]
    assert containers["x-kubernetes-patch-merge-key"] == "name"
    assert containers["x-kubernetes-patch-strategy"] == "merge"
    meta = schemas["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"]
    assert meta["properties"]["ownerReferences"]["x-kubernetes-patch-merge-key"] == "uid"
    core = openapi_v3_group_version("v1", TYPES)
    assert core is not None
    assert "io.k8s.api.core.v1.ConfigMap" in core["components"]["schemas"]
    assert "/api/v1/namespaces/{name}" in core["paths"]
    assert "/api/v1/namespaces/{namespace}/configmaps/{name}" in core["paths"]


def test_strategic_merge_is_offered_only_where_the_schema_is_complete() -> None:
    by_plural = {(t.group, t.plural): t for t in BUILTIN_TYPES}
    assert supports_strategic_merge(by_plural[("", "configmaps")])
    assert supports_strategic_merge(by_plural[("coordination.k8s.io", "leases")])
    assert supports_strategic_merge(by_plural[("", "events")])
    assert not supports_strategic_merge(by_plural[("apps", "deployments")])
    assert not supports_strategic_merge(_isvc())
    core = openapi_v3_group_version("v1", TYPES)
    assert core is not None
    patch = _patch_operation(core, "/api/v1/namespaces/{namespace}/configmaps/{name}")
    assert "application/strategic-merge-patch+json" in patch["requestBody"]["content"]


def test_unknown_group_version_has_no_document() -> None:
    assert openapi_v3_group_version("nothing.io/v1", TYPES) is None

"""OpenAPI v3 documents, as `/openapi/v3` and `/openapi/v3/<group-version>` serve them.

kubectl reads these for three things. `apply` checks that the PATCH operation of the kind
(found by its `x-kubernetes-group-version-kind`) takes a `fieldValidation` query parameter
before it asks for server-side strict validation; it picks strategic merge for a kind only when
that PATCH operation accepts `application/strategic-merge-patch+json` (never for custom
resources), and then computes the patch from the kind's schema in `components.schemas`, using
`x-kubernetes-patch-merge-key` / `x-kubernetes-patch-strategy`; and `explain` walks the schemas.

kubectl fails to compute a patch when a map or list it must diff is missing from the schema's
`properties`. So strategic merge is advertised only for built-in kinds whose schema is complete
where manifests go (no preserve-unknown-fields node outside `status`); for the others (a
Deployment's pod template is kept loose here) kubectl falls back to the patch metadata compiled
into it, which is the real one, and still sends a strategic merge patch.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

from sim.apiserver import meta_schemas
from sim.apiserver.resources import ResourceType

META = "io.k8s.apimachinery.pkg.apis.meta.v1"
_REF = "#/components/schemas/"

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"


def schema_name(rtype: ResourceType, kind: str | None = None) -> str:
    """The component name of a kind: `io.k8s.api.apps.v1.Deployment`,
    `io.kserve.serving.v1beta1.InferenceService`."""
    kind = kind or rtype.kind
    if not rtype.builtin:
        return ".".join(reversed(rtype.group.split("."))) + f".{rtype.version}.{kind}"
    if rtype.group == "apiextensions.k8s.io":
        package = "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions"
    else:
        package = "io.k8s.api." + (rtype.group.split(".")[0] if rtype.group else "core")
    return f"{package}.{rtype.version}.{kind}"


def _ref(name: str, description: str = "") -> dict[str, Any]:
    node: dict[str, Any] = {"allOf": [{"$ref": _REF + name}], "default": {}}
    if description:
        node["description"] = description
    return node


def _publish(node: Any) -> Any:
    """A schema as published: ObjectMeta is referenced, not repeated."""
    if isinstance(node, dict):
        return {
            key: _ref(f"{META}.ObjectMeta", "Standard object's metadata.")
            if key == "metadata" and isinstance(value, dict) and _is_object_meta(value)
            else _publish(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_publish(item) for item in node]
    return node


def _is_object_meta(node: dict[str, Any]) -> bool:
    if node is meta_schemas.OBJECT_META:
        return True
    # A CRD may only say `type: object` (and constrain name/generateName) for its metadata.
    plain = set(node) <= {"type", "description", "properties"}
    return plain and set(node.get("properties", {})) <= {"name", "generateName"}


def _kind_schema(rtype: ResourceType) -> dict[str, Any]:
    base = rtype.schema or {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    published = dict(_publish(base))
    properties = dict(published.get("properties", {}))
    properties.setdefault("apiVersion", {"type": "string"})
    properties.setdefault("kind", {"type": "string"})
    properties["metadata"] = _ref(f"{META}.ObjectMeta", "Standard object's metadata.")
    published["properties"] = properties
    published["x-kubernetes-group-version-kind"] = [
        {"group": rtype.group, "kind": rtype.kind, "version": rtype.version}
    ]
    return published


def _list_schema(rtype: ResourceType) -> dict[str, Any]:
    list_kind = rtype.list_kind or f"{rtype.kind}List"
    return {
        "description": f"{list_kind} is a list of {rtype.kind}",
        "type": "object",
        "required": ["items"],
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "items": {"type": "array", "items": {"$ref": _REF + schema_name(rtype)}},
            "metadata": _ref(f"{META}.ListMeta"),
        },
        "x-kubernetes-group-version-kind": [
            {"group": rtype.group, "kind": list_kind, "version": rtype.version}
        ],
    }


def _meta_schemas() -> dict[str, Any]:
    return {
        f"{META}.ObjectMeta": dict(meta_schemas.OBJECT_META),
        f"{META}.ListMeta": {
            "type": "object",
            "properties": {
                "continue": {"type": "string"},
                "remainingItemCount": {"type": "integer", "format": "int64"},
                "resourceVersion": {"type": "string"},
                "selfLink": {"type": "string"},
            },
        },
        f"{META}.Status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
        f"{META}.Patch": {"type": "object", "description": "A patch body."},
        f"{META}.DeleteOptions": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
    }


def supports_strategic_merge(rtype: ResourceType) -> bool:
    """Whether the OpenAPI document offers strategic merge for this kind (see module doc)."""
    if not rtype.builtin:
        return False
    properties = (rtype.schema or {}).get("properties", {})
    return not any(_has_loose_node(v) for k, v in properties.items() if k != "status")


def _has_loose_node(node: Any) -> bool:
    if not isinstance(node, dict):
        return False
    if node.get("x-kubernetes-preserve-unknown-fields"):
        return True
    children = list(node.get("properties", {}).values())
    children += [
        node[k] for k in ("items", "additionalProperties") if isinstance(node.get(k), dict)
    ]
    return any(_has_loose_node(child) for child in children if child is not _MANAGED_FIELDS)


_MANAGED_FIELDS = meta_schemas.OBJECT_META["properties"]["managedFields"]


def _query(name: str, description: str, kind: str = "string") -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "description": description,
        "schema": {"type": kind, "uniqueItems": True},
    }


_DRY_RUN = _query("dryRun", "When present, modifications are not persisted.")
_FIELD_MANAGER = _query("fieldManager", "The name of the actor or entity making the changes.")
_FIELD_VALIDATION = _query(
    "fieldValidation",
    "How the server treats unknown or duplicate fields in the request: Ignore, Warn (the "
    "default) or Strict.",
)
_LIST_PARAMS = [
    _query("labelSelector", "A selector to restrict the list of returned objects by labels."),
    _query("fieldSelector", "A selector to restrict the list of returned objects by fields."),
    _query("limit", "Maximum number of responses to return for a list call.", "integer"),
    _query("continue", "The continue token of a previous paged list."),
    _query("resourceVersion", "Which resource versions a request may be served from."),
    _query("watch", "Watch for changes to the described resources.", "boolean"),
    _query("allowWatchBookmarks", "Ask for BOOKMARK watch events.", "boolean"),
    _query("sendInitialEvents", "Send the current state as synthetic events first.", "boolean"),
    _query("timeoutSeconds", "Timeout for the list/watch call.", "integer"),
]


def _operation(
    rtype: ResourceType, action: str, verb: str, body: str | None, *, scope: str, suffix: str = ""
) -> dict[str, Any]:
    group_word = "".join(p.capitalize() for p in (rtype.group or "core").split(".") if p)
    operation_id = f"{verb}{group_word}{rtype.version.capitalize()}{scope}{rtype.kind}{suffix}"
    target = (
        schema_name(rtype, rtype.list_kind or f"{rtype.kind}List")
        if action == "list"
        else (schema_name(rtype))
    )
    operation: dict[str, Any] = {
        "tags": [f"{group_word}_{rtype.version}"],
        "description": f"{verb} {rtype.kind}",
        "operationId": operation_id,
        "responses": {
            "200": {
                "description": "OK",
                "content": {"application/json": {"schema": {"$ref": _REF + target}}},
            },
            "401": {"description": "Unauthorized"},
        },
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": {
            "group": rtype.group,
            "kind": rtype.kind,
            "version": rtype.version,
        },
    }
    if action == "list":
        operation["parameters"] = list(_LIST_PARAMS)
    if body is not None:
        operation["parameters"] = [_DRY_RUN, _FIELD_MANAGER, _FIELD_VALIDATION]
        types = [body] if body != "patch" else _patch_types(rtype)
        schema = {"$ref": _REF + (f"{META}.Patch" if body == "patch" else schema_name(rtype))}
        operation["requestBody"] = {
            "content": {media: {"schema": schema} for media in types},
            "required": True,
        }
        if body == "patch":
            operation["parameters"].append(
                _query("force", "Force apply requests to take conflicting fields.", "boolean")
            )
    return operation


def _patch_types(rtype: ResourceType) -> list[str]:
    types = [JSON_PATCH, MERGE_PATCH]
    if supports_strategic_merge(rtype):
        types.append(STRATEGIC_MERGE_PATCH)
    return [*types, APPLY_PATCH]


def _path_parameters(namespaced: bool, named: bool) -> list[dict[str, Any]]:
    parameters = []
    if named:
        parameters.append(
            {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
        )
    if namespaced:
        parameters.append(
            {"name": "namespace", "in": "path", "required": True, "schema": {"type": "string"}}
        )
    parameters.append(_query("pretty", "If 'true', then the output is pretty printed."))
    return parameters


def _resource_paths(rtype: ResourceType) -> dict[str, Any]:
    root = f"/api/{rtype.version}" if not rtype.group else f"/apis/{rtype.group_version}"
    base = (
        f"{root}/namespaces/{{namespace}}/{rtype.plural}"
        if rtype.namespaced
        else (f"{root}/{rtype.plural}")
    )
    scope = "Namespaced" if rtype.namespaced else ""
    paths: dict[str, Any] = {}
    collection: dict[str, Any] = {
        "get": _operation(rtype, "list", "list", None, scope=scope),
        "post": _operation(rtype, "post", "create", "application/json", scope=scope),
        "parameters": _path_parameters(rtype.namespaced, named=False),
    }
    if "deletecollection" in rtype.verbs:
        collection["delete"] = _operation(
            rtype, "deletecollection", "deletecollection", None, scope=scope
        )
    paths[base] = collection
    paths[f"{base}/{{name}}"] = {
        "get": _operation(rtype, "get", "read", None, scope=scope),
        "put": _operation(rtype, "put", "replace", "application/json", scope=scope),
        "patch": _operation(rtype, "patch", "patch", "patch", scope=scope),
        "delete": _operation(rtype, "delete", "delete", None, scope=scope),
        "parameters": _path_parameters(rtype.namespaced, named=True),
    }
    if rtype.has_status:
        paths[f"{base}/{{name}}/status"] = {
            "get": _operation(rtype, "get", "read", None, scope=scope, suffix="Status"),
            "put": _operation(rtype, "put", "replace", "application/json", scope=scope,
                              suffix="Status"),
            "patch": _operation(rtype, "patch", "patch", "patch", scope=scope, suffix="Status"),
            "parameters": _path_parameters(rtype.namespaced, named=True),
        }  # fmt: skip
    if rtype.namespaced:
        paths[f"{root}/{rtype.plural}"] = {
            "get": _operation(rtype, "list", "list", None, scope="", suffix="ForAllNamespaces"),
            "parameters": _path_parameters(False, named=False),
        }
    return paths


def _group_version_path(rtype: ResourceType) -> str:
    return f"api/{rtype.version}" if not rtype.group else f"apis/{rtype.group_version}"


def openapi_v3_group_version(
    group_version: str, types: Iterable[ResourceType]
) -> dict[str, Any] | None:
    """The document for one group/version (`v1`, `apps/v1`, or as the index spells it,
    `api/v1`, `apis/apps/v1`), or None when nothing serves it."""
    for prefix in ("apis/", "api/"):
        if group_version.startswith(prefix):
            group_version = group_version[len(prefix) :]
            break
    served = sorted((t for t in types if t.group_version == group_version), key=lambda t: t.plural)
    if not served:
        return None
    schemas = _meta_schemas()
    paths: dict[str, Any] = {}
    for rtype in served:
        schemas[schema_name(rtype)] = _kind_schema(rtype)
        schemas[schema_name(rtype, rtype.list_kind or f"{rtype.kind}List")] = _list_schema(rtype)
        paths.update(_resource_paths(rtype))
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.32.0"},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "BearerToken": {
                    "type": "apiKey",
                    "description": "Bearer Token authentication",
                    "name": "authorization",
                    "in": "header",
                }
            },
        },
    }


def document_hash(document: dict[str, Any]) -> str:
    """The content hash the index puts in each URL, so clients cache until a document changes."""
    text = json.dumps(document, sort_keys=True, separators=(",", ":"))
    return hashlib.sha512(text.encode()).hexdigest().upper()


def openapi_v3_index(types: Iterable[ResourceType]) -> dict[str, Any]:
    """`/openapi/v3`: one entry per served group/version, each URL carrying its content hash."""
    all_types = list(types)
    paths: dict[str, Any] = {}
    for group_version in sorted({t.group_version for t in all_types}):
        document = openapi_v3_group_version(group_version, all_types)
        assert document is not None
        sample = next(t for t in all_types if t.group_version == group_version)
        key = _group_version_path(sample)
        paths[key] = {"serverRelativeURL": f"/openapi/v3/{key}?hash={document_hash(document)}"}
    return {"paths": paths}

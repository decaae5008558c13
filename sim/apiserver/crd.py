"""CustomResourceDefinitions: checking them, and turning them into served resource types.

A real API server serves a custom resource entirely from its CRD object: routing, discovery,
validation, pruning, OpenAPI, printer columns and subresources. `resource_types_from_crd`
gives one `ResourceType` per served version so the rest of the server treats custom and built-in
kinds alike. `validate_crd` refuses the CRDs a real server refuses, with its messages, chiefly
the structural-schema rules that pruning depends on.
"""

from __future__ import annotations

import re
from typing import Any

from sim.apiserver import jsonpath
from sim.apiserver.objectmeta import DNS1035_MESSAGE
from sim.apiserver.resources import PrinterColumn, ResourceType
from sim.apiserver.schema import FieldCause, render_value

COLUMN_TYPES = ("integer", "number", "string", "boolean", "date")
_SCHEMA_TYPES = ("array", "boolean", "integer", "number", "object", "string")
_DNS1035 = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_KIND = re.compile(r"[A-Za-z]([-A-Za-z0-9]*[A-Za-z0-9])?")


def resource_types_from_crd(crd: dict[str, Any]) -> list[ResourceType]:
    """One ResourceType per served version of a (valid) CRD, in the CRD's version order."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    kind = names.get("kind", "")
    types = []
    for version in spec.get("versions") or []:
        if not version.get("served", False):
            continue
        schema = (version.get("schema") or {}).get("openAPIV3Schema")
        subresources = version.get("subresources") or {}
        scale = subresources.get("scale")
        types.append(
            ResourceType(
                group=spec.get("group", ""),
                version=version.get("name", ""),
                kind=kind,
                plural=names.get("plural", ""),
                singular=names.get("singular") or kind.lower(),
                namespaced=spec.get("scope") == "Namespaced",
                list_kind=names.get("listKind") or f"{kind}List",
                short_names=tuple(names.get("shortNames") or ()),
                categories=tuple(names.get("categories") or ()),
                schema=schema,
                preserve_unknown_fields=bool(
                    spec.get("preserveUnknownFields")
                    or (schema or {}).get("x-kubernetes-preserve-unknown-fields")
                ),
                has_status="status" in subresources,
                scale=dict(scale) if isinstance(scale, dict) else None,
                printer_columns=tuple(
                    _printer_column(c) for c in version.get("additionalPrinterColumns") or ()
                ),
                builtin=False,
                storage=bool(version.get("storage", False)),
                extra={
                    "crd": (crd.get("metadata") or {}).get("name", ""),
                    "deprecated": bool(version.get("deprecated", False)),
                    "deprecationWarning": version.get("deprecationWarning"),
                },
            )
        )
    return types


def _printer_column(column: dict[str, Any]) -> PrinterColumn:
    return PrinterColumn(
        name=column.get("name", ""),
        type=column.get("type", "string"),
        json_path=column.get("jsonPath", ""),
        description=column.get("description", ""),
        priority=int(column.get("priority", 0)),
        format=column.get("format", ""),
    )


def _required(field: str, detail: str = "") -> FieldCause:
    message = f"Required value: {detail}" if detail else "Required value"
    return FieldCause("FieldValueRequired", message, field)


def _invalid(field: str, value: Any, detail: str) -> FieldCause:
    return FieldCause("FieldValueInvalid", f"Invalid value: {render_value(value)}: {detail}", field)


def _unsupported(field: str, value: Any, supported: tuple[str, ...]) -> FieldCause:
    choices = ", ".join(f'"{s}"' for s in supported)
    return FieldCause(
        "FieldValueNotSupported",
        f"Unsupported value: {render_value(value)}: supported values: {choices}",
        field,
    )


def _forbidden(field: str, detail: str) -> FieldCause:
    return FieldCause("FieldValueForbidden", f"Forbidden: {detail}", field)


def validate_crd(crd: dict[str, Any]) -> list[FieldCause]:
    """What a real server would refuse in this apiextensions.k8s.io/v1 CRD."""
    spec = crd.get("spec")
    if not isinstance(spec, dict):
        return [_required("spec")]
    causes: list[FieldCause] = []
    group = spec.get("group") or ""
    names: dict[str, Any] = spec["names"] if isinstance(spec.get("names"), dict) else {}
    plural = names.get("plural") or ""
    name = (crd.get("metadata") or {}).get("name") or ""
    if name != f"{plural}.{group}":
        causes.append(_invalid("metadata.name", name, 'must be spec.names.plural+"."+spec.group'))
    if not group:
        causes.append(_required("spec.group"))
    elif "." not in group:
        causes.append(_invalid("spec.group", group, "should be a domain with at least one dot"))
    if spec.get("scope") not in ("Cluster", "Namespaced"):
        causes.append(_unsupported("spec.scope", spec.get("scope"), ("Cluster", "Namespaced")))
    causes += _validate_names(names)
    causes += _validate_versions(spec.get("versions"))
    return causes


def _validate_names(names: dict[str, Any]) -> list[FieldCause]:
    causes = []
    for key in ("plural", "singular"):
        value = names.get(key) or ""
        if not value and key == "plural":
            causes.append(_required(f"spec.names.{key}"))
        elif value and not _DNS1035.fullmatch(value):
            causes.append(_invalid(f"spec.names.{key}", value, DNS1035_MESSAGE))
    kind = names.get("kind") or ""
    if not kind:
        causes.append(_required("spec.names.kind"))
    elif not _KIND.fullmatch(kind):
        causes.append(
            _invalid(
                "spec.names.kind",
                kind,
                "may have mixed case, but should otherwise match: [a-z]([-a-z0-9]*[a-z0-9])?",
            )
        )
    for index, short in enumerate(names.get("shortNames") or ()):
        if not isinstance(short, str) or not _DNS1035.fullmatch(short):
            causes.append(_invalid(f"spec.names.shortNames[{index}]", short, DNS1035_MESSAGE))
    return causes


def _validate_versions(versions: Any) -> list[FieldCause]:
    if not isinstance(versions, list) or not versions:
        return [_required("spec.versions", "must have exactly one version marked as storage")]
    causes = []
    seen: set[str] = set()
    storage = [v for v in versions if isinstance(v, dict) and v.get("storage")]
    if len(storage) != 1:
        causes.append(
            _invalid(
                "spec.versions",
                [v.get("name") for v in versions if isinstance(v, dict)],
                "must have exactly one version marked as storage version",
            )
        )
    for index, version in enumerate(versions):
        path = f"spec.versions[{index}]"
        if not isinstance(version, dict):
            causes.append(_invalid(path, version, "must be an object"))
            continue
        name = version.get("name") or ""
        if not name:
            causes.append(_required(f"{path}.name"))
        elif not _DNS1035.fullmatch(name):
            causes.append(_invalid(f"{path}.name", name, DNS1035_MESSAGE))
        elif name in seen:
            causes.append(FieldCause("FieldValueDuplicate", f'Duplicate value: "{name}"', path))
        seen.add(name)
        schema = (version.get("schema") or {}).get("openAPIV3Schema")
        schema_path = f"{path}.schema.openAPIV3Schema"
        if not isinstance(schema, dict):
            causes.append(_required(schema_path, "schemas are required"))
        else:
            causes += structural_problems(schema, schema_path)
        causes += _validate_columns(version.get("additionalPrinterColumns"), path)
        causes += _validate_subresources(version.get("subresources"), path)
    return causes


def _validate_columns(columns: Any, path: str) -> list[FieldCause]:
    causes = []
    for index, column in enumerate(columns or ()):
        column_path = f"{path}.additionalPrinterColumns[{index}]"
        if not column.get("name"):
            causes.append(_required(f"{column_path}.name"))
        if column.get("type") not in COLUMN_TYPES:
            causes.append(_unsupported(f"{column_path}.type", column.get("type"), COLUMN_TYPES))
        json_path = column.get("jsonPath") or ""
        if not json_path:
            causes.append(_required(f"{column_path}.jsonPath"))
            continue
        try:
            jsonpath.parse(json_path)
        except jsonpath.JSONPathError:
            causes.append(
                _invalid(f"{column_path}.jsonPath", json_path, "must be a simple json path")
            )
    return causes


def _validate_subresources(subresources: Any, path: str) -> list[FieldCause]:
    scale = (subresources or {}).get("scale")
    if not isinstance(scale, dict):
        return []
    causes = []
    prefixes = {"specReplicasPath": ".spec.", "statusReplicasPath": ".status."}
    for key, prefix in prefixes.items():
        value = scale.get(key) or ""
        field = f"{path}.subresources.scale.{key}"
        if not value:
            causes.append(_required(field))
        elif not value.startswith(prefix):
            causes.append(_invalid(field, value, f"should be a json path under {prefix[:-1]}"))
    return causes


def structural_problems(schema: dict[str, Any], path: str) -> list[FieldCause]:
    """Violations of the structural-schema rules that apiextensions enforces for v1 CRDs."""
    causes: list[FieldCause] = []
    root_type = schema.get("type")
    if root_type != "object" and not schema.get("x-kubernetes-preserve-unknown-fields"):
        causes.append(_unsupported(f"{path}.type", root_type or "", ("object",)))
    metadata = (schema.get("properties") or {}).get("metadata")
    if isinstance(metadata, dict):
        extra = set(metadata) - {"type", "properties", "description"}
        declared = set((metadata.get("properties") or {}).keys()) - {"name", "generateName"}
        if extra or declared:
            causes.append(
                _forbidden(
                    f"{path}.properties[metadata]",
                    "must not specify anything other than name and generateName, but metadata "
                    "is implicitly specified",
                )
            )
    _check_node(schema, path, causes, in_items=False)
    return causes


def _check_node(node: Any, path: str, causes: list[FieldCause], *, in_items: bool) -> None:
    if not isinstance(node, dict):
        causes.append(_invalid(path, node, "must be a schema object"))
        return
    node_type = node.get("type")
    loose = node.get("x-kubernetes-preserve-unknown-fields") or node.get(
        "x-kubernetes-int-or-string"
    )
    if not node_type and not loose:
        where = "array items" if in_items else "object fields"
        causes.append(_required(f"{path}.type", f"must not be empty for specified {where}"))
    elif node_type and node_type not in _SCHEMA_TYPES:
        causes.append(_unsupported(f"{path}.type", node_type, _SCHEMA_TYPES))
    if node.get("x-kubernetes-int-or-string") and node_type:
        causes.append(
            _forbidden(f"{path}.type", "must be empty if x-kubernetes-int-or-string is true")
        )
    properties = node.get("properties")
    extra = node.get("additionalProperties")
    if properties and extra not in (None, False):
        causes.append(
            _forbidden(
                f"{path}.additionalProperties",
                "additionalProperties and properties are mutual exclusive",
            )
        )
    for key, child in (properties or {}).items():
        _check_node(child, f"{path}.properties[{key}]", causes, in_items=False)
    if isinstance(extra, dict):
        _check_node(extra, f"{path}.additionalProperties", causes, in_items=False)
    if node_type == "array":
        items = node.get("items")
        if items is None:
            causes.append(_required(f"{path}.items", "must be specified"))
        else:
            _check_node(items, f"{path}.items", causes, in_items=True)
    for keyword in ("anyOf", "oneOf", "allOf"):
        for index, branch in enumerate(node.get(keyword) or ()):
            if isinstance(branch, dict) and ("type" in branch or "default" in branch):
                causes.append(
                    _forbidden(
                        f"{path}.{keyword}[{index}].type",
                        "must be empty to be structural",
                    )
                )

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
from sim.apiserver.builtin_schemas import CUSTOM_RESOURCE_DEFINITION
from sim.apiserver.objectmeta import DNS1035_MESSAGE
from sim.apiserver.resources import PrinterColumn, ResourceType
from sim.apiserver.schema import FieldCause, validate
from sim.apiserver.structural import invalid, required, structural_problems, unsupported

COLUMN_TYPES = ("integer", "number", "string", "boolean", "date")
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
                # `selectableFields` (GA in 1.32) add field selectors beyond name and namespace
                field_selectors=(
                    "metadata.name",
                    "metadata.namespace",
                    *(
                        str(f.get("jsonPath", "")).lstrip(".")
                        for f in version.get("selectableFields") or ()
                        if isinstance(f, dict) and f.get("jsonPath")
                    ),
                ),
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


def validate_crd(crd: dict[str, Any]) -> list[FieldCause]:
    """What a real server would refuse in this apiextensions.k8s.io/v1 CRD."""
    spec = crd.get("spec")
    if not isinstance(spec, dict):
        return [required("spec")]
    # Fields of the wrong JSON type are refused first (the real server fails to decode them),
    # so the checks below can rely on the shape.
    wrong_types = [
        cause
        for cause in validate(crd, CUSTOM_RESOURCE_DEFINITION)
        if cause.reason == "FieldValueTypeInvalid"
    ]
    if wrong_types:
        return wrong_types
    causes: list[FieldCause] = []
    group = spec.get("group") or ""
    names: dict[str, Any] = spec["names"] if isinstance(spec.get("names"), dict) else {}
    plural = names.get("plural") or ""
    name = (crd.get("metadata") or {}).get("name") or ""
    if name != f"{plural}.{group}":
        causes.append(invalid("metadata.name", name, 'must be spec.names.plural+"."+spec.group'))
    if not group:
        causes.append(required("spec.group"))
    elif "." not in group:
        causes.append(invalid("spec.group", group, "should be a domain with at least one dot"))
    if spec.get("scope") not in ("Cluster", "Namespaced"):
        causes.append(unsupported("spec.scope", spec.get("scope"), ("Cluster", "Namespaced")))
    causes += _validate_names(names)
    causes += _validate_versions(spec.get("versions"))
    return causes


def _validate_names(names: dict[str, Any]) -> list[FieldCause]:
    causes = []
    for key in ("plural", "singular"):
        value = names.get(key) or ""
        if not value and key == "plural":
            causes.append(required(f"spec.names.{key}"))
        elif value and not _DNS1035.fullmatch(value):
            causes.append(invalid(f"spec.names.{key}", value, DNS1035_MESSAGE))
    kind = names.get("kind") or ""
    if not kind:
        causes.append(required("spec.names.kind"))
    elif not _KIND.fullmatch(kind):
        causes.append(
            invalid(
                "spec.names.kind",
                kind,
                "may have mixed case, but should otherwise match: [a-z]([-a-z0-9]*[a-z0-9])?",
            )
        )
    for index, short in enumerate(names.get("shortNames") or ()):
        if not isinstance(short, str) or not _DNS1035.fullmatch(short):
            causes.append(invalid(f"spec.names.shortNames[{index}]", short, DNS1035_MESSAGE))
    return causes


def _validate_versions(versions: Any) -> list[FieldCause]:
    if not isinstance(versions, list) or not versions:
        return [required("spec.versions", "must have exactly one version marked as storage")]
    causes = []
    seen: set[str] = set()
    storage = [v for v in versions if isinstance(v, dict) and v.get("storage")]
    if len(storage) != 1:
        causes.append(
            invalid(
                "spec.versions",
                [v.get("name") for v in versions if isinstance(v, dict)],
                "must have exactly one version marked as storage version",
            )
        )
    for index, version in enumerate(versions):
        path = f"spec.versions[{index}]"
        if not isinstance(version, dict):
            causes.append(invalid(path, version, "must be an object"))
            continue
        name = version.get("name") or ""
        if not name:
            causes.append(required(f"{path}.name"))
        elif not _DNS1035.fullmatch(name):
            causes.append(invalid(f"{path}.name", name, DNS1035_MESSAGE))
        elif name in seen:
            causes.append(FieldCause("FieldValueDuplicate", f'Duplicate value: "{name}"', path))
        seen.add(name)
        schema = (version.get("schema") or {}).get("openAPIV3Schema")
        schema_path = f"{path}.schema.openAPIV3Schema"
        if not isinstance(schema, dict):
            causes.append(required(schema_path, "schemas are required"))
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
            causes.append(required(f"{column_path}.name"))
        if column.get("type") not in COLUMN_TYPES:
            causes.append(unsupported(f"{column_path}.type", column.get("type"), COLUMN_TYPES))
        json_path = column.get("jsonPath") or ""
        if not json_path:
            causes.append(required(f"{column_path}.jsonPath"))
            continue
        try:
            jsonpath.parse(json_path)
        except jsonpath.JSONPathError:
            causes.append(
                invalid(f"{column_path}.jsonPath", json_path, "must be a simple json path")
            )
    return causes


def _validate_subresources(subresources: Any, path: str) -> list[FieldCause]:
    if not isinstance(subresources, dict):
        return (
            []
            if subresources is None
            else [invalid(f"{path}.subresources", subresources, "must be an object")]
        )
    scale = subresources.get("scale")
    if not isinstance(scale, dict):
        return []
    causes = []
    prefixes = {"specReplicasPath": ".spec.", "statusReplicasPath": ".status."}
    for key, prefix in prefixes.items():
        value = scale.get(key) or ""
        field = f"{path}.subresources.scale.{key}"
        if not value:
            causes.append(required(field))
        elif not isinstance(value, str) or not value.startswith(prefix):
            causes.append(invalid(field, value, f"should be a json path under {prefix[:-1]}"))
    return causes

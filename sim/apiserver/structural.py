"""The structural-schema rules apiextensions enforces on v1 CRD schemas.

Pruning, defaulting and validation all walk a CRD's schema, so a schema they could not walk
(a field without a type, an array without items, keywords of the wrong JSON type) is refused
when the CRD is written, with the real server's messages, rather than failing on every object.
"""

from __future__ import annotations

import re
from typing import Any

from sim.apiserver.schema import FieldCause, render_value

_SCHEMA_TYPES = ("array", "boolean", "integer", "number", "object", "string")


def required(field: str, detail: str = "") -> FieldCause:
    message = f"Required value: {detail}" if detail else "Required value"
    return FieldCause("FieldValueRequired", message, field)


def invalid(field: str, value: Any, detail: str) -> FieldCause:
    return FieldCause("FieldValueInvalid", f"Invalid value: {render_value(value)}: {detail}", field)


def unsupported(field: str, value: Any, supported: tuple[str, ...]) -> FieldCause:
    choices = ", ".join(f'"{s}"' for s in supported)
    return FieldCause(
        "FieldValueNotSupported",
        f"Unsupported value: {render_value(value)}: supported values: {choices}",
        field,
    )


def forbidden(field: str, detail: str) -> FieldCause:
    return FieldCause("FieldValueForbidden", f"Forbidden: {detail}", field)


def structural_problems(schema: dict[str, Any], path: str) -> list[FieldCause]:
    """Violations of the structural-schema rules that apiextensions enforces for v1 CRDs."""
    causes: list[FieldCause] = []
    root_type = schema.get("type")
    if root_type != "object" and not schema.get("x-kubernetes-preserve-unknown-fields"):
        causes.append(unsupported(f"{path}.type", root_type or "", ("object",)))
    properties = schema.get("properties")
    metadata = properties.get("metadata") if isinstance(properties, dict) else None
    if isinstance(metadata, dict) and isinstance(metadata.get("properties", {}), dict):
        extra = set(metadata) - {"type", "properties", "description"}
        declared = set((metadata.get("properties") or {}).keys()) - {"name", "generateName"}
        if extra or declared:
            causes.append(
                forbidden(
                    f"{path}.properties[metadata]",
                    "must not specify anything other than name and generateName, but metadata "
                    "is implicitly specified",
                )
            )
    _check_node(schema, path, causes, in_items=False)
    return causes


def _check_node(node: Any, path: str, causes: list[FieldCause], *, in_items: bool) -> None:
    if not isinstance(node, dict):
        causes.append(invalid(path, node, "must be a schema object"))
        return
    shape = _keyword_problems(node, path)
    if shape:
        causes += shape  # the rest of the checks need well-formed keywords
        return
    node_type = node.get("type")
    loose = node.get("x-kubernetes-preserve-unknown-fields") or node.get(
        "x-kubernetes-int-or-string"
    )
    if not node_type and not loose:
        where = "array items" if in_items else "object fields"
        causes.append(required(f"{path}.type", f"must not be empty for specified {where}"))
    elif node_type and node_type not in _SCHEMA_TYPES:
        causes.append(unsupported(f"{path}.type", node_type, _SCHEMA_TYPES))
    if node.get("x-kubernetes-int-or-string") and node_type:
        causes.append(
            forbidden(f"{path}.type", "must be empty if x-kubernetes-int-or-string is true")
        )
    properties = node.get("properties")
    extra = node.get("additionalProperties")
    if properties and extra not in (None, False):
        causes.append(
            forbidden(
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
            causes.append(required(f"{path}.items", "must be specified"))
        else:
            _check_node(items, f"{path}.items", causes, in_items=True)
            causes += _list_map_problems(node, path)
    for keyword in ("anyOf", "oneOf", "allOf"):
        for index, branch in enumerate(node.get(keyword) or ()):
            if isinstance(branch, dict) and ("type" in branch or "default" in branch):
                causes.append(
                    forbidden(
                        f"{path}.{keyword}[{index}].type",
                        "must be empty to be structural",
                    )
                )


def _list_map_problems(node: dict[str, Any], path: str) -> list[FieldCause]:
    """A `map` list needs keys that every item has: required, or defaulted."""
    if node.get("x-kubernetes-list-type") != "map":
        return []
    keys = node.get("x-kubernetes-list-map-keys") or []
    if not keys:
        return [
            required(
                f"{path}.x-kubernetes-list-map-keys",
                "must not be empty if x-kubernetes-list-type is map",
            )
        ]
    items: dict[str, Any] = node["items"] if isinstance(node.get("items"), dict) else {}
    # (items whose keywords are malformed were already reported by their own check)
    listed = items.get("required")
    mandatory = {r for r in listed if isinstance(r, str)} if isinstance(listed, list) else set()
    declared = items.get("properties")
    properties: dict[str, Any] = declared if isinstance(declared, dict) else {}
    causes = []
    for key in keys:
        described = properties.get(key)
        if key not in mandatory and not (isinstance(described, dict) and "default" in described):
            causes.append(
                required(
                    f"{path}.items.properties[{key}]",
                    "this property is in x-kubernetes-list-map-keys, so it must have a default "
                    "or be a required property",
                )
            )
    return causes


_NUMBER_KEYWORDS = ("minimum", "maximum", "multipleOf")
_COUNT_KEYWORDS = (
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "minProperties",
    "maxProperties",
)
_STRING_KEYWORDS = ("type", "format", "description", "pattern", "title", "x-kubernetes-list-type")
_FLAG_KEYWORDS = (
    "nullable", "uniqueItems", "exclusiveMinimum", "exclusiveMaximum",
    "x-kubernetes-preserve-unknown-fields", "x-kubernetes-int-or-string",
    "x-kubernetes-embedded-resource",
)  # fmt: skip
_SCHEMA_LIST_KEYWORDS = ("allOf", "anyOf", "oneOf")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_names(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _keyword_problems(node: dict[str, Any], path: str) -> list[FieldCause]:
    """Keywords of the wrong JSON type, which the real server cannot even decode; the other
    checks (and the validator) rely on these shapes."""
    problems: list[tuple[str, str]] = []
    for keyword, value in node.items():
        if keyword in _NUMBER_KEYWORDS and not _is_number(value):
            problems.append((keyword, "must be a number"))
        elif keyword in _COUNT_KEYWORDS and not (_is_number(value) and int(value) >= 0):
            problems.append((keyword, "must be a non-negative integer"))
        elif keyword in _STRING_KEYWORDS and not isinstance(value, str):
            problems.append((keyword, "must be a string"))
        elif keyword in _FLAG_KEYWORDS and not isinstance(value, bool):
            problems.append((keyword, "must be a boolean"))
        elif keyword in ("required", "x-kubernetes-list-map-keys") and not _is_names(value):
            problems.append((keyword, "must be a list of field names"))
        elif keyword == "enum" and not isinstance(value, list):
            problems.append((keyword, "must be a list"))
        elif keyword == "properties" and not (
            isinstance(value, dict) and all(isinstance(v, dict) for v in value.values())
        ):
            problems.append((keyword, "must map field names to schemas"))
        elif keyword in ("items", "not") and not isinstance(value, dict):
            problems.append((keyword, "must be a schema"))
        elif keyword == "additionalProperties" and not isinstance(value, dict | bool):
            problems.append((keyword, "must be a schema or a boolean"))
        elif keyword in _SCHEMA_LIST_KEYWORDS and not (
            isinstance(value, list) and all(isinstance(v, dict) for v in value)
        ):
            problems.append((keyword, "must be a list of schemas"))
        elif keyword == "pattern":
            try:
                re.compile(value)
            except re.error as error:
                problems.append((keyword, f"must be a valid regular expression: {error}"))
    return [invalid(f"{path}.{keyword}", node[keyword], why) for keyword, why in problems]

"""Structural OpenAPI v3 schemas, applied to objects as apiextensions-apiserver applies them.

Three passes, in the order the real server runs them on a write: `prune` drops the fields the
schema does not declare (reporting their paths, for `fieldValidation=Strict|Warn`),
`apply_defaults` fills `default`s (and drops nulls the schema does not allow), and `validate`
returns the violations as field causes worded like the real server's, because clients print
these messages verbatim (`kubectl apply` shows `spec.x: Invalid value: ...`).

Field paths are written as the server writes them: `spec.http[0].route`, map values as
`spec.selector.app`.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import re
from dataclasses import dataclass
from typing import Any

Schema = dict[str, Any]

# Fields of ObjectMeta; metadata of the object itself and of embedded resources is pruned to
# these (the real server decodes metadata into the Go struct, which drops everything else).
OBJECT_META_FIELDS = frozenset(
    {
        "name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation",
        "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "labels",
        "annotations", "ownerReferences", "finalizers", "managedFields",
    }
)  # fmt: skip

_ROOT_FIELDS = ("apiVersion", "kind", "metadata")

_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)


@dataclass(frozen=True)
class FieldCause:
    """One `details.causes[]` entry of a 422 Invalid Status."""

    reason: str  # FieldValueRequired | FieldValueInvalid | FieldValueTypeInvalid | ...
    message: str
    field: str

    def to_status_cause(self) -> dict[str, str]:
        return {"reason": self.reason, "message": self.message, "field": self.field}


def json_type(value: Any) -> str:
    """The JSON type name of a decoded value, as the server names it in messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "integer" if value.is_integer() else "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def render_value(value: Any) -> str:
    """A value inside an `Invalid value: ...` message: strings quoted, numbers bare."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


# ---- validation -------------------------------------------------------------------------------


def validate(obj: Any, schema: Schema | None) -> list[FieldCause]:
    """Every violation of `schema` in `obj`, in document order."""
    causes: list[FieldCause] = []
    if schema:
        _validate(obj, schema, "", causes)
    return causes


def _invalid(path: str, value: Any, detail: str) -> FieldCause:
    return FieldCause(
        "FieldValueInvalid", f"Invalid value: {render_value(value)}: {path} in body {detail}", path
    )


def _type_invalid(path: str, value: Any, expected: str) -> FieldCause:
    actual = json_type(value)
    return FieldCause(
        "FieldValueTypeInvalid",
        f'Invalid value: "{actual}": {path} in body must be of type {expected}: "{actual}"',
        path,
    )


def _type_matches(value: Any, expected: str) -> bool:
    actual = json_type(value)
    if expected == "number":
        return actual in ("integer", "number")
    return actual == expected


def _validate(value: Any, schema: Schema, path: str, causes: list[FieldCause]) -> None:
    if value is None:
        if not schema.get("nullable") and (
            "type" in schema or schema.get("x-kubernetes-int-or-string")
        ):
            expected = (
                "integer,string" if schema.get("x-kubernetes-int-or-string") else schema["type"]
            )
            causes.append(_type_invalid(path, value, expected))
        return
    if schema.get("x-kubernetes-int-or-string"):
        if json_type(value) not in ("integer", "string"):
            causes.append(_type_invalid(path, value, "integer,string"))
            return
    elif "type" in schema and not _type_matches(value, schema["type"]):
        causes.append(_type_invalid(path, value, schema["type"]))
        return
    if "enum" in schema and value not in schema["enum"]:
        supported = ", ".join(render_value(v) for v in schema["enum"])
        causes.append(
            FieldCause(
                "FieldValueNotSupported",
                f"Unsupported value: {render_value(value)}: supported values: {supported}",
                path,
            )
        )
    _validate_combinators(value, schema, path, causes)
    kind = json_type(value)
    if kind in ("integer", "number"):
        _validate_number(value, schema, path, causes)
    elif kind == "string":
        _validate_string(value, schema, path, causes)
    elif kind == "array":
        _validate_array(value, schema, path, causes)
    elif kind == "object":
        _validate_object(value, schema, path, causes)


def _validate_combinators(value: Any, schema: Schema, path: str, causes: list[FieldCause]) -> None:
    """allOf / anyOf / oneOf / not: in structural schemas they only add value validations."""
    for branch in schema.get("allOf") or ():
        _validate(value, branch, path, causes)
    passing = {
        keyword: sum(not validate_at(value, branch, path) for branch in schema[keyword])
        for keyword in ("anyOf", "oneOf")
        if schema.get(keyword)
    }
    if passing.get("anyOf") == 0:
        causes.append(_invalid(path, value, "must validate at least one schema (anyOf)"))
    if "oneOf" in passing and passing["oneOf"] != 1:
        causes.append(_invalid(path, value, "must validate one and only one schema (oneOf)"))
    if isinstance(schema.get("not"), dict) and not validate_at(value, schema["not"], path):
        causes.append(_invalid(path, value, "must not validate the schema (not)"))


def validate_at(value: Any, schema: Schema, path: str) -> list[FieldCause]:
    """The violations of `schema` by a value that sits at `path` in its object."""
    causes: list[FieldCause] = []
    _validate(value, schema, path, causes)
    return causes


def _validate_number(value: float, schema: Schema, path: str, causes: list[FieldCause]) -> None:
    if "minimum" in schema:
        low = schema["minimum"]
        if schema.get("exclusiveMinimum") and value <= low:
            causes.append(_invalid(path, value, f"should be greater than {render_value(low)}"))
        elif value < low:
            causes.append(
                _invalid(path, value, f"should be greater than or equal to {render_value(low)}")
            )
    if "maximum" in schema:
        high = schema["maximum"]
        if schema.get("exclusiveMaximum") and value >= high:
            causes.append(_invalid(path, value, f"should be less than {render_value(high)}"))
        elif value > high:
            causes.append(
                _invalid(path, value, f"should be less than or equal to {render_value(high)}")
            )
    bounds = {"int32": _INT32, "int64": _INT64}.get(schema.get("format", ""))
    if bounds and not bounds[0] <= value <= bounds[1]:
        causes.append(_invalid(path, value, f"must be of type {schema['format']}"))


def _validate_string(value: str, schema: Schema, path: str, causes: list[FieldCause]) -> None:
    if "minLength" in schema and len(value) < schema["minLength"]:
        causes.append(_invalid(path, value, f"should be at least {schema['minLength']} chars long"))
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        causes.append(
            FieldCause(
                "FieldValueTooLong",
                f"Too long: may not be more than {schema['maxLength']} bytes",
                path,
            )
        )
    pattern = schema.get("pattern")
    if pattern and not re.search(pattern, value):
        causes.append(_invalid(path, value, f"should match '{pattern}'"))
    if schema.get("format") == "byte" and not _is_base64(value):
        causes.append(
            FieldCause(
                "FieldValueInvalid",
                f'Invalid value: "{value}": {path} in body must be of type byte: "{value}"',
                path,
            )
        )
    if schema.get("format") == "date-time" and not _DATE_TIME.match(value):
        causes.append(
            FieldCause(
                "FieldValueInvalid",
                f'Invalid value: "{value}": {path} in body must be of type date-time: "{value}"',
                path,
            )
        )


def _is_base64(text: str) -> bool:
    try:
        base64.b64decode(text, validate=True)
    except binascii.Error:
        return False
    return True


def _validate_array(value: list[Any], schema: Schema, path: str, causes: list[FieldCause]) -> None:
    if "minItems" in schema and len(value) < schema["minItems"]:
        causes.append(
            _invalid(path, len(value), f"should have at least {schema['minItems']} items")
        )
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        causes.append(
            FieldCause(
                "FieldValueTooMany",
                f"Too many: {len(value)}: must have at most {schema['maxItems']} items",
                path,
            )
        )
    items = schema.get("items")
    if isinstance(items, dict):
        for index, item in enumerate(value):
            _validate(item, items, f"{path}[{index}]", causes)
    causes.extend(_list_type_duplicates(value, schema, path))


def _list_type_duplicates(value: list[Any], schema: Schema, path: str) -> list[FieldCause]:
    """`x-kubernetes-list-type: set` items and `map` keys must be unique."""
    list_type = schema.get("x-kubernetes-list-type")
    keys = schema.get("x-kubernetes-list-map-keys") or []
    seen: list[Any] = []
    causes = []
    for index, item in enumerate(value):
        if list_type == "set":
            identity, shown = item, render_value(item)
        elif list_type == "map" and isinstance(item, dict) and keys:
            identity = [item.get(k) for k in keys]
            pairs = ",".join(f"{json.dumps(k)}:{render_value(item.get(k))}" for k in keys)
            shown = f"map[string]interface {{}}{{{pairs}}}"
        else:
            continue
        if identity in seen:
            causes.append(
                FieldCause("FieldValueDuplicate", f"Duplicate value: {shown}", f"{path}[{index}]")
            )
        seen.append(identity)
    return causes


def _validate_object(
    value: dict[str, Any], schema: Schema, path: str, causes: list[FieldCause]
) -> None:
    for name in schema.get("required", ()):
        if name not in value:
            causes.append(FieldCause("FieldValueRequired", "Required value", _join(path, name)))
    if schema.get("x-kubernetes-embedded-resource"):
        for name in ("apiVersion", "kind"):
            if not value.get(name):
                causes.append(FieldCause("FieldValueRequired", "Required value", _join(path, name)))
    if "maxProperties" in schema and len(value) > schema["maxProperties"]:
        causes.append(
            FieldCause(
                "FieldValueTooMany",
                f"Too many: {len(value)}: must have at most {schema['maxProperties']} items",
                path,
            )
        )
    properties = schema.get("properties", {})
    extra = schema.get("additionalProperties")
    for key, item in value.items():
        if key in properties:
            _validate(item, properties[key], _join(path, key), causes)
        elif isinstance(extra, dict):
            _validate(item, extra, _join(path, key), causes)


# ---- pruning ----------------------------------------------------------------------------------


def prune(obj: Any, schema: Schema | None, *, in_place: bool = False) -> tuple[Any, list[str]]:
    """A copy of `obj` without the fields `schema` does not declare, and their paths.

    `apiVersion`, `kind` and `metadata` are never pruned at the root (metadata is cut down to
    ObjectMeta's fields); the same holds inside `x-kubernetes-embedded-resource` objects.
    `in_place` prunes `obj` itself, for a caller that owns it (a copy per write is the largest
    cost of a write).
    """
    result = obj if in_place else copy.deepcopy(obj)
    removed: list[str] = []
    if schema is not None:
        _prune(result, schema, "", removed, root=True)
    return result, removed


def _keeps_unknown(schema: Schema) -> bool:
    return bool(schema.get("x-kubernetes-preserve-unknown-fields")) or (
        schema.get("additionalProperties") is True
    )


def _prune(value: Any, schema: Schema, path: str, removed: list[str], *, root: bool) -> None:
    if schema.get("x-kubernetes-int-or-string"):
        return
    if isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, dict):
            for index, item in enumerate(value):
                _prune(item, items, f"{path}[{index}]", removed, root=False)
        return
    if not isinstance(value, dict):
        return
    resource_like = root or bool(schema.get("x-kubernetes-embedded-resource"))
    properties: dict[str, Schema] = schema.get("properties", {})
    extra = schema.get("additionalProperties")
    keep_unknown = _keeps_unknown(schema)
    for key in list(value):
        child_path = _join(path, key)
        if resource_like and key == "metadata" and isinstance(value[key], dict):
            _prune_metadata(value[key], child_path, removed)
            # A CRD's metadata schema only constrains name/generateName; a built-in kind's is
            # the whole ObjectMeta, which also prunes inside ownerReferences and the like.
            declared = set(properties.get(key, {}).get("properties", {}))
            if declared - {"name", "generateName"}:
                _prune(value[key], properties[key], child_path, removed, root=False)
        elif resource_like and key in _ROOT_FIELDS:
            continue
        elif key in properties:
            _prune(value[key], properties[key], child_path, removed, root=False)
        elif isinstance(extra, dict):
            _prune(value[key], extra, child_path, removed, root=False)
        elif not keep_unknown:
            del value[key]
            removed.append(child_path)


def _prune_metadata(meta: dict[str, Any], path: str, removed: list[str]) -> None:
    for key in list(meta):
        if key not in OBJECT_META_FIELDS:
            del meta[key]
            removed.append(_join(path, key))


# ---- defaulting -------------------------------------------------------------------------------


def apply_defaults(obj: Any, schema: Schema | None, *, in_place: bool = False) -> Any:
    """A copy of `obj` (or, `in_place`, `obj` itself) with `default`s filled in where fields
    are missing.

    A null in a field that is not `nullable` is dropped first and then defaulted, as the real
    server does since 1.20.
    """
    result = obj if in_place else copy.deepcopy(obj)
    if schema is not None:
        _default(result, schema)
    return result


def _default(value: Any, schema: Schema) -> None:
    if isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, dict):
            for item in value:
                _default(item, items)
        return
    if not isinstance(value, dict):
        return
    properties: dict[str, Schema] = schema.get("properties", {})
    for key, sub in properties.items():
        if key in value and value[key] is None and not sub.get("nullable"):
            del value[key]
        if key not in value and "default" in sub:
            value[key] = copy.deepcopy(sub["default"])
        if key in value:
            _default(value[key], sub)
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        for key in value:
            if key not in properties:
                _default(value[key], extra)

"""Kubernetes strategic merge patch for built-in kinds.

A strategic merge patch is a merge patch whose lists know how to merge: a list declared with
patch strategy `merge` and a patch merge key (containers by `name`, ownerReferences by `uid`,
conditions by `type`) merges item by item; a list of primitives with strategy `merge`
(finalizers) merges as a set; every other list is replaced whole. Where a type declares this,
the real server learns it from Go struct tags; here it comes from the kind's schema, through the
same `x-kubernetes-patch-strategy` / `x-kubernetes-patch-merge-key` extensions the OpenAPI
document publishes, so kubectl's view of a kind and the server's merge always agree.

Directives: `$patch: replace | delete | merge` (in a map or as a list item),
`$deleteFromPrimitiveList/<field>`, `$setElementOrder/<field>`, `$retainKeys`; a null value
deletes a key. Custom resources never get here: the server answers 415 for them first.
"""

from __future__ import annotations

import copy
from typing import Any

from sim.apiserver.patch import PatchError
from sim.apiserver.resources import ResourceType

_DELETE_PRIMITIVE = "$deleteFromPrimitiveList/"
_ELEMENT_ORDER = "$setElementOrder/"

Schema = dict[str, Any] | None


def apply_strategic_merge(doc: Any, patch: Any, rtype: ResourceType) -> Any:
    """Apply `patch` to a copy of `doc`, taking list strategies from `rtype.schema`."""
    if not isinstance(patch, dict):
        raise PatchError(
            "json: cannot unmarshal array into Go value of type map[string]interface {}"
            if isinstance(patch, list)
            else "invalid JSON document",
            code=400,
        )
    original = copy.deepcopy(doc) if isinstance(doc, dict) else {}
    return _merge_map(original, patch, rtype.schema)


def _child(schema: Schema, key: str) -> Schema:
    if not schema:
        return None
    prop = schema.get("properties", {}).get(key)
    if isinstance(prop, dict):
        return prop
    extra = schema.get("additionalProperties")
    return extra if isinstance(extra, dict) else None


def _items(schema: Schema) -> Schema:
    if not schema:
        return None
    items = schema.get("items")
    return items if isinstance(items, dict) else None


def _go_value(value: Any) -> str:
    """A value printed as Go's %v prints decoded JSON, as the real error messages show it."""
    if isinstance(value, dict):
        inner = " ".join(f"{k}:{_go_value(v)}" for k, v in sorted(value.items()))
        return f"map[{inner}]"
    if isinstance(value, list):
        return "[" + " ".join(_go_value(v) for v in value) + "]"
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _fresh(value: Any, schema: Schema) -> Any:
    """Patch content with no original to merge into: only its directives are removed."""
    if isinstance(value, dict):
        return _merge_map({}, value, schema)
    if isinstance(value, list):
        return _merge_list([], value, schema)
    return value


def _merge_map(original: dict[str, Any], patch: dict[str, Any], schema: Schema) -> dict[str, Any]:
    """Merge `patch` into `original` (which this call owns and may change)."""
    directive = patch.get("$patch")
    if directive is not None:
        if directive == "replace":
            content = {k: v for k, v in patch.items() if k != "$patch"}
            return _merge_map({}, content, schema)
        if directive == "delete":
            return {}
        if directive != "merge":
            raise PatchError(
                f"unknown patch type: {directive} in map: {_go_value(patch)}", code=400
            )
    result = original
    for key, value in patch.items():
        if key.startswith("$"):
            continue
        sub = _child(schema, key)
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict):
            current = result.get(key)
            result[key] = _merge_map(current if isinstance(current, dict) else {}, value, sub)
        elif isinstance(value, list):
            current = result.get(key)
            result[key] = _merge_list(current if isinstance(current, list) else [], value, sub)
        else:
            result[key] = value
    for key, value in patch.items():
        if key.startswith(_DELETE_PRIMITIVE):
            _delete_from_primitive_list(result, key[len(_DELETE_PRIMITIVE) :], value)
        elif key.startswith(_ELEMENT_ORDER):
            field = key[len(_ELEMENT_ORDER) :]
            _set_element_order(result, field, value, _child(schema, field))
    if "$retainKeys" in patch:
        result = _retain_keys(result, patch)
    return result


def _delete_from_primitive_list(result: dict[str, Any], field: str, values: Any) -> None:
    if not isinstance(values, list):
        raise PatchError("invalid patch format of primitive list", code=400)
    existing = result.get(field)
    if isinstance(existing, list):
        result[field] = [item for item in existing if item not in values]


def _set_element_order(result: dict[str, Any], field: str, order: Any, schema: Schema) -> None:
    """Reorder a merged list as the client listed it; items it did not list keep their place
    after the listed ones."""
    if not isinstance(order, list):
        raise PatchError("invalid patch format of setElementOrder list", code=400)
    existing = result.get(field)
    if not isinstance(existing, list):
        return
    merge_key = schema.get("x-kubernetes-patch-merge-key") if schema else None

    def identity(item: Any) -> Any:
        if merge_key and isinstance(item, dict):
            return item.get(merge_key)
        return item

    wanted = [identity(entry) for entry in order]
    listed = [item for w in wanted for item in existing if identity(item) == w]
    rest = [item for item in existing if identity(item) not in wanted]
    result[field] = listed + rest


def _retain_keys(result: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """`$retainKeys` (strategy retainKeys): fields not listed are cleared, as for a union."""
    keep = patch["$retainKeys"]
    if not isinstance(keep, list) or not all(isinstance(k, str) for k in keep):
        raise PatchError("invalid patch format of retainKeys", code=400)
    for key, value in patch.items():
        if not key.startswith("$") and value is not None and key not in keep:
            raise PatchError("patch content doesn't match retainKeys list", code=422)
    return {k: v for k, v in result.items() if k in keep}


def _merge_list(original: list[Any], patch: list[Any], schema: Schema) -> list[Any]:
    items_schema = _items(schema)
    replace = [i for i in patch if isinstance(i, dict) and i.get("$patch") == "replace"]
    strategy = str(schema.get("x-kubernetes-patch-strategy", "")) if schema else ""
    if replace or "merge" not in strategy.split(","):
        content = [i for i in patch if not (isinstance(i, dict) and "$patch" in i)]
        return [_fresh(item, items_schema) for item in content]
    merge_key = schema.get("x-kubernetes-patch-merge-key") if schema else None
    if not merge_key:
        merged = list(original)
        for item in patch:
            if isinstance(item, dict | list):
                raise PatchError(f"merging a list of primitives: found {_go_value(item)}", code=400)
            if item not in merged:
                merged.append(item)
        return merged
    merged = list(original)
    for item in patch:
        if not isinstance(item, dict):
            raise PatchError(f"{_go_value(item)} is not a map: a merge list holds maps", code=400)
        if merge_key not in item:
            raise PatchError(
                f"map: {_go_value(item)} does not contain declared merge key: {merge_key}"
            )
        key_value = item[merge_key]
        matches = [
            n
            for n, old in enumerate(merged)
            if isinstance(old, dict) and old.get(merge_key) == key_value
        ]
        if item.get("$patch") == "delete":
            merged = [old for n, old in enumerate(merged) if n not in matches]
        elif matches:
            merged[matches[0]] = _merge_map(merged[matches[0]], item, items_schema)
        else:
            merged.append(_merge_map({}, item, items_schema))
    return merged

"""Applying JSON merge patches (RFC 7386) and JSON patches (RFC 6902) to plain objects.

The in-memory store needs to apply the same patches the API server applies, so that a router
tested against it writes exactly what it would write to a cluster. Both functions return a new
object and leave their inputs untouched.
"""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["PatchError", "apply_json_patch", "apply_merge_patch"]


class PatchError(ValueError):
    """The patch cannot be applied to this object (a bad path, a failed ``test``)."""


def apply_merge_patch(target: Any, patch: Any) -> Any:
    """``target`` with the merge ``patch`` applied: objects merge, ``None`` removes a key."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result: dict[str, Any] = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = apply_merge_patch(result.get(key), value)
    return result


def apply_json_patch(target: Any, operations: list[dict[str, Any]]) -> Any:
    """``target`` with the operations applied in order; :class:`PatchError` if one fails."""
    document = copy.deepcopy(target)
    for index, operation in enumerate(operations):
        try:
            document = _apply_operation(document, operation)
        except PatchError as error:
            raise PatchError(f"operation {index} ({operation.get('op')}): {error}") from None
    return document


def _apply_operation(document: Any, operation: dict[str, Any]) -> Any:
    op = operation.get("op")
    path = _parse_pointer(operation.get("path"))
    if op == "add":
        return _add(document, path, copy.deepcopy(_value(operation)))
    if op == "remove":
        _remove(document, path)
        return document
    if op == "replace":
        _get(document, path)  # replace needs the target to exist
        if not path:
            return copy.deepcopy(_value(operation))
        _remove(document, path)
        return _add(document, path, copy.deepcopy(_value(operation)))
    if op == "test":
        found = _get(document, path)
        if found != _value(operation):
            raise PatchError(f"test failed: {operation.get('path')} is {found!r}")
        return document
    if op in ("move", "copy"):
        source = _parse_pointer(operation.get("from"))
        value = copy.deepcopy(_get(document, source))
        if op == "move":
            _remove(document, source)
        return _add(document, path, value)
    raise PatchError(f"unknown op {op!r}")


def _value(operation: dict[str, Any]) -> Any:
    if "value" not in operation:
        raise PatchError("missing 'value'")
    return operation["value"]


def _parse_pointer(pointer: Any) -> list[str]:
    if not isinstance(pointer, str) or (pointer and not pointer.startswith("/")):
        raise PatchError(f"bad path {pointer!r}: a JSON pointer starts with '/'")
    if not pointer:
        return []
    return [part.replace("~1", "/").replace("~0", "~") for part in pointer[1:].split("/")]


def _index(container: list[Any], token: str, *, for_add: bool) -> int:
    if for_add and token == "-":
        return len(container)
    if not token.isdigit():
        raise PatchError(f"{token!r} is not a list index")
    index = int(token)
    limit = len(container) if for_add else len(container) - 1
    if index > limit:
        raise PatchError(f"index {index} is out of range")
    return index


def _get(document: Any, path: list[str]) -> Any:
    current = document
    for token in path:
        if isinstance(current, dict):
            if token not in current:
                raise PatchError(f"no member {token!r}")
            current = current[token]
        elif isinstance(current, list):
            current = current[_index(current, token, for_add=False)]
        else:
            raise PatchError(f"cannot descend into {current!r} with {token!r}")
    return current


def _add(document: Any, path: list[str], value: Any) -> Any:
    if not path:
        return value
    parent = _get(document, path[:-1])
    token = path[-1]
    if isinstance(parent, dict):
        parent[token] = value
    elif isinstance(parent, list):
        parent.insert(_index(parent, token, for_add=True), value)
    else:
        raise PatchError(f"cannot add {token!r} to {parent!r}")
    return document


def _remove(document: Any, path: list[str]) -> None:
    if not path:
        raise PatchError("cannot remove the whole document")
    parent = _get(document, path[:-1])
    token = path[-1]
    if isinstance(parent, dict):
        if token not in parent:
            raise PatchError(f"no member {token!r}")
        del parent[token]
    elif isinstance(parent, list):
        del parent[_index(parent, token, for_add=False)]
    else:
        raise PatchError(f"cannot remove {token!r} from {parent!r}")

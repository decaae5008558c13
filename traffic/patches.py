"""Applying JSON merge patches (RFC 7386) and JSON patches (RFC 6902) to plain objects.

The in-memory store needs to apply the same patches the API server applies, so that a router
tested against it writes exactly what it would write to a cluster. Both functions return a new
object and leave their inputs untouched. JSON patches are applied by the jsonpatch library,
the same one :mod:`traffic.json_patch` builds them with.
"""

from __future__ import annotations

import copy
from typing import Any

import jsonpatch
import jsonpointer

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
    """``target`` with the operations applied in order; :class:`PatchError` if one fails.

    All or nothing, as on the API server: a failed ``test`` or a path that does not resolve
    leaves ``target`` as it was.
    """
    # Copied, so the result shares no value with the caller's patch body; one operation at a
    # time, so the error can say which one failed.
    document = copy.deepcopy(target)
    for index, operation in enumerate(copy.deepcopy(operations)):
        try:
            document = jsonpatch.apply_patch(document, [operation], in_place=True)
        except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as error:
            name = operation.get("op") if isinstance(operation, dict) else operation
            raise PatchError(f"operation {index} ({name}): {error}") from None
    return document

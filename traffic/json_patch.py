"""Building the JSON patches (RFC 6902) the routers send, with the jsonpatch library.

A path is given as its parts (``("metadata", "annotations", "kcanary.io/action")``) and turned
into a JSON pointer (RFC 6901) by jsonpointer, which escapes ``~`` and ``/`` inside a part: a key
such as an annotation name holds a ``/`` and would otherwise address a different member. A
``test`` operation makes the server refuse the whole patch when the value it names has changed
since it was read, so a write guarded by it never undoes a concurrent edit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jsonpatch
import jsonpointer

from traffic.store import JsonObject

__all__ = ["PathParts", "add", "guard", "json_patch", "pointer", "remove", "replace"]

PathParts = Sequence[str | int]
"""The keys and list indices from the document's root to the member, unescaped."""


def pointer(path: PathParts) -> str:
    """The JSON pointer of ``path``, with ``~`` and ``/`` escaped in each part."""
    return str(jsonpointer.JsonPointer.from_parts([str(part) for part in path]).path)


def add(path: PathParts, value: Any) -> JsonObject:
    """Set the member (creating it, or inserting into a list at that index)."""
    return {"op": "add", "path": pointer(path), "value": value}


def replace(path: PathParts, value: Any) -> JsonObject:
    """Set the member, which must exist."""
    return {"op": "replace", "path": pointer(path), "value": value}


def remove(path: PathParts) -> JsonObject:
    """Delete the member, which must exist."""
    return {"op": "remove", "path": pointer(path)}


def guard(path: PathParts, value: Any) -> JsonObject:
    """A ``test`` operation: refuse the whole patch unless the member equals ``value``."""
    return {"op": "test", "path": pointer(path), "value": value}


def json_patch(*operations: JsonObject) -> list[JsonObject]:
    """The operations as the body of a JSON patch, each checked to be a well-formed operation."""
    return list(jsonpatch.JsonPatch(list(operations)).patch)

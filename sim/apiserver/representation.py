"""How stored objects leave the server: as themselves, as a Table, or as metadata only.

Objects are stored once per kind but a CRD may serve several versions; an object read through
another version than it was written in only has its `apiVersion` rewritten (conversion strategy
None, which is what the CRDs here use). The common case reuses the bytes encoded at write time.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sim.apiserver import tables
from sim.apiserver.request_info import Representation
from sim.apiserver.resources import ResourceType
from sim.apiserver.store import StoredObject, encode_json


def object_json(stored: StoredObject, rtype: ResourceType) -> bytes:
    """The object as served through `rtype`'s version."""
    if stored.obj.get("apiVersion") == rtype.api_version:
        return stored.raw
    return encode_json(as_version(stored.obj, rtype))


def as_version(obj: dict[str, Any], rtype: ResourceType) -> dict[str, Any]:
    if obj.get("apiVersion") == rtype.api_version:
        return obj
    return {**obj, "apiVersion": rtype.api_version}


def partial_metadata(obj: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj["metadata"],
    }


def single(
    stored: StoredObject, rtype: ResourceType, representation: Representation, *, include: str
) -> bytes:
    """A GET response body."""
    if representation.table:
        table = tables.to_table(
            [as_version(stored.obj, rtype)],
            rtype,
            include_object=include,
            resource_version=str(stored.rv),
            continue_token=None,
        )
        return encode_json(table)
    if representation.partial_metadata:
        return encode_json(partial_metadata(stored.obj))
    return object_json(stored, rtype)


def collection(
    items: Sequence[StoredObject],
    rtype: ResourceType,
    representation: Representation,
    *,
    resource_version: str,
    continue_token: str | None,
    remaining: int | None,
    include: str,
) -> bytes:
    """A LIST response body, assembled from the stored bytes without re-encoding them."""
    if representation.table:
        table = tables.to_table(
            [as_version(stored.obj, rtype) for stored in items],
            rtype,
            include_object=include,
            resource_version=resource_version,
            continue_token=continue_token,
        )
        if remaining is not None:
            table["metadata"]["remainingItemCount"] = remaining
        return encode_json(table)
    metadata: dict[str, Any] = {"resourceVersion": resource_version}
    if continue_token:
        metadata["continue"] = continue_token
    if remaining is not None:
        metadata["remainingItemCount"] = remaining
    if representation.partial_metadata:
        head = {
            "kind": "PartialObjectMetadataList",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": metadata,
        }
        body = [encode_json(partial_metadata(stored.obj)) for stored in items]
    else:
        head = {
            "apiVersion": rtype.api_version,
            "kind": rtype.list_kind or f"{rtype.kind}List",
            "metadata": metadata,
        }
        body = [object_json(stored, rtype) for stored in items]
    prefix = encode_json(head)[:-1]
    return prefix + b',"items":[' + b",".join(body) + b"]}"


def decode_json(raw: bytes) -> Any:
    return json.loads(raw)

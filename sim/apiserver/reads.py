"""The reading verbs: get (of the object, or of its scale subresource) and list, with label
and field selectors and `limit`/`continue` paging.

Reads change nothing, so they need only the store. Watches also read, but stream, and live in
`watch_stream`.
"""

from __future__ import annotations

from sim.apiserver import errors
from sim.apiserver.calls import APICall, Reply, Target, wanted_representation
from sim.apiserver.listing import (
    decode_continue,
    encode_continue,
    int_param,
    selection_predicate,
)
from sim.apiserver.representation import collection, single
from sim.apiserver.scale import scale_of
from sim.apiserver.store import ObjectStore, StoredObject, encode_json


def existing(store: ObjectStore, target: Target, name: str) -> StoredObject:
    """The stored object a named request is about, or 404."""
    stored = store.get(target.resource, target.namespace, name)
    if stored is None:
        raise errors.not_found(target.rtype, name)
    return stored


class ReadHandlers:
    """Serves get and list against one store."""

    def __init__(self, store: ObjectStore) -> None:
        self.store = store

    def get(self, call: APICall, target: Target) -> Reply:
        stored = existing(self.store, target, call.request.name)
        if call.request.subresource == "scale":
            return Reply(200, encode_json(scale_of(stored.obj, target.rtype)))
        representation = wanted_representation(call)
        include = call.query.get("includeObject", "Metadata")
        return Reply(200, single(stored, target.rtype, representation, include=include))

    def list(self, call: APICall, target: Target) -> Reply:
        representation = wanted_representation(call)
        namespace = call.request.namespace
        matches = selection_predicate(call.query, target.rtype)
        items = self.store.objects(target.resource, namespace)
        if matches is not None:
            items = [stored for stored in items if matches(stored.obj)]
        resource_version = self.store.resource_version
        limit = int_param(call.query, "limit")
        token = call.query.get("continue", "")
        if token:
            list_rv, start_after = decode_continue(token)
            resource_version = list_rv
            items = [s for s in items if (s.namespace, s.name) > start_after]
        next_token: str | None = None
        remaining: int | None = None
        if limit and len(items) > limit:
            last = items[limit - 1]
            if matches is None:
                remaining = len(items) - limit
            items = items[:limit]
            next_token = encode_continue(resource_version, (last.namespace, last.name))
        include = call.query.get("includeObject", "Metadata")
        body = collection(
            items,
            target.rtype,
            representation,
            resource_version=str(resource_version),
            continue_token=next_token,
            remaining=remaining,
            include=include,
        )
        return Reply(200, body)

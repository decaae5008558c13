"""The versioned object store: etcd and the watch cache in one, for a single event loop.

Every write takes the next value of one global resourceVersion counter, as etcd's revision does,
so a list's resourceVersion orders it against every later event of any kind. Objects are kept as
frozen `StoredObject`s holding both the dict and its compact JSON, serialised once at write time:
a GET, a LIST and every watcher reuse those bytes instead of encoding the object again. Stored
dicts are never mutated after commit; a writer always builds a new dict.

Events are kept in a bounded history per resource so a watch can resume from a resourceVersion;
once an event has fallen out of it (or `compact()` is called, as etcd compaction does), resuming
from before it is answered with 410 Expired.

The store is used from one asyncio thread only and holds no locks.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

ADDED = "ADDED"
MODIFIED = "MODIFIED"
DELETED = "DELETED"

_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def encode_json(value: Any) -> bytes:
    """Compact JSON, as the real server writes it."""
    return _encode(value).encode("utf-8")


@dataclass(frozen=True, slots=True)
class StoredObject:
    """One committed version of an object; `raw` is `obj` as compact JSON."""

    obj: dict[str, Any]
    raw: bytes
    rv: int

    @property
    def namespace(self) -> str:
        return str(self.obj["metadata"].get("namespace", ""))

    @property
    def name(self) -> str:
        return str(self.obj["metadata"]["name"])

    @property
    def uid(self) -> str:
        return str(self.obj["metadata"].get("uid", ""))


@dataclass(frozen=True, slots=True)
class WatchEvent:
    """A committed change. `previous` is the version it replaced (None for ADDED)."""

    rv: int
    type: str
    resource: str
    current: StoredObject
    previous: StoredObject | None

    def line(self) -> bytes:
        """The newline-terminated watch frame, built from the already-encoded object."""
        return b'{"type":"' + self.type.encode() + b'","object":' + self.current.raw + b"}\n"


class ResourceVersionExpired(Exception):
    """The history no longer reaches back to the requested resourceVersion."""

    def __init__(self, requested: int, oldest: int) -> None:
        super().__init__(f"too old resource version: {requested} ({oldest})")
        self.requested = requested
        self.oldest = oldest


CommitListener = Callable[[WatchEvent], None]

# Objects of one resource: namespace ("" when cluster-scoped) -> name -> object.
_Bucket = dict[str, dict[str, StoredObject]]


class ObjectStore:
    """Objects by resource, namespace and name, with a global resourceVersion and event history.

    `resource` is a storage key such as `serving.kserve.io/inferenceservices`: every served
    version of a kind shares one storage, as in a real cluster.
    """

    def __init__(self, *, history_per_resource: int = 20_000) -> None:
        self._rv = 0
        self._buckets: dict[str, _Bucket] = {}
        self._history: dict[str, deque[WatchEvent]] = {}
        self._history_limit = history_per_resource
        # Per resource: every event with rv > floor is still in its history.
        self._floor: dict[str, int] = {}
        self._compacted = 0
        self._by_uid: dict[str, tuple[str, str, str]] = {}
        self._listeners: list[CommitListener] = []

    # reads

    @property
    def resource_version(self) -> int:
        return self._rv

    def get(self, resource: str, namespace: str, name: str) -> StoredObject | None:
        bucket = self._buckets.get(resource)
        if bucket is None:
            return None
        names = bucket.get(namespace)
        return None if names is None else names.get(name)

    def objects(self, resource: str, namespace: str | None = None) -> list[StoredObject]:
        """Objects ordered by namespace then name (the order paging relies on)."""
        bucket = self._buckets.get(resource)
        if not bucket:
            return []
        if namespace is not None:
            names = bucket.get(namespace, {})
            return [names[name] for name in sorted(names)]
        return [bucket[ns][name] for ns in sorted(bucket) for name in sorted(bucket[ns])]

    def count(self, resource: str, namespace: str | None = None) -> int:
        bucket = self._buckets.get(resource, {})
        if namespace is not None:
            return len(bucket.get(namespace, {}))
        return sum(len(names) for names in bucket.values())

    def by_uid(self, uid: str) -> tuple[str, StoredObject] | None:
        """The resource and object carrying `uid`, if it still exists."""
        where = self._by_uid.get(uid)
        if where is None:
            return None
        resource, namespace, name = where
        stored = self.get(resource, namespace, name)
        return None if stored is None else (resource, stored)

    def resources(self) -> list[str]:
        return list(self._buckets)

    def namespace_contents(self, namespace: str) -> Iterator[tuple[str, StoredObject]]:
        for resource, bucket in list(self._buckets.items()):
            for stored in list(bucket.get(namespace, {}).values()):
                yield resource, stored

    # writes

    def create(self, resource: str, obj: dict[str, Any]) -> StoredObject:
        """Commit a new object (the caller has checked it does not exist). Takes `obj` over."""
        return self._commit(resource, obj, ADDED, None)

    def replace(self, resource: str, obj: dict[str, Any], previous: StoredObject) -> StoredObject:
        """Commit a new version of an existing object. Takes `obj` over."""
        return self._commit(resource, obj, MODIFIED, previous)

    def delete(
        self, resource: str, previous: StoredObject, final: dict[str, Any] | None = None
    ) -> StoredObject:
        """Remove an object; the DELETED event carries its last state (`final`, else the stored
        one) with the deletion's resourceVersion. Takes `final` over."""
        obj = final if final is not None else dict(previous.obj)
        obj["metadata"] = dict(obj["metadata"])
        return self._commit(resource, obj, DELETED, previous)

    def drop_resource(self, resource: str) -> None:
        """Forget a resource's storage entirely (its CRD is gone and its objects deleted)."""
        self._buckets.pop(resource, None)

    def _commit(
        self, resource: str, obj: dict[str, Any], kind: str, previous: StoredObject | None
    ) -> StoredObject:
        self._rv += 1
        rv = self._rv
        metadata = obj["metadata"]
        metadata["resourceVersion"] = str(rv)
        stored = StoredObject(obj=obj, raw=encode_json(obj), rv=rv)
        namespace = str(metadata.get("namespace", ""))
        name = str(metadata["name"])
        names = self._buckets.setdefault(resource, {}).setdefault(namespace, {})
        uid = str(metadata.get("uid", ""))
        if kind == DELETED:
            names.pop(name, None)
            if not names:
                del self._buckets[resource][namespace]
            self._by_uid.pop(uid, None)
        else:
            names[name] = stored
            if uid:
                self._by_uid[uid] = (resource, namespace, name)
        event = WatchEvent(rv=rv, type=kind, resource=resource, current=stored, previous=previous)
        history = self._history.get(resource)
        if history is None:
            history = self._history[resource] = deque()
            self._floor.setdefault(resource, 0)
        if len(history) >= self._history_limit:
            self._floor[resource] = history.popleft().rv
        history.append(event)
        for listener in list(self._listeners):
            listener(event)
        return stored

    # history

    def events_after(self, resource: str, rv: int) -> list[WatchEvent]:
        """Events of `resource` with resourceVersion > rv, oldest first; 410 if compacted."""
        floor = max(self._floor.get(resource, 0), self._compacted)
        if rv < floor:
            raise ResourceVersionExpired(rv, floor + 1)
        history = self._history.get(resource)
        if not history:
            return []
        newer: list[WatchEvent] = []
        for event in reversed(history):
            if event.rv <= rv:
                break
            newer.append(event)
        newer.reverse()
        return newer

    def compact(self) -> int:
        """Drop all history, as etcd compaction at the current revision does."""
        for history in self._history.values():
            history.clear()
        self._compacted = self._rv
        return self._rv

    def subscribe(self, listener: CommitListener) -> None:
        """Call `listener` synchronously after every commit (watch fan-out, controllers)."""
        self._listeners.append(listener)

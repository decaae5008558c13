"""The routers' store with reads from the watch caches, never older than our own last write.

Routers read their VirtualService or HTTPRoute on every reconcile (the weight, the drift check)
and write it only when a step changes, so reads come from the informers' caches and writes go to
the API server with their resourceVersion preconditions, as before. The cache may lag behind our
own write; a router reading the older copy would see the previous weight and write it again. So,
as `InferenceRollouts` does for the rollout's status, `CachedRoutes` remembers per route the
newest version it wrote or read from the API server and reads from the API server while the cache
holds another; once the cache has caught up the entry is dropped, since a watch cache only moves
forward. Two more cases read from the API server until the cache agrees:

- after a 409, so that a conditioned write retries from the stored object, not the stale copy
  it was computed from, and a create that found the name taken goes on to patch what exists;
- after a delete, until the cache has seen the route go.

Kinds no informer serves (not watched, or their CRD is missing) are read from the API server by
the reader itself.

The watch brings our own writes back too. `is_echo` tells the informer's handler whether a
version is one of ours, so it does not wake the ISVC that made it; when the event overtakes the
write's own response, the answer waits for that response and a version that turns out to be
someone else's wakes the ISVC then.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from reconcile.resources import ObjectReader, resource_version
from traffic.store import AlreadyExists, Conflict, JsonObject, NotFound, ObjectRef, PatchType, Store

__all__ = ["CachedRoutes"]

_STALE = "\x00stale"
"""A write was refused as stale: read from the API server until the cache holds that version."""
_GONE = "\x00gone"
"""We deleted the object: read from the API server until the cache no longer has it."""


class CachedRoutes:
    """A :class:`~traffic.store.Store` reading through `reader` and writing to `store`."""

    def __init__(self, store: Store, reader: ObjectReader) -> None:
        self._store = store
        self._reader = reader
        self._known: dict[ObjectRef, str] = {}
        self._lock = threading.Lock()
        self._written: dict[ObjectRef, str] = {}  # the version our newest write produced
        self._writing: Counter[ObjectRef] = Counter()  # our writes under way
        # Watched versions that arrived while a write of ours was under way, with what to call
        # if they turn out not to be ours.
        self._pending: dict[ObjectRef, list[tuple[str, Callable[[], None]]]] = {}

    def get(self, ref: ObjectRef) -> JsonObject | None:
        cached = self._reader.get(ref)
        with self._lock:
            known = self._known.get(ref)
            if known is None:
                return cached
            if _caught_up(cached, known):
                del self._known[ref]
                return cached
        fresh = self._store.get(ref)
        self._note(ref, fresh, replacing=known)
        return fresh

    def create(self, ref: ObjectRef, obj: JsonObject) -> JsonObject:
        with self._writing_to(ref):
            try:
                created = self._store.create(ref, obj)
            except AlreadyExists:
                # Created by someone else, or by us before a restart, and not yet in the cache:
                # the write that follows must find it.
                self._remember(ref, _STALE)
                raise
            self._note(ref, created, ours=True)
            return created

    def patch(
        self,
        ref: ObjectRef,
        patch: JsonObject | list[JsonObject],
        *,
        resource_version: str | None,
        patch_type: PatchType = PatchType.MERGE,
    ) -> JsonObject:
        with self._writing_to(ref):
            try:
                written = self._store.patch(
                    ref, patch, resource_version=resource_version, patch_type=patch_type
                )
            except Conflict:
                self._remember(ref, _STALE)
                raise
            except NotFound:
                self._remember(ref, _GONE)
                raise
            self._note(ref, written, ours=True)
            return written

    def delete(self, ref: ObjectRef) -> None:
        try:
            self._store.delete(ref)
        finally:
            with self._lock:
                self._written.pop(ref, None)
            # Gone, or not found (gone already): either way a cached copy is out of date. Any
            # other failure leaves the object as it was, and reading it from the server is safe.
            self._remember(ref, _GONE)

    def is_echo(self, ref: ObjectRef, version: str | None, wake: Callable[[], None]) -> bool:
        """Whether a watched `version` of the route is our own write (or one we have just read
        from the API server) coming back. While a write of ours to it is under way the answer
        waits for the write: True now, and `wake` is called once the write has returned if the
        version is not the one it produced."""
        if version is None:
            return False
        with self._lock:
            if self._writing[ref]:
                self._pending.setdefault(ref, []).append((version, wake))
                return True
            return version in (self._written.get(ref), self._known.get(ref))

    @contextmanager
    def _writing_to(self, ref: ObjectRef) -> Iterator[None]:
        with self._lock:
            self._writing[ref] += 1
        try:
            yield
        finally:
            with self._lock:
                self._writing[ref] -= 1
                pending: list[tuple[str, Callable[[], None]]] = []
                if not self._writing[ref]:
                    del self._writing[ref]
                    pending = self._pending.pop(ref, [])
                ours = self._written.get(ref)
            for version, wake in pending:
                if version != ours:
                    wake()

    def remembered(self, ref: ObjectRef) -> str | None:
        """The version of the route we last wrote or read from the API server, while the cache
        has not yet caught up with it; None otherwise."""
        with self._lock:
            known = self._known.get(ref)
        return known if known not in (_STALE, _GONE) else None

    def _note(
        self,
        ref: ObjectRef,
        stored: JsonObject | None,
        *,
        replacing: str | None = None,
        ours: bool = False,
    ) -> None:
        version = resource_version(stored) if stored is not None else _GONE
        with self._lock:
            if ours and version not in (None, _GONE):
                self._written[ref] = version
            if replacing is not None and self._known.get(ref) != replacing:
                return  # a write of ours landed meanwhile: its version is the newer one
            self._known[ref] = version or _STALE

    def _remember(self, ref: ObjectRef, marker: str) -> None:
        with self._lock:
            self._known[ref] = marker


def _caught_up(cached: JsonObject | None, known: str) -> bool:
    if known == _GONE:
        return cached is None
    return cached is not None and resource_version(cached) == known

"""The garbage collector: the part of kube-controller-manager that follows ownerReferences.

The API server itself never cascades. After an owner's DELETE has returned, this collector
notices, in the background, dependents whose owners are all gone (matched by uid, so an owner
recreated under the same name adopts nothing) and deletes them; dangling references next to a
live owner are removed. Owners deleted with `propagationPolicy=Foreground` carry the
`foregroundDeletion` finalizer until every dependent with `blockOwnerDeletion` is gone; with
`Orphan` the dependents lose their reference and survive.

Work is incremental: an index from owner uid to dependents keeps each pass proportional to
what changed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sim.apiserver.lifecycle import FOREGROUND, ORPHAN, Lifecycle, copy_of
from sim.apiserver.scheduling import Debouncer
from sim.apiserver.store import DELETED, ObjectStore, StoredObject, WatchEvent

ObjectKey = tuple[str, str, str]  # resource, namespace, name


def _owner_uids(stored: StoredObject | None) -> set[str]:
    if stored is None:
        return set()
    refs = stored.obj["metadata"].get("ownerReferences") or ()
    return {str(ref.get("uid")) for ref in refs if isinstance(ref, dict) and ref.get("uid")}


class GarbageCollector:
    """Deletes orphaned dependents and drives Foreground and Orphan deletions."""

    def __init__(
        self,
        store: ObjectStore,
        lifecycle: Lifecycle,
        *,
        delay: float | Callable[[], float] = 0.05,
    ) -> None:
        self._store = store
        self._lifecycle = lifecycle
        self._dependents: dict[str, set[ObjectKey]] = {}
        self._dirty_owners: set[str] = set()
        self._dirty_dependents: set[ObjectKey] = set()
        self._debouncer = Debouncer(self.collect, delay=delay)
        store.subscribe(self._observe)

    def _observe(self, event: WatchEvent) -> None:
        current = event.current
        key = (event.resource, current.namespace, current.name)
        before = _owner_uids(event.previous)
        after = set() if event.type == DELETED else _owner_uids(current)
        for uid in before - after:
            dependents = self._dependents.get(uid)
            if dependents is not None:
                dependents.discard(key)
                if not dependents:
                    del self._dependents[uid]
        for uid in after - before:
            self._dependents.setdefault(uid, set()).add(key)
        poke = False
        if after:
            self._dirty_dependents.add(key)
            poke = True
        if event.type == DELETED:
            # its dependents may be orphans now, and a foreground owner may be unblocked
            self._dirty_owners.add(current.uid)
            self._dirty_owners.update(before)
            poke = True
        elif current.obj["metadata"].get("deletionTimestamp"):
            finalizers = current.obj["metadata"].get("finalizers") or ()
            if ORPHAN in finalizers or FOREGROUND in finalizers:
                self._dirty_owners.add(current.uid)
                poke = True
            self._dirty_owners.update(before)
        if poke:
            self._debouncer.poke()

    def collect(self) -> None:
        """One pass over what changed since the last one."""
        owners, self._dirty_owners = self._dirty_owners, set()
        for uid in owners:
            self._process_owner(uid)
        dependents, self._dirty_dependents = self._dirty_dependents, set()
        for key in dependents:
            self._process_dependent(key)

    def _process_owner(self, uid: str) -> None:
        found = self._store.by_uid(uid)
        dependents = list(self._dependents.get(uid, ()))
        if found is None:
            self._dirty_dependents.update(dependents)
            return
        resource, owner = found
        metadata = owner.obj["metadata"]
        if not metadata.get("deletionTimestamp"):
            return
        finalizers = list(metadata.get("finalizers") or ())
        if ORPHAN in finalizers:
            for key in dependents:
                self._drop_reference(key, uid)
            self._remove_finalizer(resource, owner, ORPHAN)
        elif FOREGROUND in finalizers:
            for key in dependents:
                stored = self._store.get(*key)
                if stored is not None and not stored.obj["metadata"].get("deletionTimestamp"):
                    policy = "Foreground" if _blocks(stored, uid) else None
                    self._delete(key[0], stored, policy)
            waiting = any(
                (stored := self._store.get(*key)) is not None and _blocks(stored, uid)
                for key in list(self._dependents.get(uid, ()))
            )
            if not waiting:
                self._remove_finalizer(resource, owner, FOREGROUND)

    def _process_dependent(self, key: ObjectKey) -> None:
        stored = self._store.get(*key)
        if stored is None:
            return
        refs = [
            r for r in stored.obj["metadata"].get("ownerReferences") or () if isinstance(r, dict)
        ]
        if not refs:
            return
        absent = [ref for ref in refs if not self._owner_exists(ref, stored)]
        if not absent:
            return
        if len(absent) == len(refs):
            if not stored.obj["metadata"].get("deletionTimestamp"):
                self._delete(key[0], stored, None)
            return
        obj = copy_of(stored)
        gone = {str(ref.get("uid")) for ref in absent}
        obj["metadata"]["ownerReferences"] = [
            ref for ref in refs if str(ref.get("uid")) not in gone
        ]
        self._lifecycle.commit_update(key[0], obj, stored)

    def _owner_exists(self, ref: dict[str, Any], dependent: StoredObject) -> bool:
        found = self._store.by_uid(str(ref.get("uid")))
        if found is None:
            return False
        _, owner = found
        if owner.obj.get("kind") != ref.get("kind"):
            return False
        # a namespaced owner must live in the dependent's namespace
        return not owner.namespace or owner.namespace == dependent.namespace

    def _delete(self, resource: str, stored: StoredObject, propagation: str | None) -> None:
        rtype = self._lifecycle.type_of(resource)
        if rtype is None:
            return
        self._lifecycle.delete(resource, rtype, stored, propagation=propagation)

    def _drop_reference(self, key: ObjectKey, owner_uid: str) -> None:
        stored = self._store.get(*key)
        if stored is None:
            return
        obj = copy_of(stored)
        refs = obj["metadata"].get("ownerReferences") or []
        kept = [ref for ref in refs if str(ref.get("uid")) != owner_uid]
        if kept:
            obj["metadata"]["ownerReferences"] = kept
        else:
            obj["metadata"].pop("ownerReferences", None)
        self._lifecycle.commit_update(key[0], obj, stored)

    def _remove_finalizer(self, resource: str, owner: StoredObject, finalizer: str) -> None:
        obj = copy_of(owner)
        finalizers = [f for f in obj["metadata"].get("finalizers") or () if f != finalizer]
        if finalizers:
            obj["metadata"]["finalizers"] = finalizers
        else:
            obj["metadata"].pop("finalizers", None)
        self._lifecycle.commit_update(resource, obj, owner)

    def stop(self) -> None:
        self._debouncer.cancel()


def _blocks(dependent: StoredObject, owner_uid: str) -> bool:
    for ref in dependent.obj["metadata"].get("ownerReferences") or ():
        if isinstance(ref, dict) and ref.get("uid") == owner_uid and ref.get("blockOwnerDeletion"):
            return True
    return False

"""Updates and deletions with the finalizer rules every writer obeys.

API requests and the built-in controllers (garbage collector, namespace and CRD cleanup) all
commit through here, so "the last finalizer removed from a deleting object deletes it" and
"deleting an object that has finalizers only marks it" hold whoever writes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sim.apiserver import strategy
from sim.apiserver.registry import TypeRegistry
from sim.apiserver.resources import ResourceType
from sim.apiserver.store import ObjectStore, StoredObject

ORPHAN = "orphan"
FOREGROUND = "foregroundDeletion"
PROPAGATION_POLICIES = ("Orphan", "Background", "Foreground")


def copy_of(stored: StoredObject) -> dict[str, Any]:
    """A private, mutable copy of a stored object (decoding its bytes beats deepcopy)."""
    copied: dict[str, Any] = json.loads(stored.raw)
    return copied


def pending_finalizers(obj: dict[str, Any]) -> bool:
    """Whether anything still holds the object back from removal.

    A namespace is also held by `spec.finalizers` until the namespace controller finalizes it.
    """
    if obj["metadata"].get("finalizers"):
        return True
    if obj.get("kind") == "Namespace" and obj.get("apiVersion") == "v1":
        return bool((obj.get("spec") or {}).get("finalizers"))
    return False


@dataclass(frozen=True)
class Deletion:
    """What a DELETE did: the object as last stored, and whether it is gone."""

    stored: StoredObject
    removed: bool


class Lifecycle:
    """Commits updates and deletions against the store."""

    def __init__(self, store: ObjectStore, registry: TypeRegistry) -> None:
        self.store = store
        self.registry = registry

    def type_of(self, resource: str) -> ResourceType | None:
        return self.registry.for_storage(resource)

    def commit_update(
        self, resource: str, new: dict[str, Any], previous: StoredObject
    ) -> StoredObject:
        """Store `new` (already prepared); delete it instead if its last finalizer went away."""
        if strategy.unchanged(new, previous.obj):
            return previous
        if new["metadata"].get("deletionTimestamp") and not pending_finalizers(new):
            return self.store.delete(resource, previous, new)
        return self.store.replace(resource, new, previous)

    def delete(
        self,
        resource: str,
        rtype: ResourceType,
        stored: StoredObject,
        *,
        propagation: str | None,
        dry_run: bool = False,
    ) -> Deletion:
        """Remove the object, or mark it deleting when finalizers (or the policy) hold it."""
        obj = copy_of(stored)
        metadata = obj["metadata"]
        finalizers = list(metadata.get("finalizers") or [])
        if propagation == "Orphan" and ORPHAN not in finalizers:
            finalizers.append(ORPHAN)
            if FOREGROUND in finalizers:
                finalizers.remove(FOREGROUND)
        elif propagation == "Foreground" and FOREGROUND not in finalizers:
            finalizers.append(FOREGROUND)
            if ORPHAN in finalizers:
                finalizers.remove(ORPHAN)
        elif propagation == "Background" and metadata.get("deletionTimestamp"):
            finalizers = [f for f in finalizers if f not in (ORPHAN, FOREGROUND)]
        if finalizers:
            metadata["finalizers"] = finalizers
        else:
            metadata.pop("finalizers", None)
        if not pending_finalizers(obj):
            if dry_run:
                return Deletion(stored, removed=True)
            return Deletion(self.store.delete(resource, stored, obj), removed=True)
        strategy.mark_deleting(obj, rtype)
        if obj.get("kind") == "Namespace" and rtype.group == "":
            obj.setdefault("status", {})["phase"] = "Terminating"
        if dry_run or strategy.unchanged(obj, stored.obj):
            return Deletion(stored, removed=False)
        return Deletion(self.store.replace(resource, obj, stored), removed=False)

"""CustomResourceDefinitions taking effect: what apiextensions-apiserver's controllers do.

A CRD that is committed is served at once (the registry changes inside the commit, before the
create or update returns), then its status is written as the real controllers write it:
`NamesAccepted` and `Established` conditions and `acceptedNames`, which `kubectl wait --for
condition=established` waits for. Deleting a CRD deletes its custom resources first (the
`customresourcecleanup.apiextensions.k8s.io` finalizer), then stops serving the kind.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sim.apiserver import crd
from sim.apiserver.errors import CauseLike
from sim.apiserver.lifecycle import Lifecycle, copy_of
from sim.apiserver.registry import TypeRegistry, storage_key
from sim.apiserver.scheduling import Debouncer
from sim.apiserver.store import DELETED, ObjectStore, WatchEvent
from sim.apiserver.timestamps import format_time, now

CRDS = "apiextensions.k8s.io/customresourcedefinitions"
CLEANUP_FINALIZER = "customresourcecleanup.apiextensions.k8s.io"


def admit_crd(obj: dict[str, Any], old: dict[str, Any] | None) -> list[CauseLike]:
    """Validate as the real server does; a new CRD gets the cleanup finalizer."""
    causes: list[CauseLike] = list(crd.validate_crd(obj))
    if not causes and old is None:
        finalizers = obj["metadata"].setdefault("finalizers", [])
        if CLEANUP_FINALIZER not in finalizers:
            finalizers.append(CLEANUP_FINALIZER)
    return causes


def _condition(
    kind: str, status: str, reason: str, message: str, old: dict[str, Any]
) -> dict[str, Any]:
    previous = next((c for c in (old.get("conditions") or ()) if c.get("type") == kind), None)
    moment = format_time(now())
    if previous is not None and previous.get("status") == status:
        moment = previous.get("lastTransitionTime", moment)
    return {
        "type": kind,
        "status": status,
        "lastTransitionTime": moment,
        "reason": reason,
        "message": message,
    }


class CRDController:
    """Keeps the registry in step with the CRD objects and writes their status."""

    def __init__(
        self,
        store: ObjectStore,
        registry: TypeRegistry,
        lifecycle: Lifecycle,
        *,
        on_removed: Callable[[str], None],
        delay: float = 0.01,
    ) -> None:
        self._store = store
        self._registry = registry
        self._lifecycle = lifecycle
        self._on_removed = on_removed
        self._pending: set[str] = set()
        self._debouncer = Debouncer(self.reconcile, delay=delay)
        store.subscribe(self._observe)

    def _observe(self, event: WatchEvent) -> None:
        if event.resource != CRDS:
            if event.type == DELETED and self._pending:
                self._debouncer.poke()  # a custom resource went; a cleanup may finish
            return
        obj = event.current.obj
        name = event.current.name
        if event.type == DELETED:
            for rtype in self._registry.remove_crd(name):
                key = storage_key(rtype)
                if self._registry.for_storage(key) is None:
                    self._store.drop_resource(key)
                    self._on_removed(key)
            return
        if not obj["metadata"].get("deletionTimestamp"):
            types = crd.resource_types_from_crd(obj)
            if self._registry.conflicting_crd(name, types) is None:
                self._registry.set_crd(name, types)
        self._pending.add(name)
        self._debouncer.poke()

    def reconcile(self) -> None:
        for name in sorted(self._pending):
            stored = self._store.get(CRDS, "", name)
            if stored is None:
                self._pending.discard(name)
                continue
            if stored.obj["metadata"].get("deletionTimestamp"):
                if self._clean_up(stored.obj):
                    self._pending.discard(name)
                    self._release(name)
                continue
            self._pending.discard(name)
            self._write_status(name)

    def _write_status(self, name: str) -> None:
        stored = self._store.get(CRDS, "", name)
        if stored is None:
            return
        obj = copy_of(stored)
        spec = obj.get("spec") or {}
        old_status = obj.get("status") or {}
        types = crd.resource_types_from_crd(obj)
        conflict = self._registry.conflicting_crd(name, types)
        names = spec.get("names") or {}
        accepted = {"plural": names.get("plural"), "singular": names.get("singular")
                    or str(names.get("kind", "")).lower(), "kind": names.get("kind"),
                    "listKind": names.get("listKind") or f"{names.get('kind')}List"}  # fmt: skip
        for key in ("shortNames", "categories"):
            if names.get(key):
                accepted[key] = names[key]
        if conflict is None:
            conditions = [
                _condition(
                    "NamesAccepted", "True", "NoConflicts", "no conflicts found", old_status
                ),
                _condition(
                    "Established",
                    "True",
                    "InitialNamesAccepted",
                    "the initial names have been accepted",
                    old_status,
                ),
            ]
        else:
            conditions = [
                _condition("NamesAccepted", "False", "NameConflict", conflict, old_status),
                _condition(
                    "Established", "False", "NotAccepted", "not all names are accepted", old_status
                ),
            ]
            accepted = old_status.get("acceptedNames") or {"plural": "", "kind": ""}
        stored_versions = list(old_status.get("storedVersions") or [])
        for version in spec.get("versions") or ():
            if version.get("storage") and version.get("name") not in stored_versions:
                stored_versions.append(version.get("name"))
        obj["status"] = {
            "conditions": conditions,
            "acceptedNames": accepted,
            "storedVersions": stored_versions,
        }
        self._lifecycle.commit_update(CRDS, obj, stored)

    def _clean_up(self, obj: dict[str, Any]) -> bool:
        """Delete the CRD's custom resources; True once none is left."""
        name = obj["metadata"]["name"]
        left = False
        for rtype in self._registry.crd_types(name):
            key = storage_key(rtype)
            for stored in self._store.objects(key):
                left = True
                if not stored.obj["metadata"].get("deletionTimestamp"):
                    self._lifecycle.delete(key, rtype, stored, propagation="Background")
            if self._store.count(key):
                left = True
        return not left or not any(
            self._store.count(storage_key(rtype)) for rtype in self._registry.crd_types(name)
        )

    def _release(self, name: str) -> None:
        stored = self._store.get(CRDS, "", name)
        if stored is None:
            return
        obj = copy_of(stored)
        finalizers = [f for f in obj["metadata"].get("finalizers") or () if f != CLEANUP_FINALIZER]
        if finalizers:
            obj["metadata"]["finalizers"] = finalizers
        else:
            obj["metadata"].pop("finalizers", None)
        self._lifecycle.commit_update(CRDS, obj, stored)

    def stop(self) -> None:
        self._debouncer.cancel()

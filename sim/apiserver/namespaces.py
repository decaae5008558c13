"""Namespaces: their admission rules and the namespace controller's cleanup.

A namespace is created Active with the `kubernetes` finalizer in `spec.finalizers`. Deleting it
marks it Terminating (new objects in it are then refused with 403); the controller deletes its
contents in the background and, once nothing is left, clears the finalizer, which removes the
namespace, as kube-controller-manager's namespace controller does.
"""

from __future__ import annotations

from typing import Any

from sim.apiserver.errors import CauseLike
from sim.apiserver.lifecycle import Lifecycle, copy_of
from sim.apiserver.scheduling import Debouncer
from sim.apiserver.store import DELETED, ObjectStore, WatchEvent

NAMESPACES = "/namespaces"
KUBERNETES_FINALIZER = "kubernetes"


def admit_namespace(obj: dict[str, Any], old: dict[str, Any] | None) -> list[CauseLike]:
    """Creation sets the finalizer and phase; updates cannot change either. The
    `kubernetes.io/metadata.name` label always carries the name, as the real admission sets it.
    """
    metadata = obj["metadata"]
    labels = metadata.get("labels") or {}
    labels["kubernetes.io/metadata.name"] = metadata.get("name", "")
    metadata["labels"] = labels
    spec = obj.setdefault("spec", {})
    if old is None:
        spec["finalizers"] = [KUBERNETES_FINALIZER]
        obj["status"] = {"phase": "Active"}
    else:
        old_finalizers = (old.get("spec") or {}).get("finalizers")
        if old_finalizers:
            spec["finalizers"] = old_finalizers
        else:
            spec.pop("finalizers", None)
        if not spec:
            obj.pop("spec")
    return []


def namespace_object(name: str) -> dict[str, Any]:
    """A namespace manifest, as the server creates `default`, `kube-system` and friends."""
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name}},
    }


class NamespaceController:
    """Empties Terminating namespaces, then lets them go."""

    def __init__(self, store: ObjectStore, lifecycle: Lifecycle, *, delay: float = 0.05) -> None:
        self._store = store
        self._lifecycle = lifecycle
        self._terminating: set[str] = set()
        self._debouncer = Debouncer(self.reconcile, delay=delay)
        store.subscribe(self._observe)

    def _observe(self, event: WatchEvent) -> None:
        current = event.current
        if event.resource == NAMESPACES:
            if event.type != DELETED and current.obj["metadata"].get("deletionTimestamp"):
                self._terminating.add(current.name)
                self._debouncer.poke()
            elif event.type == DELETED:
                self._terminating.discard(current.name)
        elif event.type == DELETED and current.namespace in self._terminating:
            self._debouncer.poke()

    def reconcile(self) -> None:
        for name in sorted(self._terminating):
            self._finish(name)

    def _finish(self, name: str) -> None:
        namespace = self._store.get(NAMESPACES, "", name)
        if namespace is None:
            self._terminating.discard(name)
            return
        remaining = False
        for resource, stored in self._store.namespace_contents(name):
            remaining = True
            if stored.obj["metadata"].get("deletionTimestamp"):
                continue
            rtype = self._lifecycle.type_of(resource)
            if rtype is not None:
                self._lifecycle.delete(resource, rtype, stored, propagation="Background")
        if remaining and any(True for _ in self._store.namespace_contents(name)):
            return
        obj = copy_of(namespace)
        spec = obj.get("spec") or {}
        spec.pop("finalizers", None)
        obj["spec"] = spec
        self._lifecycle.commit_update(NAMESPACES, obj, namespace)

    def stop(self) -> None:
        self._debouncer.cancel()

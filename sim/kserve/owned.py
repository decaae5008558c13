"""How the KServe stand-in keeps the objects it owns as it wants them.

KServe reconciles every object it creates: a missing one is created again, an edited one is put
back (its spec, labels and ownerReference). "As it wants them" is semantic: fields the API server
or others added that KServe does not set are left alone (as controller-runtime's semantic
equality on the fields KServe builds), while a changed or added entry in a list it sets is reverted.
Reverting routes (Ingress, HTTPRoute) is switchable, to test kcanary against both.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping
from typing import Any

from sim.kube_calls import APICallError, Kind, KubeCalls, Obj
from sim.object_feed import ObjectFeed

log = logging.getLogger(__name__)


def covers(current: Any, desired: Any) -> bool:
    """Whether `current` has every field of `desired` with the same value (lists: same length)."""
    if isinstance(desired, Mapping):
        if not isinstance(current, Mapping):
            return False
        return all(covers(current.get(k), v) for k, v in desired.items())
    if isinstance(desired, list):
        if not isinstance(current, list) or len(current) != len(desired):
            return False
        return all(covers(c, d) for c, d in zip(current, desired, strict=True))
    return bool(current == desired)


def overlay(current: Any, desired: Any) -> Any:
    """`desired` written over `current`: maps merged key by key, anything else replaced."""
    if isinstance(current, Mapping) and isinstance(desired, Mapping):
        merged = dict(current)
        for key, value in desired.items():
            merged[key] = overlay(current.get(key), value)
        return merged
    return copy.deepcopy(desired)


class OwnedObjects:
    """Create-or-revert for one kind, reading the current state from a feed."""

    def __init__(self, calls: KubeCalls, feed: ObjectFeed) -> None:
        self._calls = calls
        self.feed = feed

    @property
    def kind(self) -> Kind:
        return self.feed.kind

    def ensure(self, desired: Obj, *, revert: bool = True) -> Obj | None:
        """Create `desired`, or put its fields back on the current object; the object."""
        meta = desired["metadata"]
        namespace, name = str(meta["namespace"]), str(meta["name"])
        current = self.feed.get(namespace, name)
        if current is None:
            current = self._calls.get(self.kind, namespace, name)
        try:
            if current is None:
                return self._calls.create(self.kind, namespace, desired)
            if current.get("metadata", {}).get("deletionTimestamp"):
                return current
            wanted = {k: v for k, v in desired.items() if k not in ("apiVersion", "kind")}
            if not revert or covers(current, wanted):
                return current
            fixed = copy.deepcopy(current)
            fixed["spec"] = overlay(fixed.get("spec"), desired.get("spec"))
            fixed_meta = fixed.setdefault("metadata", {})
            for field in ("labels", "annotations"):
                if meta.get(field):
                    fixed_meta[field] = {**(fixed_meta.get(field) or {}), **meta[field]}
            fixed_meta["ownerReferences"] = meta.get("ownerReferences")
            log.info("reverting %s %s/%s to what KServe wants", self.kind.plural, namespace, name)
            return self._calls.replace(self.kind, namespace, name, fixed)
        except APICallError as error:
            # 403: the namespace is being deleted, and the ISVC with it.
            level = logging.DEBUG if error.status == 403 else logging.WARNING
            log.log(level, "cannot write %s %s/%s: %s", self.kind.plural, namespace, name, error)
            return None

    def remove(self, namespace: str, name: str) -> None:
        if self.feed.get(namespace, name) is not None:
            try:
                self._calls.delete(self.kind, namespace, name)
            except APICallError as error:
                log.warning("cannot delete %s %s/%s: %s", self.kind.plural, namespace, name, error)

"""Writing the InferenceRollout: created once per ISVC, its status the rollout's commit point.

The InferenceRollout is read from the watch cache, which may lag behind our own last write. A
stale status would make the machine decide again from an older step (and move traffic back),
so `InferenceRollouts` remembers the newest resourceVersion it wrote or read per object and
reads the object from the API server whenever the cache holds another.

The status is written through the `/status` subresource as a JSON merge patch conditioned on
the resourceVersion read, so a controller working from a stale copy gets 409 and starts over
rather than overwriting a newer decision. A merge patch merges objects, and the status must be
replaced, not merged (rollout.status): the patch therefore nulls every key the new status no
longer has, at any depth. Nothing is written when the new status equals the stored one, which
is what keeps an idle controller silent.
"""

from __future__ import annotations

import threading
from typing import Any

from reconcile.log_fields import rollout_logger
from reconcile.resources import (
    INFERENCE_ROLLOUT,
    ClusterStore,
    ObjectReader,
    RolloutKey,
    RolloutObjects,
    annotations_of,
    resource_version,
)
from reconcile.routing import RouteChoice
from rollout.state import RolloutState
from rollout.status import to_status
from traffic.store import AlreadyExists, JsonObject, PatchType
from traffic.target import ISVC_API_VERSION, MANAGED_BY_LABEL

log = rollout_logger(__name__)


class InferenceRollouts:
    """Reads and writes the InferenceRollouts, never acting on a copy older than one it saw."""

    def __init__(self, store: ClusterStore, reader: ObjectReader) -> None:
        self._store = store
        self._reader = reader
        self._known: dict[RolloutKey, str] = {}
        self._quiet: dict[RolloutKey, str] = {}
        """The version of a status write that asked for nothing else (a tick's lastAnalysis):
        its watch event needs no reconcile of its own."""
        self._lock = threading.Lock()

    def read(self, objects: RolloutObjects) -> JsonObject | None:
        cached = self._reader.get(objects.rollout)
        with self._lock:
            known = self._known.get(objects.key)
        if known is None or resource_version(cached) == known:
            return cached
        fresh = self._store.get(objects.rollout)
        if fresh is not None:
            self._note(objects, fresh)
        return fresh

    def create(
        self, objects: RolloutObjects, isvc: JsonObject, choice: RouteChoice | None
    ) -> tuple[JsonObject, bool]:
        """The InferenceRollout, and whether this call created it (not someone before)."""
        body = new_rollout_object(objects, isvc, choice.annotations() if choice else {})
        try:
            created = self._store.create(objects.rollout, body)
        except AlreadyExists:
            found = self._store.get(objects.rollout)
            if found is None:
                raise
            self._note(objects, found)
            return found, False
        log.info("%s: created InferenceRollout", objects)
        self._note(objects, created)
        return created, True

    def remember_choice(
        self, objects: RolloutObjects, rollout: JsonObject, choice: RouteChoice
    ) -> JsonObject:
        """Keep the traffic mode on the InferenceRollout in step with the strategy, so that a
        hand back after the strategy is gone knows what to remove."""
        if RouteChoice.remembered(annotations_of(rollout)) == choice:
            return rollout
        patched = self._store.patch(
            objects.rollout,
            {"metadata": {"annotations": choice.annotations()}},
            resource_version=resource_version(rollout),
            patch_type=PatchType.MERGE,
        )
        self._note(objects, patched)
        return patched

    def write_status(
        self, objects: RolloutObjects, stored: JsonObject, state: RolloutState
    ) -> JsonObject | None:
        written = write_status(self._store, objects, stored, state)
        if written is not None:
            self._note(objects, written)
        return written

    def note_quiet_write(self, objects: RolloutObjects, written: JsonObject) -> None:
        version = resource_version(written)
        if version is not None:
            with self._lock:
                self._quiet[objects.key] = version

    def is_echo_of_quiet_write(self, key: RolloutKey, version: str | None) -> bool:
        """Whether a watched change is our own last quiet write coming back (once)."""
        with self._lock:
            if version is None or self._quiet.get(key) != version:
                return False
            del self._quiet[key]
            return True

    def forget(self, objects: RolloutObjects) -> None:
        with self._lock:
            self._known.pop(objects.key, None)
            self._quiet.pop(objects.key, None)

    def _note(self, objects: RolloutObjects, stored: JsonObject) -> None:
        version = resource_version(stored)
        if version is not None:
            with self._lock:
                self._known[objects.key] = version


def new_rollout_object(
    objects: RolloutObjects, isvc: JsonObject, annotations: dict[str, str | None]
) -> JsonObject:
    """The InferenceRollout for `isvc`: same name and namespace, owned by it."""
    meta = isvc.get("metadata") or {}
    key, value = MANAGED_BY_LABEL
    return {
        "apiVersion": INFERENCE_ROLLOUT.api_version,
        "kind": INFERENCE_ROLLOUT.kind,
        "metadata": {
            "name": objects.name,
            "namespace": objects.namespace,
            "labels": {key: value},
            "annotations": {k: v for k, v in annotations.items() if v is not None},
            "ownerReferences": [
                {
                    "apiVersion": str(isvc.get("apiVersion") or ISVC_API_VERSION),
                    "kind": "InferenceService",
                    "name": objects.name,
                    "uid": str(meta.get("uid") or ""),
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": {"targetRef": {"name": objects.name}},
    }


def merge_patch(old: Any, new: Any) -> Any:
    """The RFC 7386 merge patch that turns `old` into `new` (lists are replaced whole)."""
    if not isinstance(old, dict) or not isinstance(new, dict):
        return new
    patch: dict[str, Any] = {key: None for key in old if key not in new}
    for key, value in new.items():
        if key not in old:
            patch[key] = value
        elif old[key] != value:
            patch[key] = merge_patch(old[key], value)
    return patch


def write_status(
    store: ClusterStore, objects: RolloutObjects, stored: JsonObject, state: RolloutState
) -> JsonObject | None:
    """Write `state` as the status of `stored` if it differs; the stored object, or None when
    nothing needed writing. Raises Conflict when `stored` is no longer the latest version."""
    old = stored.get("status") or {}
    new = to_status(state)
    if new == old:
        return None
    return store.patch_status(
        objects.rollout,
        {"status": merge_patch(old, new)},
        resource_version=resource_version(stored),
    )

"""An in-memory :class:`~traffic.store.Store`: the routers' test double.

It behaves like the API server where routers can tell the difference: one global, increasing
resourceVersion; uid, generation and creationTimestamp on create; 404, 409 AlreadyExists and
409 Conflict; merge and JSON patches; a patch whose result carries another resourceVersion than
the stored one is a conflict, as on a real server. Tests can make another writer change an
object just before the next write (to provoke a 409), make the next call fail, and count the
writes a router made.
"""

from __future__ import annotations

import copy
import datetime
import itertools
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from traffic.patches import PatchError, apply_json_patch, apply_merge_patch
from traffic.store import (
    AlreadyExists,
    Conflict,
    Invalid,
    JsonObject,
    NotFound,
    ObjectRef,
    PatchType,
    StoreError,
)

__all__ = ["InMemoryStore", "WriteRecord"]


@dataclass(frozen=True)
class WriteRecord:
    """One write a caller asked for: ``verb`` is create, patch or delete."""

    verb: str
    ref: ObjectRef
    accepted: bool
    body: Any = None


Interleaved = Callable[["InMemoryStore"], object]


class InMemoryStore:
    """Objects in a dict, with the API server's versioning and preconditions."""

    def __init__(self) -> None:
        self._objects: dict[ObjectRef, JsonObject] = {}
        self._versions = itertools.count(1)
        self._interleaved: list[Interleaved] = []
        self._failures: list[StoreError] = []
        self._in_interleaved = False
        self.log: list[WriteRecord] = []
        """Every write callers asked for, accepted or not (interleaved writers' excluded)."""

    # --- what tests use to steer and observe -------------------------------------------------

    def interleave(self, writer: Interleaved, *, times: int = 1) -> None:
        """Run ``writer`` just before each of the next ``times`` writes, as a concurrent client."""
        self._interleaved.extend([writer] * times)

    def fail_next(self, error: StoreError) -> None:
        """Make the next call (read or write) raise ``error``."""
        self._failures.append(error)

    def writes(self) -> int:
        """How many writes callers made that the store accepted."""
        return sum(1 for record in self.log if record.accepted)

    def put(self, ref: ObjectRef, obj: JsonObject) -> JsonObject:
        """Store ``obj`` unconditionally (seeding a test), as if another client created it."""
        stored = self._stamp_new(ref, obj)
        self._objects[ref] = stored
        return copy.deepcopy(stored)

    # --- the Store protocol ------------------------------------------------------------------

    def get(self, ref: ObjectRef) -> JsonObject | None:
        self._raise_injected_failure()
        found = self._objects.get(ref)
        return copy.deepcopy(found) if found is not None else None

    def create(self, ref: ObjectRef, obj: JsonObject) -> JsonObject:
        self._before_write()
        if ref in self._objects:
            self._record("create", ref, False, obj)
            raise AlreadyExists(f"{ref} already exists", ref=ref)
        meta = obj.get("metadata") or {}
        if meta.get("name") not in (None, ref.name) or meta.get("namespace") not in (
            None,
            ref.namespace,
        ):
            self._record("create", ref, False, obj)
            raise Invalid(f"{ref}: the object's metadata names another object", ref=ref)
        stored = self._stamp_new(ref, obj)
        self._objects[ref] = stored
        self._record("create", ref, True, obj)
        return copy.deepcopy(stored)

    def patch(
        self,
        ref: ObjectRef,
        patch: JsonObject | list[JsonObject],
        *,
        resource_version: str | None,
        patch_type: PatchType = PatchType.MERGE,
    ) -> JsonObject:
        self._before_write()
        current = self._objects.get(ref)
        if current is None:
            self._record("patch", ref, False, patch)
            raise NotFound(f"{ref} not found", ref=ref)
        stored_version = current["metadata"]["resourceVersion"]
        if resource_version is not None and resource_version != stored_version:
            self._record("patch", ref, False, patch)
            raise Conflict(_conflict_message(ref), ref=ref)
        try:
            patched = self._apply(current, patch, patch_type)
        except PatchError as error:
            self._record("patch", ref, False, patch)
            raise Invalid(f"{ref}: {error}", ref=ref) from None
        meta = patched.get("metadata") or {}
        if meta.get("resourceVersion", stored_version) != stored_version:
            self._record("patch", ref, False, patch)
            raise Conflict(_conflict_message(ref), ref=ref)
        if meta.get("name") != ref.name or (meta.get("namespace") or "") != ref.namespace:
            self._record("patch", ref, False, patch)
            raise Invalid(f"{ref}: a patch cannot change the name or namespace", ref=ref)
        self._record("patch", ref, True, patch)
        if patched != current:
            self._objects[ref] = self._stamp_update(current, patched)
        return copy.deepcopy(self._objects[ref])

    def delete(self, ref: ObjectRef) -> None:
        self._before_write()
        if ref not in self._objects:
            self._record("delete", ref, False)
            raise NotFound(f"{ref} not found", ref=ref)
        del self._objects[ref]
        self._record("delete", ref, True)

    # --- internals ---------------------------------------------------------------------------

    def _before_write(self) -> None:
        self._raise_injected_failure()
        if self._interleaved and not self._in_interleaved:
            writer = self._interleaved.pop(0)
            self._in_interleaved = True
            saved = len(self.log)
            try:
                writer(self)
            finally:
                self._in_interleaved = False
                del self.log[saved:]  # the other client's writes are not the caller's

    def _raise_injected_failure(self) -> None:
        if self._failures and not self._in_interleaved:
            raise self._failures.pop(0)

    def _record(self, verb: str, ref: ObjectRef, accepted: bool, body: Any = None) -> None:
        self.log.append(WriteRecord(verb, ref, accepted, copy.deepcopy(body)))

    @staticmethod
    def _apply(current: JsonObject, patch: Any, patch_type: PatchType) -> JsonObject:
        if patch_type is PatchType.JSON:
            if not isinstance(patch, list):
                raise PatchError("a JSON patch is a list of operations")
            result = apply_json_patch(current, patch)
        else:
            if not isinstance(patch, dict):
                raise PatchError("a merge patch is an object")
            result = apply_merge_patch(current, patch)
        if not isinstance(result, dict):
            raise PatchError("the patched document is not an object")
        return result

    def _next_version(self) -> str:
        return str(next(self._versions))

    def _stamp_new(self, ref: ObjectRef, obj: JsonObject) -> JsonObject:
        stored = copy.deepcopy(obj)
        stored.setdefault("apiVersion", ref.resource.api_version)
        stored.setdefault("kind", ref.resource.kind)
        meta = stored.setdefault("metadata", {})
        meta["name"] = ref.name
        if ref.namespace:
            meta["namespace"] = ref.namespace
        meta["uid"] = meta.get("uid") or str(uuid.uuid4())
        meta["creationTimestamp"] = _now()
        meta["generation"] = 1
        meta["resourceVersion"] = self._next_version()
        return stored

    def _stamp_update(self, current: JsonObject, patched: JsonObject) -> JsonObject:
        meta = patched.setdefault("metadata", {})
        for fixed in ("uid", "creationTimestamp", "generation"):
            if fixed in current["metadata"]:
                meta[fixed] = current["metadata"][fixed]
        if _without_metadata(patched) != _without_metadata(current):
            meta["generation"] = int(current["metadata"].get("generation", 1)) + 1
        meta["resourceVersion"] = self._next_version()
        return patched


def _without_metadata(obj: JsonObject) -> JsonObject:
    return {key: value for key, value in obj.items() if key not in ("metadata", "status")}


def _conflict_message(ref: ObjectRef) -> str:
    return (
        f'Operation cannot be fulfilled on {ref.resource.plural} "{ref.name}": the object has '
        "been modified; please apply your changes to the latest version and try again"
    )


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

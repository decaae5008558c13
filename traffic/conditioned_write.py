"""Read, decide, write only if unchanged since the read, and try again on a conflict.

Every router write goes through :func:`update_with_retry`: it reads the object, asks the caller
what to change (``None`` means nothing, and then nothing is written), sends the patch on the
condition that the object still has the resourceVersion that was read, and on a 409 starts over
from a fresh read, so a concurrent edit is never overwritten and never lost.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from traffic.errors import TooManyConflicts
from traffic.store import Conflict, JsonObject, NotFound, ObjectRef, PatchType, Store

__all__ = ["DEFAULT_ATTEMPTS", "PlannedPatch", "Update", "update_with_retry"]

DEFAULT_ATTEMPTS = 5
"""Conflicts tolerated in a row before giving up; the reconciler retries later with backoff."""


@dataclass(frozen=True)
class PlannedPatch:
    """A patch to send to the version of the object it was computed from."""

    body: JsonObject | list[JsonObject]
    patch_type: PatchType = PatchType.MERGE


@dataclass(frozen=True)
class Update:
    """What :func:`update_with_retry` ended with: the object as stored and whether it wrote."""

    obj: JsonObject
    wrote: bool


def update_with_retry(
    store: Store,
    ref: ObjectRef,
    plan: Callable[[JsonObject], PlannedPatch | None],
    *,
    attempts: int = DEFAULT_ATTEMPTS,
) -> Update:
    """Apply ``plan(current object)`` to ``ref``, conditioned on the version read.

    ``plan`` is called again on every retry with the fresh object and may raise to refuse it.
    Raises :class:`~traffic.store.NotFound` when the object does not exist and
    :class:`~traffic.errors.TooManyConflicts` after ``attempts`` conflicts in a row.
    """
    for _ in range(attempts):
        current = store.get(ref)
        if current is None:
            raise NotFound(f"{ref} not found", ref=ref)
        planned = plan(current)
        if planned is None:
            return Update(current, wrote=False)
        version = str(current["metadata"]["resourceVersion"])
        try:
            written = store.patch(
                ref, planned.body, resource_version=version, patch_type=planned.patch_type
            )
        except Conflict:
            continue
        return Update(written, wrote=True)
    raise TooManyConflicts(
        f"{ref} changed under every one of {attempts} attempts to write it; "
        "another client keeps modifying it (check for a second controller managing it)"
    )

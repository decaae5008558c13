"""The store protocol: how routers read and write Kubernetes objects without knowing the client.

Routers work on plain ``dict`` objects, exactly as the API server returns them. They reach the
cluster through :class:`Store`, which ``reconcile`` implements over the ``kubernetes`` client and
:mod:`traffic.memory_store` implements in memory for unit tests. Every patch can be conditioned
on the ``metadata.resourceVersion`` the caller read, so a router never overwrites a change it
has not seen: a stale version raises :class:`Conflict` and the router re-reads and re-applies
(:func:`traffic.conditioned_write.update_with_retry`).

The errors below are the only ones a store raises; ``reconcile`` subclasses them for its own
hierarchy, so a router can catch ``NotFound`` whichever store it was given.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = [
    "AlreadyExists",
    "Conflict",
    "Forbidden",
    "Invalid",
    "JsonObject",
    "NotFound",
    "ObjectRef",
    "PatchType",
    "ResourceType",
    "Store",
    "StoreError",
    "StoreUnavailable",
]

JsonObject = dict[str, Any]
"""A Kubernetes object (or a merge patch) decoded from JSON."""


@dataclass(frozen=True)
class ResourceType:
    """One kind of object as the API server addresses it (the URL needs the plural)."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool = True

    @property
    def api_version(self) -> str:
        """``apiVersion`` as written in objects: ``group/version``, or ``version`` for core."""
        return f"{self.group}/{self.version}" if self.group else self.version


@dataclass(frozen=True)
class ObjectRef:
    """Names one object: its resource type, namespace (empty when cluster-scoped) and name."""

    resource: ResourceType
    namespace: str
    name: str

    def __str__(self) -> str:
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.resource.kind} {where}"

    @classmethod
    def of(cls, resource: ResourceType, obj: JsonObject) -> ObjectRef:
        """The reference of ``obj``, an object of type ``resource``."""
        meta = obj.get("metadata") or {}
        return cls(resource, str(meta.get("namespace") or ""), str(meta.get("name") or ""))


class PatchType(enum.Enum):
    """The two patch formats custom resources accept (strategic merge is built-in kinds only)."""

    MERGE = "application/merge-patch+json"
    """RFC 7386: objects merge, ``null`` deletes a key, lists are replaced whole."""
    JSON = "application/json-patch+json"
    """RFC 6902: a list of operations (``add``, ``remove``, ``replace``, ``test``, ...)."""


class StoreError(Exception):
    """A read or write that the store could not carry out."""

    def __init__(self, message: str, *, ref: ObjectRef | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.ref = ref


class NotFound(StoreError):
    """The object does not exist (HTTP 404)."""


class Conflict(StoreError):
    """The object changed since it was read: the resourceVersion precondition failed (409)."""


class AlreadyExists(StoreError):
    """An object with that name already exists (409, reason ``AlreadyExists``)."""


class Invalid(StoreError):
    """The server rejected the object or the patch as invalid (400, 415 or 422)."""


class Forbidden(StoreError):
    """The controller's service account may not do this (401 or 403): RBAC needs a change."""


class StoreUnavailable(StoreError):
    """The API server could not be reached or answered with a server error (5xx, 429)."""


class Store(Protocol):
    """Reads and writes whole objects of any resource type.

    Objects go in and come out as plain dicts; what a write returns is the object as stored,
    with its new ``metadata.resourceVersion``.
    """

    def get(self, ref: ObjectRef) -> JsonObject | None:
        """The object, or None when it does not exist."""
        ...

    def create(self, ref: ObjectRef, obj: JsonObject) -> JsonObject:
        """Create ``obj`` (named by ``ref``); :class:`AlreadyExists` when the name is taken."""
        ...

    def patch(
        self,
        ref: ObjectRef,
        patch: JsonObject | list[JsonObject],
        *,
        resource_version: str | None,
        patch_type: PatchType = PatchType.MERGE,
    ) -> JsonObject:
        """Apply ``patch``; when ``resource_version`` is given, only to that version of the object.

        A stale ``resource_version`` raises :class:`Conflict`, a missing object :class:`NotFound`.
        """
        ...

    def delete(self, ref: ObjectRef) -> None:
        """Delete the object; :class:`NotFound` when it is already gone."""
        ...

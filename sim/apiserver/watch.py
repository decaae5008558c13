"""Watches: fan-out of committed events to open streams, with resourceVersion semantics.

A watcher registers in the same synchronous step that reads its backlog (the synthetic ADDED
events, or the history after its resourceVersion), so no event falls between the two. Events
are filtered per watcher; an object that stops matching a selector is sent as DELETED and one
that starts matching as ADDED, as the real watch cache does. Plain JSON frames reuse the bytes
encoded at commit time, so an event costs one encoding however many watchers receive it.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sim.apiserver import tables
from sim.apiserver.errors import StatusError
from sim.apiserver.representation import as_version, object_json, partial_metadata
from sim.apiserver.request_info import Representation
from sim.apiserver.resources import ResourceType
from sim.apiserver.store import ADDED, DELETED, MODIFIED, StoredObject, WatchEvent, encode_json

Predicate = Callable[[dict[str, Any]], bool]

# A watcher that falls this far behind is closed, as the real server drops slow watchers;
# the client then resumes from the last resourceVersion it saw.
MAX_PENDING = 50_000


@dataclass(frozen=True)
class WatchFilter:
    """Which objects a watch sees: namespace, name and the two selectors."""

    namespace: str | None
    name: str | None
    predicate: Predicate | None

    def matches(self, stored: StoredObject) -> bool:
        metadata = stored.obj["metadata"]
        if self.namespace is not None and metadata.get("namespace", "") != self.namespace:
            return False
        if self.name is not None and metadata.get("name") != self.name:
            return False
        return self.predicate is None or self.predicate(stored.obj)


class Watcher:
    """One open watch stream's queue of frames waiting to be written.

    A queued entry is either a ready frame (bytes shared by every plain-JSON watcher of the
    event) or a (type, object) pair still to be encoded for this watcher.
    """

    def __init__(
        self,
        rtype: ResourceType,
        resource: str,
        selection: WatchFilter,
        representation: Representation,
        include: str,
    ) -> None:
        self.rtype = rtype
        self.resource = resource
        self.selection = selection
        self.representation = representation
        self.include = include
        self.pending: deque[bytes | tuple[str, StoredObject]] = deque()
        self.closed = False
        self._wake = asyncio.Event()
        self._plain = not representation.table and not representation.partial_metadata
        self._filtered = (
            selection.namespace is not None
            or selection.name is not None
            or selection.predicate is not None
        )
        self._fast = self._plain and not self._filtered
        self._api_version = rtype.api_version

    def visible_as(self, event: WatchEvent) -> str | None:
        """The event type this watcher sees for `event`, or None when it sees nothing."""
        if not self._filtered:
            return event.type
        now_matches = self.selection.matches(event.current)
        if event.type == MODIFIED and event.previous is not None:
            before = self.selection.matches(event.previous)
            if before and not now_matches:
                return DELETED
            if now_matches and not before:
                return ADDED
        return event.type if now_matches else None

    def offer(self, event: WatchEvent, shared: SharedFrame | None = None) -> None:
        if (
            shared is not None
            and self._fast
            and event.current.obj.get("apiVersion") == self._api_version
        ):
            self._push(shared.line())  # the common case: every event, as stored
            return
        kind = self.visible_as(event)
        if kind is None:
            return
        if shared is not None and self._plain and kind == event.type:
            stored = event.current
            if stored.obj.get("apiVersion") == self._api_version:
                self._push(shared.line())
                return
        self._push((kind, event.current))

    def push_initial(self, stored: StoredObject) -> None:
        if self.selection.matches(stored):
            self._push((ADDED, stored))

    def _push(self, entry: bytes | tuple[str, StoredObject]) -> None:
        if self.closed:
            return
        self.pending.append(entry)
        if len(self.pending) > MAX_PENDING:
            self.close()
        self._wake.set()

    def close(self) -> None:
        self.closed = True
        self._wake.set()

    async def wait(self, timeout: float | None) -> None:
        if self.pending or self.closed:
            return
        self._wake.clear()
        if timeout is None:
            await self._wake.wait()
            return
        try:
            async with asyncio.timeout(timeout):
                await self._wake.wait()
        except TimeoutError:
            return

    def take_frames(self) -> bytes:
        """Everything queued, encoded and joined, leaving the queue empty."""
        frames = [
            entry if isinstance(entry, bytes) else self.frame(*entry) for entry in self.pending
        ]
        self.pending.clear()
        return b"".join(frames)

    def frame(self, kind: str, stored: StoredObject) -> bytes:
        """One newline-terminated event in the representation the client asked for."""
        if self.representation.table:
            table = tables.to_table(
                [as_version(stored.obj, self.rtype)],
                self.rtype,
                include_object=self.include,
                resource_version=str(stored.rv),
                continue_token=None,
            )
            return encode_json({"type": kind, "object": table}) + b"\n"
        if self.representation.partial_metadata:
            return encode_json({"type": kind, "object": partial_metadata(stored.obj)}) + b"\n"
        return (
            b'{"type":"' + kind.encode() + b'","object":' + object_json(stored, self.rtype) + b"}\n"
        )

    def bookmark(self, resource_version: int, *, initial_events_end: bool = False) -> bytes:
        metadata: dict[str, Any] = {"resourceVersion": str(resource_version)}
        metadata["creationTimestamp"] = None
        if initial_events_end:
            metadata["annotations"] = {"k8s.io/initial-events-end": "true"}
        obj = {"kind": self.rtype.kind, "apiVersion": self.rtype.api_version, "metadata": metadata}
        return encode_json({"type": "BOOKMARK", "object": obj}) + b"\n"


class SharedFrame:
    """An event's plain JSON frame, encoded at most once however many watchers send it."""

    __slots__ = ("_event", "_line")

    def __init__(self, event: WatchEvent) -> None:
        self._event = event
        self._line: bytes | None = None

    def line(self) -> bytes:
        if self._line is None:
            self._line = self._event.line()
        return self._line


def error_frame(error: StatusError) -> bytes:
    return encode_json({"type": "ERROR", "object": error.status()}) + b"\n"


class WatchHub:
    """Routes every committed event to the watchers of its resource."""

    def __init__(self) -> None:
        self._watchers: dict[str, set[Watcher]] = {}

    def add(self, watcher: Watcher) -> None:
        self._watchers.setdefault(watcher.resource, set()).add(watcher)

    def remove(self, watcher: Watcher) -> None:
        watchers = self._watchers.get(watcher.resource)
        if watchers is not None:
            watchers.discard(watcher)

    def publish(self, event: WatchEvent) -> None:
        watchers = self._watchers.get(event.resource)
        if not watchers:
            return
        shared = SharedFrame(event)
        for watcher in tuple(watchers):
            watcher.offer(event, shared)

    def close_resource(self, resource: str) -> None:
        """End every watch on a resource that stopped being served (its CRD was deleted)."""
        for watcher in tuple(self._watchers.pop(resource, ())):
            watcher.close()

    def close_all(self) -> None:
        for resource in tuple(self._watchers):
            self.close_resource(resource)

    @property
    def open_watches(self) -> int:
        return sum(len(watchers) for watchers in self._watchers.values())

"""Following InferenceRollouts and Events through the API's watch, as kubectl does.

A follow is a list (every object, as ADDED) and then a watch from the list's resourceVersion,
renewed in short stretches so a deadline or a stop request is noticed; when the server has
compacted that version away (410) it lists again and carries on, so no change is missed and
nothing is polled. `Feed` runs the follows of `get -w` on threads and hands their changes to
the thread that draws, in order.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from kcanary.kube import Cluster, JsonObject, WatchExpired

WATCH_STRETCH = 30.0
"""Longest single watch request; a new one starts from the last version seen."""

ListFn = Callable[[], tuple[list[JsonObject], str]]
WatchFn = Callable[[str, float], Iterator[tuple[str, JsonObject]]]


def follow(
    list_objects: ListFn,
    watch_objects: WatchFn,
    *,
    until: float | None = None,
    stop: threading.Event | None = None,
) -> Iterator[tuple[str, JsonObject]]:
    """(type, object): the current objects as ADDED, then every change until `until`
    (time.monotonic) or `stop`."""

    def remaining() -> float:
        return WATCH_STRETCH if until is None else min(WATCH_STRETCH, until - time.monotonic())

    while True:
        items, version = list_objects()
        for item in items:
            yield "ADDED", item
        try:
            while remaining() > 0 and not (stop is not None and stop.is_set()):
                for kind, obj in watch_objects(version, remaining()):
                    version = str((obj.get("metadata") or {}).get("resourceVersion") or version)
                    yield kind, obj
                    if stop is not None and stop.is_set():
                        return
            return
        except WatchExpired:
            continue


def follow_rollouts(
    cluster: Cluster,
    *,
    name: str | None = None,
    all_namespaces: bool = False,
    until: float | None = None,
    stop: threading.Event | None = None,
) -> Iterator[tuple[str, JsonObject]]:
    """The InferenceRollout `name` (or every one in the namespace or cluster) and its changes."""

    def list_objects() -> tuple[list[JsonObject], str]:
        if name is None:
            return cluster.rollouts(all_namespaces=all_namespaces)
        items, version = cluster.rollouts()
        return [item for item in items if (item.get("metadata") or {}).get("name") == name], version

    def watch_objects(version: str, timeout: float) -> Iterator[tuple[str, JsonObject]]:
        return cluster.watch_rollouts(
            name=name, resource_version=version, timeout=timeout, all_namespaces=all_namespaces
        )

    return follow(list_objects, watch_objects, until=until, stop=stop)


def follow_events(
    cluster: Cluster,
    name: str,
    *,
    until: float | None = None,
    stop: threading.Event | None = None,
) -> Iterator[tuple[str, JsonObject]]:
    """Events about the ISVC `name` and every new or repeated one."""

    def watch_objects(version: str, timeout: float) -> Iterator[tuple[str, JsonObject]]:
        return cluster.watch_events(name, version, timeout)

    return follow(lambda: cluster.events(name), watch_objects, until=until, stop=stop)


@dataclass(frozen=True)
class Change:
    """One change seen by a follow: `source` is `rollout` or `event`; `error` ends the feed."""

    source: str
    type: str
    obj: JsonObject
    error: BaseException | None = None


class Feed:
    """Runs follows on daemon threads and queues their changes for one consumer."""

    def __init__(self) -> None:
        self._queue: queue.Queue[Change] = queue.Queue()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def stopping(self) -> threading.Event:
        return self._stop

    def add(self, source: str, changes: Iterator[tuple[str, JsonObject]]) -> None:
        thread = threading.Thread(
            target=self._pump, args=(source, changes), name=f"kcanary-watch-{source}", daemon=True
        )
        self._threads.append(thread)
        thread.start()

    def next(self) -> Change:
        """The next change, waiting for it; a follow that failed gives its error here."""
        return self._queue.get()

    def close(self) -> None:
        self._stop.set()

    def _pump(self, source: str, changes: Iterator[tuple[str, JsonObject]]) -> None:
        try:
            for kind, obj in changes:
                self._queue.put(Change(source, kind, obj))
        except Exception as error:
            self._queue.put(Change(source, "ERROR", {}, error))

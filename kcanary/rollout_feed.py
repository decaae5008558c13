"""Following InferenceRollouts and Events through the API's watch, as kubectl does.

A follow is a list (every object, as ADDED) and then a watch from the list's resourceVersion,
renewed in short stretches so a deadline or a stop request is noticed; when the server has
compacted that version away (410) it lists again and carries on, so no change is missed and
nothing is polled. A watch that drops (the API server restarts, the connection is reset, a 5xx
or a 429) is resumed from the last version seen after a capped exponential backoff, telling the
user once that it was lost and once that it is back; what only the user can fix (401, 403, a
missing kind, an untrusted certificate) still ends the follow with its error. `Feed` runs the
follows of `get -w` on threads and hands their changes, and those notices, to the thread that
draws, in order.
"""

from __future__ import annotations

import http.client
import queue
import ssl
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import urllib3
from kubernetes.client.exceptions import ApiException

from kcanary.command_errors import describe_api_error
from kcanary.kube import Cluster, JsonObject, WatchExpired

WATCH_STRETCH = 30.0
"""Longest single watch request; a new one starts from the last version seen."""

RECONNECT_STRETCH = 1.0
"""The first watch after a drop is this short: its end (or a change) shows the server is back
without waiting a whole stretch for news."""

ListFn = Callable[[], tuple[list[JsonObject], str]]
WatchFn = Callable[[str, float], Iterator[tuple[str, JsonObject]]]
Notify = Callable[[str], None]


@dataclass(frozen=True)
class Backoff:
    """How long to wait before the n-th retry in a row: `first`, doubling, at most `cap`."""

    first: float = 0.5
    cap: float = 8.0

    def delay(self, attempt: int) -> float:
        return min(self.cap, self.first * 2.0 ** min(attempt, 32))


def tell_on_stderr(message: str) -> None:
    # sys.stderr is looked up on every call: under rich's Live it is a proxy that prints above
    # the view instead of through it.
    print(message, file=sys.stderr, flush=True)


def follow(
    list_objects: ListFn,
    watch_objects: WatchFn,
    *,
    until: float | None = None,
    stop: threading.Event | None = None,
    what: str = "objects",
    notify: Notify = tell_on_stderr,
    backoff: Backoff = Backoff(),
) -> Iterator[tuple[str, JsonObject]]:
    """(type, object): the current objects as ADDED, then every change until `until`
    (time.monotonic) or `stop`. Drops are survived once the first list has succeeded; before
    that, as for kubectl, an unreachable server is the user's to fix."""
    stopped = stop if stop is not None else threading.Event()
    link = _Link(what, notify)
    version: str | None = None  # None: list (again) before watching

    def remaining() -> float:
        stretch = RECONNECT_STRETCH if link.lost else WATCH_STRETCH
        return stretch if until is None else min(stretch, until - time.monotonic())

    while not link.ever_up or (remaining() > 0 and not stopped.is_set()):
        try:
            if version is None:
                items, version = list_objects()
                link.up()
                for item in items:
                    yield "ADDED", item
                continue
            for kind, obj in watch_objects(version, remaining()):
                link.up()
                version = str((obj.get("metadata") or {}).get("resourceVersion") or version)
                yield kind, obj
                if stopped.is_set():
                    return
            link.up()  # the server ended the stretch: it is there
        except WatchExpired:
            version = None
        except Exception as error:
            if not link.ever_up or not survivable(error):
                raise
            link.down(error)
            wait = backoff.delay(link.failures - 1)
            if until is not None:
                wait = min(wait, until - time.monotonic())
            stopped.wait(max(0.0, wait))


class _Link:
    """Whether a follow's watch is connected, so a drop and a return are told only once."""

    def __init__(self, what: str, notify: Notify) -> None:
        self._what = what
        self._notify = notify
        self.ever_up = False
        self.lost = False
        self.failures = 0  # in a row, for the backoff

    def up(self) -> None:
        self.ever_up = True
        self.failures = 0
        if self.lost:
            self.lost = False
            self._notify(f"watch of {self._what} is back")

    def down(self, error: Exception) -> None:
        self.failures += 1
        if not self.lost:
            self.lost = True
            self._notify(f"watch of {self._what} lost ({_why(error)}); reconnecting")


def survivable(error: Exception) -> bool:
    """A drop worth retrying: the server busy or failing (5xx, 429) or the connection gone.
    What the user must fix (401, 403, 404, other 4xx, an untrusted certificate) is not."""
    if isinstance(error, ApiException):
        status = error.status if isinstance(error.status, int) else 0
        return status == 429 or status >= 500
    if _certificate_refused(error):
        return False
    return isinstance(
        error,
        (urllib3.exceptions.HTTPError, http.client.HTTPException, ConnectionError, TimeoutError),
    )


def _certificate_refused(error: BaseException) -> bool:
    """urllib3 wraps the verification failure (MaxRetryError -> SSLError -> the ssl error)."""
    seen: set[int] = set()
    pending: list[object] = [error]
    while pending:
        current = pending.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        if isinstance(current, ssl.SSLCertVerificationError):
            return True
        seen.add(id(current))
        pending.extend([getattr(current, "reason", None), current.__cause__, current.__context__])
        pending.extend(current.args)
    return False


def _why(error: Exception) -> str:
    if isinstance(error, ApiException):
        return describe_api_error(error)
    reason = getattr(error, "reason", None) or error
    return " ".join(str(reason).split()) or type(error).__name__


def follow_rollouts(
    cluster: Cluster,
    *,
    name: str | None = None,
    all_namespaces: bool = False,
    until: float | None = None,
    stop: threading.Event | None = None,
    notify: Notify = tell_on_stderr,
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

    return follow(
        list_objects,
        watch_objects,
        until=until,
        stop=stop,
        what="InferenceRollouts",
        notify=notify,
    )


def follow_events(
    cluster: Cluster,
    name: str,
    *,
    until: float | None = None,
    stop: threading.Event | None = None,
    notify: Notify = tell_on_stderr,
) -> Iterator[tuple[str, JsonObject]]:
    """Events about the ISVC `name` and every new or repeated one."""

    def watch_objects(version: str, timeout: float) -> Iterator[tuple[str, JsonObject]]:
        return cluster.watch_events(name, version, timeout)

    return follow(
        lambda: cluster.events(name),
        watch_objects,
        until=until,
        stop=stop,
        what="Events",
        notify=notify,
    )


@dataclass(frozen=True)
class Change:
    """One change seen by a follow: `source` is `rollout` or `event`; `error` ends the feed."""

    source: str
    type: str
    obj: JsonObject
    error: BaseException | None = None


class Feed:
    """Runs follows on daemon threads and queues their changes for one consumer; a follow's
    notices (its watch lost, back) are told by `next`, on the consumer's thread, so they are
    printed between two draws and never through one."""

    def __init__(self, tell: Notify = tell_on_stderr) -> None:
        self._queue: queue.Queue[Change | str] = queue.Queue()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._tell = tell

    @property
    def stopping(self) -> threading.Event:
        return self._stop

    def add(self, source: str, changes: Iterator[tuple[str, JsonObject]]) -> None:
        thread = threading.Thread(
            target=self._pump, args=(source, changes), name=f"kcanary-watch-{source}", daemon=True
        )
        self._threads.append(thread)
        thread.start()

    def notify(self, message: str) -> None:
        """For a follow's `notify`: the message is told by the consumer's next `next`."""
        self._queue.put(message)

    def next(self) -> Change:
        """The next change, waiting for it; a follow that failed gives its error here."""
        while True:
            item = self._queue.get()
            if isinstance(item, Change):
                return item
            self._tell(item)

    def close(self) -> None:
        self._stop.set()

    def _pump(self, source: str, changes: Iterator[tuple[str, JsonObject]]) -> None:
        try:
            for kind, obj in changes:
                self._queue.put(Change(source, kind, obj))
        except Exception as error:
            self._queue.put(Change(source, "ERROR", {}, error))

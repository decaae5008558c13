"""Following objects as kubectl does: list, then watch from the list's version; when that version
is gone (410), list again rather than miss or fail; stop at the deadline."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

from kcanary.kube import JsonObject, WatchExpired
from kcanary.rollout_feed import follow


def rollout(name: str, version: int, phase: str) -> JsonObject:
    return {"metadata": {"name": name, "resourceVersion": str(version)}, "status": {"phase": phase}}


def test_follow_lists_then_watches_from_the_lists_version_and_from_each_change() -> None:
    watched_from: list[str] = []
    changes = iter([[("MODIFIED", rollout("iris", 11, "Paused"))], []])

    def watch(version: str, timeout: float) -> Iterator[tuple[str, JsonObject]]:
        watched_from.append(version)
        yield from next(changes, [])

    seen = follow(
        lambda: ([rollout("iris", 10, "Progressing")], "10"),
        watch,
        until=time.monotonic() + 0.2,
    )

    assert [(kind, obj["status"]["phase"]) for kind, obj in seen] == [
        ("ADDED", "Progressing"),
        ("MODIFIED", "Paused"),
    ]
    assert watched_from[:2] == ["10", "11"]


def test_follow_lists_again_when_the_watched_version_has_expired() -> None:
    lists = iter(
        [([rollout("iris", 10, "Progressing")], "10"), ([rollout("iris", 30, "Stable")], "30")]
    )
    expired = [False]

    def watch(version: str, timeout: float) -> Iterator[tuple[str, JsonObject]]:
        if not expired[0]:
            expired[0] = True
            raise WatchExpired("too old resource version: 10 (25)")
        return iter(())

    seen = list(follow(lambda: next(lists), watch, until=time.monotonic() + 0.2))

    assert [(kind, obj["status"]["phase"]) for kind, obj in seen] == [
        ("ADDED", "Progressing"),
        ("ADDED", "Stable"),
    ]


def test_follow_without_a_deadline_ends_when_stopped() -> None:
    stop = threading.Event()

    def watch(version: str, timeout: float) -> Iterator[tuple[str, JsonObject]]:
        stop.set()
        yield "MODIFIED", rollout("iris", 11, "Paused")
        yield "MODIFIED", rollout("iris", 12, "Progressing")

    seen = list(follow(lambda: ([], "10"), watch, stop=stop))

    assert [obj["status"]["phase"] for _, obj in seen] == ["Paused"]

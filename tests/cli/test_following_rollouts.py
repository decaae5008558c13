"""Following objects as kubectl does: list, then watch from the list's version; when that version
is gone (410), list again rather than miss or fail; when the connection drops or the server
fails for a while, resume from the last version seen; stop at the deadline."""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Iterator, Sequence

import pytest
import urllib3
from kubernetes.client.exceptions import ApiException

from kcanary.command_errors import describe_api_error
from kcanary.kube import JsonObject, WatchExpired
from kcanary.rollout_feed import Backoff, Feed, follow


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


# -- surviving a dropped watch -------------------------------------------------------------------

FAST = Backoff(first=0.01, cap=0.02)


def dropped() -> urllib3.exceptions.ProtocolError:
    """What the client raises when the API server goes away in the middle of a watch."""
    return urllib3.exceptions.ProtocolError(
        "Connection broken: ConnectionResetError(104, 'Connection reset by peer')"
    )


def refused(status: int, reason: str, message: str) -> ApiException:
    error = ApiException(status=status, reason=reason)
    error.body = json.dumps({"kind": "Status", "code": status, "message": message})
    return error


class ScriptedWatch:
    """A watch that plays one script per request, each a list of changes or an error to raise
    (after the changes before it); when the scripts run out it stops the follow."""

    def __init__(
        self, stop: threading.Event, *scripts: Sequence[tuple[str, JsonObject] | Exception]
    ) -> None:
        self.stop = stop
        self.scripts = list(scripts)
        self.watched_from: list[str] = []

    def __call__(self, version: str, timeout: float) -> Iterator[tuple[str, JsonObject]]:
        self.watched_from.append(version)
        if not self.scripts:
            self.stop.set()
            return
        for step in self.scripts.pop(0):
            if isinstance(step, Exception):
                raise step
            yield step


def test_a_dropped_watch_resumes_from_the_last_version_seen_and_loses_or_repeats_nothing() -> None:
    stop = threading.Event()
    lists: list[str] = []
    told: list[str] = []

    def listing() -> tuple[list[JsonObject], str]:
        lists.append("listed")
        return [rollout("iris", 10, "Progressing")], "10"

    watch = ScriptedWatch(
        stop,
        [
            ("MODIFIED", rollout("iris", 11, "Progressing")),
            ("MODIFIED", rollout("iris", 12, "Paused")),
            dropped(),
        ],
        [("MODIFIED", rollout("iris", 13, "Progressing"))],
    )

    seen = follow(
        listing, watch, stop=stop, what="InferenceRollouts", notify=told.append, backoff=FAST
    )

    assert [(kind, obj["metadata"]["resourceVersion"]) for kind, obj in seen] == [
        ("ADDED", "10"),
        ("MODIFIED", "11"),
        ("MODIFIED", "12"),
        ("MODIFIED", "13"),
    ]
    assert watch.watched_from[:2] == ["10", "12"]
    assert lists == ["listed"], "a drop is resumed, not listed again"
    assert told == [
        "watch of InferenceRollouts lost (Connection broken: ConnectionResetError(104, "
        "'Connection reset by peer')); reconnecting",
        "watch of InferenceRollouts is back",
    ]


def test_server_errors_and_refused_connections_in_a_row_are_told_once_each_way() -> None:
    stop = threading.Event()
    told: list[str] = []
    connection_refused = urllib3.exceptions.MaxRetryError(
        None,  # type: ignore[arg-type]
        "/apis/kcanary.io/v1alpha1/namespaces/default/inferencerollouts",
        urllib3.exceptions.NewConnectionError(None, "[Errno 111] Connection refused"),  # type: ignore[arg-type]
    )
    watch = ScriptedWatch(
        stop,
        [dropped()],
        [connection_refused],
        [refused(503, "Service Unavailable", "the server is shutting down")],
        [refused(429, "Too Many Requests", "slow down")],
        [("MODIFIED", rollout("iris", 11, "Paused"))],
    )

    seen = list(follow(lambda: ([], "10"), watch, stop=stop, notify=told.append, backoff=FAST))

    assert [obj["metadata"]["resourceVersion"] for _, obj in seen] == ["11"]
    assert watch.watched_from[:5] == ["10"] * 5
    assert len(told) == 2
    assert told[0].endswith("; reconnecting") and told[1] == "watch of objects is back"


def test_the_wait_between_retries_doubles_up_to_a_cap() -> None:
    assert [Backoff().delay(attempt) for attempt in range(7)] == [0.5, 1, 2, 4, 8, 8, 8]


@pytest.mark.parametrize(
    ("status", "reason", "message"),
    [
        (403, "Forbidden", 'inferencerollouts.kcanary.io is forbidden: User "dev" cannot watch'),
        (401, "Unauthorized", "Unauthorized"),
        (404, "Not Found", "the server could not find the requested resource"),
    ],
)
def test_what_the_user_must_fix_still_ends_the_feed_with_the_servers_message(
    status: int, reason: str, message: str
) -> None:
    error = refused(status, reason, message)
    stop = threading.Event()
    told: list[str] = []
    watch = ScriptedWatch(stop, [dropped()], [error])
    feed = Feed(tell=told.append)
    feed.add(
        "rollout",
        follow(lambda: ([], "10"), watch, stop=stop, notify=feed.notify, backoff=FAST),
    )

    change = feed.next()

    assert change.error is error
    assert isinstance(change.error, ApiException)
    assert message in describe_api_error(change.error)
    assert told == [
        "watch of objects lost (Connection broken: ConnectionResetError(104, "
        "'Connection reset by peer')); reconnecting"
    ]


def test_an_untrusted_certificate_is_not_retried() -> None:
    untrusted = urllib3.exceptions.MaxRetryError(
        None,  # type: ignore[arg-type]
        "/apis",
        urllib3.exceptions.SSLError(ssl.SSLCertVerificationError(1, "certificate verify failed")),
    )
    watch = ScriptedWatch(threading.Event(), [untrusted])

    with pytest.raises(urllib3.exceptions.MaxRetryError):
        list(follow(lambda: ([], "10"), watch, notify=pytest.fail, backoff=FAST))


def test_a_server_that_was_never_reached_ends_the_follow_as_kubectl_does() -> None:
    def listing() -> tuple[list[JsonObject], str]:
        raise dropped()

    with pytest.raises(urllib3.exceptions.ProtocolError):
        list(follow(listing, ScriptedWatch(threading.Event()), notify=pytest.fail))


def test_stop_ends_a_backoff_wait_promptly() -> None:
    stop = threading.Event()
    lost = threading.Event()
    ended = threading.Event()
    watch = ScriptedWatch(stop, *([dropped()] for _ in range(3)))
    slow = Backoff(first=60.0, cap=60.0)

    def run() -> None:
        list(
            follow(lambda: ([], "10"), watch, stop=stop, notify=lambda _: lost.set(), backoff=slow)
        )
        ended.set()

    threading.Thread(target=run, name="follow-under-test", daemon=True).start()
    assert lost.wait(timeout=10), "the drop was not told"
    stopped_at = time.monotonic()

    stop.set()

    assert ended.wait(timeout=5), "the follow was still waiting to retry"
    assert time.monotonic() - stopped_at < 5
    assert watch.watched_from == ["10"], "no retry after the stop"


def test_a_deadline_ends_a_backoff_wait() -> None:
    watch = ScriptedWatch(threading.Event(), *([dropped()] for _ in range(3)))
    started = time.monotonic()

    seen = list(
        follow(
            lambda: ([], "10"),
            watch,
            until=started + 0.3,
            notify=lambda _: None,
            backoff=Backoff(first=60.0, cap=60.0),
        )
    )

    assert seen == []
    assert time.monotonic() - started < 5


def test_the_feed_tells_a_drop_on_the_consumers_thread_between_the_changes_around_it() -> None:
    stop = threading.Event()
    told: list[tuple[str, str]] = []
    watch = ScriptedWatch(
        stop,
        [("MODIFIED", rollout("iris", 11, "Paused")), dropped()],
        [("MODIFIED", rollout("iris", 12, "Progressing"))],
    )
    feed = Feed(tell=lambda message: told.append((threading.current_thread().name, message)))
    feed.add(
        "rollout",
        follow(lambda: ([], "10"), watch, stop=stop, notify=feed.notify, backoff=FAST),
    )

    first = feed.next()
    assert first.obj["metadata"]["resourceVersion"] == "11"
    assert told == []
    second = feed.next()

    assert second.obj["metadata"]["resourceVersion"] == "12"
    me = threading.current_thread().name
    assert [(thread, message.split(" (")[0]) for thread, message in told] == [
        (me, "watch of objects lost"),
        (me, "watch of objects is back"),
    ]

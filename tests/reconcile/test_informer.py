"""The informer keeps its cache in step across stream ends, errors and 410 re-lists."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from reconcile.errors import APIForbidden, APIGone, APINotFound, APIUnavailable
from reconcile.informer import Informer, ListWatch, WatchEvent


def obj(name: str, rv: int) -> dict[str, Any]:
    return {"metadata": {"namespace": "ns", "name": name, "resourceVersion": str(rv)}}


class ScriptedListWatch:
    """Answers lists with `state` and watches from a script of outcomes, one per watch call."""

    def __init__(self, state: list[dict[str, Any]], rv: int, script: list[Any]) -> None:
        self.state = state
        self.rv = rv
        self.script = script
        self.watched_from: list[str] = []
        self.drained = threading.Event()

    def list(self) -> tuple[list[dict[str, Any]], str]:
        return list(self.state), str(self.rv)

    def watch(self, resource_version: str, timeout_s: int) -> Iterator[WatchEvent]:
        self.watched_from.append(resource_version)
        if not self.script:
            self.drained.set()
            # Block like an idle stream until the informer stops.
            time.sleep(0.01)
            return iter(())
        step = self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        return iter(step)


def wait_for(condition: Any, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met before the deadline"
        time.sleep(0.005)


def run(source: ScriptedListWatch) -> tuple[Informer, list[tuple[str, str]]]:
    seen: list[tuple[str, str]] = []
    informer = Informer(
        source, lambda t, o: seen.append((t, o["metadata"]["name"])), name="t", retry_delay_s=0.01
    )
    informer.start()
    wait_for(source.drained.is_set)
    informer.stop()
    informer.join(5)
    return informer, seen


def test_a_closed_stream_is_resumed_from_the_last_resource_version() -> None:
    source = ScriptedListWatch(
        [obj("a", 5)],
        5,
        [[WatchEvent("MODIFIED", obj("a", 6))], [WatchEvent("ADDED", obj("b", 7))]],
    )
    informer, seen = run(source)
    assert seen[:3] == [("ADDED", "a"), ("MODIFIED", "a"), ("ADDED", "b")]
    assert source.watched_from[:3] == ["5", "6", "7"]
    assert informer.lists == 1


def test_a_bookmark_moves_the_resource_version_without_an_event() -> None:
    source = ScriptedListWatch([], 1, [[WatchEvent("BOOKMARK", obj("", 40))]])
    _, seen = run(source)
    assert seen == []
    assert source.watched_from[:2] == ["1", "40"]


def test_410_gone_relists_and_reports_deletions_missed_meanwhile() -> None:
    source = ScriptedListWatch([obj("a", 1), obj("b", 2)], 2, [APIGone("too old")])
    original_list = source.list
    calls = 0

    def list_then_change() -> tuple[list[dict[str, Any]], str]:
        nonlocal calls
        calls += 1
        if calls == 2:  # while disconnected, b was deleted and a changed
            source.state = [obj("a", 9)]
            source.rv = 10
        return original_list()

    source.list = list_then_change  # type: ignore[method-assign]
    informer, seen = run(source)
    assert informer.lists == 2
    assert ("DELETED", "b") in seen
    assert ("MODIFIED", "a") in seen
    assert [o["metadata"]["name"] for o in informer.items()] == ["a"]


def test_an_unavailable_server_is_retried_without_relisting() -> None:
    source = ScriptedListWatch([obj("a", 3)], 3, [APIUnavailable("connection refused"), []])
    informer, _ = run(source)
    assert informer.lists == 1
    assert source.watched_from[:2] == ["3", "3"]


class UnservedKind:
    """A ListWatch whose kind has no CRD until `install` is called: lists answer 404."""

    def __init__(self) -> None:
        self.installed: list[dict[str, Any]] | None = None
        self.list_calls = 0

    def install(self, objects: list[dict[str, Any]]) -> None:
        self.installed = objects

    def list(self) -> tuple[list[dict[str, Any]], str]:
        self.list_calls += 1
        if self.installed is None:
            raise APINotFound("the server could not find the requested resource", status=404)
        return list(self.installed), "7"

    def watch(self, resource_version: str, timeout_s: int) -> Iterator[WatchEvent]:
        if self.installed is None:
            raise APINotFound("the server could not find the requested resource", status=404)
        time.sleep(0.01)  # an idle stream
        return iter(())


def settle_optional_kind(source: ListWatch, caplog: pytest.LogCaptureFixture) -> Informer:
    """Run an informer of an optional kind until it settles, capturing what it logs."""
    informer = Informer(
        source, lambda t, o: None, name="t", retry_delay_s=0.001, missing_kind_retry_s=600
    )
    with caplog.at_level(logging.INFO, logger="reconcile.informer"):
        informer.start()
        wait_for(informer.settled)
        informer.stop()
        informer.join(5)
    return informer


def test_a_kind_that_is_not_served_settles_and_is_listed_again_slowly_and_quietly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    source = UnservedKind()
    informer = settle_optional_kind(source, caplog)
    assert informer.kind_missing()
    assert not informer.serving()
    assert source.list_calls == 1  # not again before missing_kind_retry_s
    assert [r.levelno for r in caplog.records] == [logging.INFO]


class DeniedKind:
    """A ListWatch the controller's RBAC does not cover: every call answers 403."""

    def __init__(self) -> None:
        self.list_calls = 0

    def list(self) -> tuple[list[dict[str, Any]], str]:
        self.list_calls += 1
        raise APIForbidden("virtualservices is forbidden: cannot list resource", status=403)

    def watch(self, resource_version: str, timeout_s: int) -> Iterator[WatchEvent]:
        raise APIForbidden("virtualservices is forbidden: cannot watch resource", status=403)


def test_an_optional_kind_rbac_denies_settles_and_says_which_grant_is_missing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    source = DeniedKind()
    informer = settle_optional_kind(source, caplog)
    # Settled, so the controller becomes ready for ISVCs that do not route through this kind.
    assert informer.kind_missing() and not informer.serving()
    assert source.list_calls == 1
    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    assert "may not list or watch" in record.getMessage()
    assert "grant the controller's ServiceAccount list and watch" in record.getMessage()


def test_a_kind_installed_later_is_cached_once_listed_again() -> None:
    source = UnservedKind()
    seen: list[str] = []
    informer = Informer(source, lambda t, o: seen.append(t), name="t", missing_kind_retry_s=0.01)
    informer.start()
    try:
        wait_for(informer.kind_missing)
        source.install([obj("a", 7)])
        wait_for(informer.serving)
        assert not informer.kind_missing()
        assert informer.get(("ns", "a")) == obj("a", 7)
        assert seen == ["ADDED"]
    finally:
        informer.stop()
        informer.join(5)


def test_a_kind_removed_while_watched_empties_the_cache() -> None:
    # The CRD goes away: the watch ends in 404, and the informer treats the kind as missing.
    source = ScriptedListWatch(
        [obj("a", 5)], 5, [APINotFound("the server could not find the resource", status=404)]
    )
    informer = Informer(source, lambda t, o: None, name="t", missing_kind_retry_s=600)
    informer.start()
    try:
        wait_for(informer.kind_missing)
        assert informer.items() == []
        assert not informer.serving()
        assert informer.settled()
    finally:
        informer.stop()
        informer.join(5)


def test_a_required_kind_that_is_not_served_never_settles() -> None:
    source = UnservedKind()
    informer = Informer(source, lambda t, o: None, name="t", retry_delay_s=0.001)
    informer.start()
    try:
        wait_for(lambda: source.list_calls >= 3)  # retried at the usual pace
        assert not informer.settled()
        assert not informer.kind_missing()
    finally:
        informer.stop()
        informer.join(5)

"""Repeated Events are counted on one object, not written again."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from reconcile.errors import APINotFound, APIUnavailable
from reconcile.events import EventRecorder, InvolvedObject

ISVC = InvolvedObject("serving.kserve.io/v1beta1", "InferenceService", "models", "iris", "u1")


class Sink:
    def __init__(self) -> None:
        self.events: dict[str, dict[str, Any]] = {}
        self.fail = False

    def create(self, namespace: str, event: dict[str, Any]) -> dict[str, Any]:
        if self.fail:
            raise APIUnavailable("down")
        self.events[event["metadata"]["name"]] = event
        return event

    def patch(self, namespace: str, name: str, patch: dict[str, Any]) -> dict[str, Any]:
        if name not in self.events:
            raise APINotFound("gone")
        self.events[name].update(patch)
        return self.events[name]


def recorder(sink: Sink) -> EventRecorder:
    return EventRecorder(sink, host="h", clock=lambda: datetime(2026, 1, 1, tzinfo=UTC))


def test_a_repeated_event_bumps_the_count_of_one_event() -> None:
    sink = Sink()
    events = recorder(sink)
    for _ in range(5):
        events.warning(ISVC, "PrometheusUnavailable", "connection refused")
    assert len(sink.events) == 1
    (event,) = sink.events.values()
    assert event["count"] == 5
    assert event["involvedObject"]["uid"] == "u1"
    assert event["type"] == "Warning"


def test_different_messages_are_different_events() -> None:
    sink = Sink()
    events = recorder(sink)
    events.normal(ISVC, "StepAdvanced", "weight 10")
    events.normal(ISVC, "StepAdvanced", "weight 25")
    assert len(sink.events) == 2


def test_an_expired_event_is_written_afresh() -> None:
    sink = Sink()
    events = recorder(sink)
    events.normal(ISVC, "Promoted", "done")
    sink.events.clear()
    events.normal(ISVC, "Promoted", "done")
    assert len(sink.events) == 1


def test_a_failed_write_is_logged_not_raised() -> None:
    sink = Sink()
    sink.fail = True
    recorder(sink).normal(ISVC, "Promoted", "done")
    assert sink.events == {}

"""The canary weight over a rollout, and the moments worth marking on it.

Two sources, best first: the controller's `kcanary_canary_weight` gauge in Prometheus (what the
controller set, sampled at the scrape interval), and the Events the controller wrote about the
ISVC (`StepStarted` says the weight of each step; the rollout's end puts all traffic back on one
revision). Steps are always marked from the Events, which exist whether or not Prometheus does;
the decision comes from the status history.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kcanary.report.record import IN_PROGRESS, RolloutRecord
from kcanary.rollout_view import parse_moment

_STEP_WEIGHT = re.compile(r"(\d+)% of traffic")

# Events after which no traffic is on the canary: the rollout ended one way or the other (after a
# promotion the primary, or in Serverless mode the rolled-out revision, serves everything).
_ENDING_REASONS = frozenset({"RolledBack", "Aborted", "Promoted", "Superseded"})


@dataclass(frozen=True)
class WeightPoint:
    at: datetime
    percent: float


@dataclass(frozen=True)
class Mark:
    """A moment to draw as a vertical line: a step starting, a pause, the decision."""

    at: datetime
    label: str
    kind: str
    """`step`, `pause`, `action` or `decision`."""


def event_time(event: Mapping[str, Any]) -> datetime | None:
    """When an Event (core/v1 JSON) last happened."""
    for key in ("lastTimestamp", "eventTime", "firstTimestamp"):
        moment = parse_moment(event.get(key))
        if moment is not None:
            return moment
    return parse_moment((event.get("metadata") or {}).get("creationTimestamp"))


def in_window(
    events: Iterable[Mapping[str, Any]], start: datetime, end: datetime | None
) -> list[tuple[datetime, Mapping[str, Any]]]:
    """The Events between `start` and `end` (None: now), oldest first, with their times."""
    found = []
    for event in events:
        moment = event_time(event)
        if moment is None or moment < start or (end is not None and moment > end):
            continue
        found.append((moment, event))
    found.sort(key=lambda pair: pair[0])
    return found


def step_marks(events: Sequence[tuple[datetime, Mapping[str, Any]]]) -> list[Mark]:
    """Steps, pauses and manual actions of the rollout, from its Events."""
    marks = []
    for moment, event in events:
        reason, message = str(event.get("reason") or ""), str(event.get("message") or "")
        if reason == "StepStarted":
            found = _STEP_WEIGHT.search(message)
            step = message.split(":", 1)[0]
            marks.append(Mark(moment, f"{step}: {found.group(1)}%" if found else step, "step"))
        elif reason == "Paused":
            marks.append(Mark(moment, "paused", "pause"))
        elif reason in ("ActionTaken", "Resumed"):
            marks.append(Mark(moment, message.split(":", 1)[0] or reason, "action"))
    return marks


def decision_mark(record: RolloutRecord) -> Mark | None:
    if record.outcome == IN_PROGRESS or record.finished_at is None:
        return None
    return Mark(record.finished_at, record.outcome, "decision")


def weight_from_events(
    record: RolloutRecord, events: Sequence[tuple[datetime, Mapping[str, Any]]]
) -> list[WeightPoint]:
    """The weight as a step function rebuilt from the Events: 0 at the start, each step's
    weight when it started, 0 once the rollout ended (and the status's weight while it runs)."""
    if record.started_at is None:
        return []
    points = [WeightPoint(record.started_at, 0.0)]
    for moment, event in events:
        reason = str(event.get("reason") or "")
        if reason == "StepStarted":
            found = _STEP_WEIGHT.search(str(event.get("message") or ""))
            if found:
                points.append(WeightPoint(moment, float(found.group(1))))
        elif reason in _ENDING_REASONS:
            points.append(WeightPoint(moment, 0.0))
    if record.finished_at is not None and points[-1].percent != 0.0:
        points.append(WeightPoint(record.finished_at, 0.0))
    elif record.finished_at is None and points[-1].percent != record.current_weight:
        points.append(WeightPoint(points[-1].at, float(record.current_weight)))
    return points

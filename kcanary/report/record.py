"""What the InferenceRollout status says about its latest rollout, shaped for a report.

The status keeps one rollout's details (start, current step, last analysis) and a history of
outcomes; this module picks the history entry of the rollout the status describes and turns the
loosely typed JSON into frozen records, so that the plots and the page never guess at missing
fields. A field the controller has not written yet is None, never an exception.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kcanary.rollout_view import parse_moment

IN_PROGRESS = "in progress"
"""The outcome of a rollout that has not ended."""


@dataclass(frozen=True)
class Revision:
    """One side of the rollout as the status names it."""

    revision: str
    storage_uri: str
    revision_name: str | None = None
    """Knative's revision name (Serverless mode only)."""


@dataclass(frozen=True)
class Check:
    """One check of the last analysis: the evidence a decision rests on."""

    name: str
    metric: str
    verdict: str
    stable: float | None
    canary: float | None
    effect: float | None
    """Canary minus stable, in the metric's unit."""
    interval: tuple[float, float] | None
    """Anytime-valid confidence interval of the effect."""
    evalue: float | None
    threshold: float | None
    """The e-value the check must reach to conclude (1/alpha share)."""
    stable_samples: int | None
    canary_samples: int | None


@dataclass(frozen=True)
class Analysis:
    time: datetime | None
    verdict: str
    checks: tuple[Check, ...]


@dataclass(frozen=True)
class RolloutRecord:
    """The latest rollout of one InferenceService, from its InferenceRollout."""

    namespace: str
    name: str
    phase: str
    message: str
    stable: Revision | None
    canary: Revision | None
    started_at: datetime | None
    """When the latest canary started rolling out; None if none ever did."""
    finished_at: datetime | None
    outcome: str
    """`promoted`, `rolled-back`, `aborted`, `superseded`, or IN_PROGRESS."""
    reason: str
    current_weight: int
    analysis: Analysis | None

    @property
    def started(self) -> bool:
        return self.started_at is not None


def rollout_record(rollout: Mapping[str, Any]) -> RolloutRecord:
    """The record of the rollout the InferenceRollout `rollout` (its JSON) describes."""
    meta = rollout.get("metadata") or {}
    status = rollout.get("status") or {}
    entry = _current_entry(status)
    canary = _revision(status.get("canary"))
    if canary is None and entry is not None:
        canary = Revision(str(entry.get("revision") or ""), str(entry.get("storageUri") or ""))
    started = parse_moment(status.get("rolloutStartedAt"))
    if started is None and entry is not None:
        started = parse_moment(entry.get("startedAt"))
    finished = parse_moment(entry.get("finishedAt")) if entry is not None else None
    outcome = str(entry.get("outcome") or "") if entry is not None else ""
    return RolloutRecord(
        namespace=str(meta.get("namespace") or ""),
        name=str(meta.get("name") or ""),
        phase=str(status.get("phase") or "Unknown"),
        message=str(status.get("message") or ""),
        stable=_revision(status.get("stable")),
        canary=canary,
        started_at=started,
        finished_at=finished,
        outcome=outcome if finished is not None and outcome else IN_PROGRESS,
        reason=str(entry.get("reason") or "") if entry is not None else "",
        current_weight=_int(status.get("canaryWeight")),
        analysis=_analysis(status.get("lastAnalysis")),
    )


def _current_entry(status: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The history entry of the rollout the status describes: the one that started when the
    status says the rollout started, else the newest (the status may have moved on to Stable)."""
    history: Sequence[Mapping[str, Any]] = status.get("history") or []
    if not history:
        return None
    started = status.get("rolloutStartedAt")
    matching = [entry for entry in history if started and entry.get("startedAt") == started]
    found: Mapping[str, Any] = matching[-1] if matching else history[-1]
    return found


def _revision(value: Any) -> Revision | None:
    if not isinstance(value, Mapping) or not value.get("revision"):
        return None
    name = value.get("revisionName")
    return Revision(
        revision=str(value["revision"]),
        storage_uri=str(value.get("storageUri") or ""),
        revision_name=str(name) if name else None,
    )


def _analysis(value: Any) -> Analysis | None:
    if not isinstance(value, Mapping):
        return None
    checks = tuple(_check(c) for c in value.get("checks") or [] if isinstance(c, Mapping))
    return Analysis(
        time=parse_moment(value.get("time")),
        verdict=str(value.get("verdict") or ""),
        checks=checks,
    )


def _check(value: Mapping[str, Any]) -> Check:
    interval = value.get("interval")
    low_high: tuple[float, float] | None = None
    if isinstance(interval, Sequence) and len(interval) == 2:
        low, high = _float(interval[0]), _float(interval[1])
        if low is not None and high is not None:
            low_high = (low, high)
    samples = value.get("samples") or {}
    if not isinstance(samples, Mapping):
        samples = {}
    return Check(
        name=str(value.get("name") or ""),
        metric=str(value.get("metric") or ""),
        verdict=str(value.get("verdict") or ""),
        stable=_float(value.get("stable")),
        canary=_float(value.get("canary")),
        effect=_float(value.get("effect")),
        interval=low_high,
        evalue=_float(value.get("evalue")),
        threshold=_float(value.get("threshold")),
        stable_samples=_optional_int(samples.get("stable")),
        canary_samples=_optional_int(samples.get("canary")),
    )


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _optional_int(value: Any) -> int | None:
    number = _float(value)
    return int(number) if number is not None else None


def _int(value: Any) -> int:
    number = _float(value)
    return int(number) if number is not None else 0

"""What `kcanary get` shows of a rollout, read from the InferenceRollout status as the
controller writes it (rollout.status), and laid out as plain text.

The view is built once (`RolloutView.of`) and rendered twice: as aligned plain text here, for
pipes and `get` without `-w`, and as rich tables by rollout_live for a terminal. Every value is
already a string, so both renderings show exactly the same thing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rollout import InvalidStrategy, Strategy, parse_strategy
from rollout.steps import format_steps

JsonObject = Mapping[str, Any]

RECENT_EVENTS = 8
"""Events shown under a rollout: the newest ones, like `kubectl describe`."""

CHECK_COLUMNS = ("CHECK", "METRIC", "VERDICT", "EFFECT", "INTERVAL")
WIDE_CHECK_COLUMNS = ("STABLE", "CANARY", "E-VALUE", "THRESHOLD", "SAMPLES")
EVENT_COLUMNS = ("AGE", "TYPE", "REASON", "MESSAGE")
LIST_COLUMNS = ("NAME", "PHASE", "WEIGHT", "STEP", "CANARY", "STABLE", "VERDICT", "AGE")
WIDE_LIST_COLUMNS = ("MESSAGE",)


@dataclass(frozen=True)
class CheckRow:
    """One check of the last analysis: its verdict and the effect with its interval."""

    name: str
    metric: str
    verdict: str
    effect: str
    interval: str
    stable: str
    canary: str
    evalue: str
    threshold: str
    samples: str

    def cells(self, wide: bool) -> tuple[str, ...]:
        short = (self.name, self.metric, self.verdict, self.effect, self.interval)
        if not wide:
            return short
        return (*short, self.stable, self.canary, self.evalue, self.threshold, self.samples)


@dataclass(frozen=True)
class EventRow:
    age: str
    type: str
    reason: str
    message: str

    def cells(self) -> tuple[str, ...]:
        return (self.age, self.type, self.reason, self.message)


@dataclass(frozen=True)
class RolloutView:
    namespace: str
    name: str
    phase: str
    message: str
    step: str
    """`2/3` during a rollout, `-` when nothing rolls out."""
    steps: str
    weight: str
    stable: str
    canary: str
    started: str
    analysis: str
    invalid: str | None
    """The InvalidSpec message when the strategy cannot be used."""
    checks: tuple[CheckRow, ...]
    events: tuple[EventRow, ...]

    @classmethod
    def of(
        cls,
        rollout: JsonObject | None,
        *,
        isvc: JsonObject,
        events: Sequence[JsonObject] = (),
        now: datetime | None = None,
    ) -> RolloutView:
        """The view of the ISVC's rollout; `rollout` is None before the controller wrote one."""
        moment = now or datetime.now(UTC)
        meta = isvc.get("metadata") or {}
        status: Mapping[str, Any] = (rollout or {}).get("status") or {}
        strategy = parse_strategy(dict(meta.get("annotations") or {}))
        phase = str(status.get("phase") or "-")
        last = status.get("lastAnalysis") or {}
        return cls(
            namespace=str(meta.get("namespace", "")),
            name=str(meta.get("name", "")),
            phase=phase if rollout is not None else "(no rollout yet)",
            message=str(status.get("message") or "")
            or ("" if rollout else "the controller has not picked this InferenceService up yet"),
            step=step_text(status, strategy),
            steps=format_steps(strategy.steps) if isinstance(strategy, Strategy) else "-",
            weight=f"{int(status.get('canaryWeight') or 0)}%",
            stable=revision_text(status.get("stable")),
            canary=revision_text(status.get("canary")),
            started=_started_text(status, moment),
            analysis=_analysis_text(last, moment),
            invalid=invalid_spec(status),
            checks=tuple(check_row(check) for check in last.get("checks") or ()),
            events=tuple(event_row(event, moment) for event in list(events)[-RECENT_EVENTS:]),
        )


# -- reading the status ------------------------------------------------------------------------


def invalid_spec(status: Mapping[str, Any]) -> str | None:
    """The message of a `Ready=False, reason=InvalidSpec` condition, if there is one."""
    for condition in status.get("conditions") or ():
        if (
            condition.get("type") == "Ready"
            and condition.get("status") == "False"
            and condition.get("reason") == "InvalidSpec"
        ):
            return str(condition.get("message") or "the strategy cannot be used")
    return None


def step_text(status: Mapping[str, Any], strategy: Strategy | InvalidStrategy) -> str:
    if status.get("phase") not in ("Progressing", "Paused", "Promoting", "RollingBack"):
        return "-"
    index = int(status.get("currentStep") or 0)
    total = len(strategy.steps) if isinstance(strategy, Strategy) else None
    if total is None:
        return str(index + 1)
    return f"{min(index + 1, total)}/{total}"


def revision_text(revision: object) -> str:
    if not isinstance(revision, Mapping):
        return "-"
    model = str(revision.get("storageUri") or "(no storageUri)")
    details = [f"revision {revision.get('revision', '?')}"]
    if revision.get("modelFormat"):
        details.append(str(revision["modelFormat"]))
    if revision.get("revisionName"):
        details.append(str(revision["revisionName"]))
    return f"{model} ({', '.join(details)})"


def model_of(revision: object) -> str:
    if not isinstance(revision, Mapping):
        return "-"
    return str(revision.get("storageUri") or revision.get("revision") or "-")


def check_row(check: Mapping[str, Any]) -> CheckRow:
    samples = check.get("samples") or {}
    sample_text = (
        "/".join(f"{key}={value}" for key, value in sorted(samples.items())) if samples else "-"
    )
    return CheckRow(
        name=str(check.get("name") or "?"),
        metric=str(check.get("metric") or "-"),
        verdict=str(check.get("verdict") or "-"),
        effect=number(check.get("effect"), signed=True),
        interval=interval_text(check.get("interval")),
        stable=number(check.get("stable")),
        canary=number(check.get("canary")),
        evalue=number(check.get("evalue")),
        threshold=number(check.get("threshold")),
        samples=sample_text,
    )


def event_row(event: Mapping[str, Any], now: datetime) -> EventRow:
    count = int(event.get("count") or 1)
    age = age_text(_last_seen(event), now)
    if count > 1:
        age = f"{age} (x{count})"
    return EventRow(
        age=age,
        type=str(event.get("type", "")),
        reason=str(event.get("reason", "")),
        message=str(event.get("message", "")).replace("\n", " "),
    )


def number(value: object, *, signed: bool = False) -> str:
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return "-"
    if math.isinf(value):
        return "+inf" if value > 0 else "-inf"
    return f"{value:+.4g}" if signed else f"{value:.4g}"


def interval_text(value: object) -> str:
    if not isinstance(value, Sequence) or isinstance(value, str) or len(value) != 2:
        return "-"
    lower = number(value[0], signed=True) if value[0] is not None else "-inf"
    upper = number(value[1], signed=True) if value[1] is not None else "+inf"
    return f"[{lower}, {upper}]"


def parse_moment(text: object) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def age_text(moment: datetime | None, now: datetime) -> str:
    """kubectl's short ages: 42s, 5m, 3h, 2d."""
    if moment is None:
        return "-"
    seconds = max(0, int((now - moment).total_seconds()))
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 120 * 60:
        return f"{seconds // 60}m"
    if seconds < 48 * 3600:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


def duration_text(start: datetime | None, end: datetime | None) -> str:
    """`4m10s`-style length of a rollout; `-` when its start is unknown."""
    if start is None or end is None:
        return "-"
    seconds = max(0, int((end - start).total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


def _last_seen(event: Mapping[str, Any]) -> datetime | None:
    for key in ("lastTimestamp", "eventTime", "firstTimestamp"):
        moment = parse_moment(event.get(key))
        if moment is not None:
            return moment
    return parse_moment((event.get("metadata") or {}).get("creationTimestamp"))


def _started_text(status: Mapping[str, Any], now: datetime) -> str:
    started = parse_moment(status.get("rolloutStartedAt"))
    if started is None:
        return "-"
    step = parse_moment(status.get("stepStartedAt"))
    text = f"{age_text(started, now)} ago"
    return f"{text} (this step {age_text(step, now)} ago)" if step is not None else text


def _analysis_text(last: Mapping[str, Any], now: datetime) -> str:
    if not last:
        return "-"
    return f"{last.get('verdict', '?')} ({age_text(parse_moment(last.get('time')), now)} ago)"


# -- plain text --------------------------------------------------------------------------------


def columns(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Left-aligned columns three spaces apart, as kubectl prints tables."""
    widths = [len(cell) for cell in header]
    for row in rows:
        widths = [max(width, len(cell)) for width, cell in zip(widths, row, strict=True)]
    lines = []
    for row in (header, *rows):
        padded = [cell.ljust(width) for cell, width in zip(row, widths, strict=True)]
        lines.append("   ".join(padded).rstrip())
    return lines


def detail_lines(view: RolloutView, *, wide: bool = False) -> list[str]:
    """`kcanary get NAME`: the rollout, its last analysis and the recent Events."""
    fields = [
        ("Name", view.name),
        ("Namespace", view.namespace),
        ("Phase", view.phase),
        ("Message", view.message or "-"),
        ("Step", f"{view.step} (steps {view.steps})"),
        ("Weight", f"{view.weight} to the canary"),
        ("Stable", view.stable),
        ("Canary", view.canary),
        ("Started", view.started),
        ("Analysis", view.analysis),
    ]
    if view.invalid is not None:
        fields.insert(3, ("Invalid", view.invalid))
    lines = [f"{label + ':':<11}{value}" for label, value in fields]
    if view.checks:
        header = CHECK_COLUMNS + (WIDE_CHECK_COLUMNS if wide else ())
        lines += ["", "Checks:"]
        lines += ["  " + line for line in columns(header, [c.cells(wide) for c in view.checks])]
    lines += ["", "Events:"]
    if view.events:
        rows = [event.cells() for event in view.events]
        lines += ["  " + line for line in columns(EVENT_COLUMNS, rows)]
    else:
        lines.append("  <none>")
    return lines


def list_row(
    rollout: JsonObject, *, now: datetime, wide: bool = False, all_namespaces: bool = False
) -> tuple[str, ...]:
    """One InferenceRollout as a row of LIST_COLUMNS (NAMESPACE first with -A)."""
    meta = rollout.get("metadata") or {}
    status: Mapping[str, Any] = rollout.get("status") or {}
    phase = str(status.get("phase") or "-")
    in_rollout = phase in ("Progressing", "Paused", "Promoting", "RollingBack")
    row: tuple[str, ...] = (
        str(meta.get("name", "")),
        phase,
        f"{int(status.get('canaryWeight') or 0)}%",
        str(int(status.get("currentStep") or 0) + 1) if in_rollout else "-",
        model_of(status.get("canary")),
        model_of(status.get("stable")),
        str((status.get("lastAnalysis") or {}).get("verdict") or "-"),
        age_text(parse_moment(meta.get("creationTimestamp")), now),
    )
    if wide:
        row = (*row, str(status.get("message") or "-"))
    if all_namespaces:
        row = (str(meta.get("namespace", "")), *row)
    return row


def list_header(*, wide: bool = False, all_namespaces: bool = False) -> tuple[str, ...]:
    header = LIST_COLUMNS + (WIDE_LIST_COLUMNS if wide else ())
    return ("NAMESPACE", *header) if all_namespaces else header

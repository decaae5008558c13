"""The InferenceRollout status: the persisted form of the rollout state, and the commit point.

`to_status` writes exactly the fields of DESIGN.md section 8 (camelCase, RFC3339 times to the
second); `from_status` reads them back, so `from_status(to_status(s)) == s` and a restarted
controller continues from what was last written. Absent values are left out rather than
written as null: write the whole status (replace the subresource), do not merge it into the old
one, or a canary that is gone would linger.

Two pieces of state have no field of their own and live in conditions (rollout.conditions):
the start of a pause and of a run of NoData verdicts.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from rollout import conditions
from rollout.evidence import AnalysisSummary, Verdict
from rollout.revision import Revision
from rollout.state import (
    ActionRecord,
    Condition,
    HistoryEntry,
    Outcome,
    Pause,
    Phase,
    RolloutState,
    StepEnd,
    StepEndReason,
    WeightPeriod,
)


class StatusError(ValueError):
    """A status kcanary cannot read back (written by something else, or corrupted)."""


def to_status(state: RolloutState) -> dict[str, Any]:
    status: dict[str, Any] = {
        "phase": state.phase.value,
        "message": state.message,
        "observedGeneration": state.observed_generation,
        "currentStep": state.current_step,
        "canaryWeight": state.canary_weight,
        "stable": _revision_out(state.stable),
        "canary": _revision_out(state.canary),
        "rolloutStartedAt": _time_out(state.rollout_started_at),
        "stepStartedAt": _time_out(state.step_started_at),
        "weightPeriods": [_period_out(period) for period in state.weight_periods] or None,
        "extensionStartedAt": _time_out(state.extension_started_at),
        "lastStepEnd": _step_end_out(state.last_step_end),
        "lastAnalysis": _analysis_out(state.last_analysis),
        "conditions": [_condition_out(condition) for condition in state.conditions],
        "history": [_entry_out(entry) for entry in state.history],
    }
    return _without_none(status)


def from_status(status: Mapping[str, Any] | None) -> RolloutState:
    """The state a status describes; an empty or missing status is a new rollout object."""
    if not status:
        return RolloutState()
    try:
        return _state_in(status)
    except (KeyError, TypeError, ValueError) as error:
        raise StatusError(f"cannot read the InferenceRollout status: {error}") from error


def _state_in(status: Mapping[str, Any]) -> RolloutState:
    phase = Phase(status.get("phase", Phase.INITIALIZING.value))
    kept = tuple(_condition_in(item) for item in status.get("conditions") or ())
    by_type = {condition.type: condition for condition in kept}
    progressing = by_type.get(conditions.PROGRESSING)
    pause = None
    if phase is Phase.PAUSED and progressing is not None:
        pause = Pause(
            by_user=progressing.reason == conditions.PAUSED_BY_USER,
            since=progressing.last_transition_time,
        )
    analysis = by_type.get(conditions.ANALYSIS)
    last = _analysis_in(status.get("lastAnalysis"))
    no_data_since = None
    if last is not None and last.verdict is Verdict.NO_DATA and analysis is not None:
        no_data_since = analysis.last_transition_time
    return RolloutState(
        phase=phase,
        message=str(status.get("message", "")),
        observed_generation=_int_or_none(status.get("observedGeneration")),
        current_step=int(status.get("currentStep", 0)),
        canary_weight=int(status.get("canaryWeight", 0)),
        stable=_revision_in(status.get("stable")),
        canary=_revision_in(status.get("canary")),
        rollout_started_at=_time_in(status.get("rolloutStartedAt")),
        step_started_at=_time_in(status.get("stepStartedAt")),
        weight_periods=tuple(_period_in(item) for item in status.get("weightPeriods") or ()),
        pause=pause,
        extension_started_at=_time_in(status.get("extensionStartedAt")),
        last_step_end=_step_end_in(status.get("lastStepEnd")),
        last_analysis=last,
        no_data_since=no_data_since,
        conditions=kept,
        history=tuple(_entry_in(item) for item in status.get("history") or ()),
    )


# -- times ---------------------------------------------------------------------------------------


def format_time(moment: datetime) -> str:
    """RFC3339 in UTC to the second, as metav1.Time writes it."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0)


def _time_out(moment: datetime | None) -> str | None:
    return format_time(moment) if moment is not None else None


def _time_in(text: object) -> datetime | None:
    return parse_time(str(text)) if text else None


# -- parts ---------------------------------------------------------------------------------------


def _period_out(period: WeightPeriod) -> dict[str, Any]:
    return {"weight": period.weight, "since": format_time(period.since)}


def _period_in(item: Mapping[str, Any]) -> WeightPeriod:
    return WeightPeriod(weight=int(item["weight"]), since=parse_time(str(item["since"])))


def _step_end_out(end: StepEnd | None) -> dict[str, Any] | None:
    if end is None:
        return None
    return {"step": end.step, "reason": end.reason.value, "at": format_time(end.at)}


def _step_end_in(data: object) -> StepEnd | None:
    if not isinstance(data, Mapping):
        return None
    return StepEnd(
        step=int(data["step"]),
        reason=StepEndReason(data["reason"]),
        at=parse_time(str(data["at"])),
    )


def _revision_out(revision: Revision | None) -> dict[str, Any] | None:
    if revision is None:
        return None
    return _without_none(
        {
            "revision": revision.hash,
            "storageUri": revision.storage_uri,
            "modelFormat": revision.model_format,
            "revisionName": revision.revision_name,
        }
    )


def _revision_in(data: object) -> Revision | None:
    if not isinstance(data, Mapping):
        return None
    return Revision(
        hash=str(data["revision"]),
        storage_uri=_str_or_none(data.get("storageUri")),
        model_format=_str_or_none(data.get("modelFormat")),
        revision_name=_str_or_none(data.get("revisionName")),
    )


def _analysis_out(summary: AnalysisSummary | None) -> dict[str, Any] | None:
    if summary is None:
        return None
    return {
        "time": format_time(summary.time),
        "verdict": summary.verdict.value,
        "checks": [dict(check) for check in summary.checks],
    }


def _analysis_in(data: object) -> AnalysisSummary | None:
    if not isinstance(data, Mapping):
        return None
    return AnalysisSummary(
        time=parse_time(str(data["time"])),
        verdict=Verdict(data["verdict"]),
        checks=tuple(dict(check) for check in data.get("checks") or ()),
    )


def _condition_out(condition: Condition) -> dict[str, Any]:
    return _without_none(
        {
            "type": condition.type,
            "status": condition.status,
            "reason": condition.reason,
            "message": condition.message,
            "lastTransitionTime": format_time(condition.last_transition_time),
            "observedGeneration": condition.observed_generation,
        }
    )


def _condition_in(data: Mapping[str, Any]) -> Condition:
    return Condition(
        type=str(data["type"]),
        status=str(data["status"]),
        reason=str(data.get("reason", "")),
        message=str(data.get("message", "")),
        last_transition_time=parse_time(str(data["lastTransitionTime"])),
        observed_generation=_int_or_none(data.get("observedGeneration")),
    )


def _entry_out(entry: HistoryEntry) -> dict[str, Any]:
    return _without_none(
        {
            "revision": entry.revision.hash,
            "storageUri": entry.revision.storage_uri,
            "modelFormat": entry.revision.model_format,
            "startedAt": format_time(entry.started_at),
            "finishedAt": _time_out(entry.finished_at),
            "outcome": entry.outcome.value if entry.outcome is not None else None,
            "reason": entry.reason,
            "actions": [_record_out(record) for record in entry.actions],
        }
    )


def _entry_in(data: Mapping[str, Any]) -> HistoryEntry:
    outcome = data.get("outcome")
    return HistoryEntry(
        revision=Revision(
            hash=str(data["revision"]),
            storage_uri=_str_or_none(data.get("storageUri")),
            model_format=_str_or_none(data.get("modelFormat")),
        ),
        started_at=parse_time(str(data["startedAt"])),
        finished_at=_time_in(data.get("finishedAt")),
        outcome=Outcome(outcome) if outcome else None,
        reason=_str_or_none(data.get("reason")),
        actions=tuple(_record_in(item) for item in data.get("actions") or ()),
    )


def _record_out(record: ActionRecord) -> dict[str, Any]:
    return _without_none(
        {
            "action": record.action,
            "by": record.by,
            "at": format_time(record.at),
            "message": record.message,
        }
    )


def _record_in(data: Mapping[str, Any]) -> ActionRecord:
    return ActionRecord(
        action=str(data["action"]),
        by=_str_or_none(data.get("by")),
        at=parse_time(str(data["at"])),
        message=str(data.get("message", "")),
    )


def _without_none(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if value is not None}


def _str_or_none(value: object) -> str | None:
    return str(value) if value is not None else None


def _int_or_none(value: object) -> int | None:
    return int(str(value)) if value is not None else None

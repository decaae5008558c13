"""The status conditions, derived from the state at the end of every transition.

`Ready` says whether kcanary can work with the ISVC (False with reason InvalidSpec when the
strategy cannot be used), `Progressing` what the rollout is doing, `Analysis` the last verdict.
A condition's lastTransitionTime moves when its status or its reason changes (not its message),
so rewriting an unchanged status changes nothing. Two times are state, not decoration: a pause's
start (Progressing, reason PausedByUser/PauseStep) and the start of a run of NoData verdicts
(Analysis, reason NoData); rollout.status reads them back from there.
"""

from __future__ import annotations

from datetime import datetime

from rollout.evidence import Verdict
from rollout.state import Condition, Phase, RolloutState

READY = "Ready"
PROGRESSING = "Progressing"
ANALYSIS = "Analysis"
INVALID_SPEC = "InvalidSpec"
PAUSED_BY_USER = "PausedByUser"
PAUSE_STEP = "PauseStep"
NO_DATA = "NoData"

TRUE, FALSE, UNKNOWN = "True", "False", "Unknown"


def refresh(state: RolloutState, now: datetime, invalid: str | None = None) -> RolloutState:
    """Conditions for this state; `invalid` is the InvalidSpec message, if any."""
    wanted = (_ready(state, invalid), _progressing(state), _analysis(state))
    merged = []
    for kind, status, reason, message, pinned in wanted:
        old = state.condition(kind)
        if pinned is not None:
            since = pinned
        elif old is not None and old.status == status and old.reason == reason:
            since = old.last_transition_time
        else:
            since = now
        merged.append(Condition(kind, status, reason, message, since, state.observed_generation))
    return state.with_conditions(tuple(merged))


_Wanted = tuple[str, str, str, str, datetime | None]


def _ready(state: RolloutState, invalid: str | None) -> _Wanted:
    if invalid is not None:
        return READY, FALSE, INVALID_SPEC, invalid, None
    if state.phase is Phase.INITIALIZING:
        return READY, FALSE, Phase.INITIALIZING.value, state.message, None
    return READY, TRUE, state.phase.value, state.message, None


def _progressing(state: RolloutState) -> _Wanted:
    phase = state.phase
    if phase is Phase.PAUSED and state.pause is not None:
        reason = PAUSED_BY_USER if state.pause.by_user else PAUSE_STEP
        return PROGRESSING, UNKNOWN, reason, state.message, state.pause.since
    if phase is Phase.PROGRESSING:
        reason = "StepProgressing" if state.canary_started else "WaitingForCanary"
        return PROGRESSING, TRUE, reason, state.message, None
    if phase in (Phase.PROMOTING, Phase.ROLLING_BACK):
        return PROGRESSING, TRUE, phase.value, state.message, None
    return PROGRESSING, FALSE, phase.value, state.message, None


def _analysis(state: RolloutState) -> _Wanted:
    last = state.last_analysis
    if last is None:
        return ANALYSIS, UNKNOWN, "NotStarted", "no analysis for this rollout yet", None
    status = {Verdict.PASS: TRUE, Verdict.FAIL: FALSE}.get(last.verdict, UNKNOWN)
    pinned = state.no_data_since if last.verdict is Verdict.NO_DATA else None
    return ANALYSIS, status, last.verdict.value, last.describe(), pinned

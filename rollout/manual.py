"""Manual actions: `kcanary.io/action` on the ISVC, taken once and then removed.

| action       | applies in                        | effect                                     |
|--------------|-----------------------------------|--------------------------------------------|
| promote      | Progressing, Paused (canary ready)| end the current step now: next step        |
| promote-full | Progressing, Paused (canary ready)| skip the remaining steps: Promoting        |
| abort        | Progressing, Paused               | roll back, outcome `aborted`               |
| pause        | Progressing                       | hold the current weight until resumed      |
| resume       | Paused                            | carry on (past a pause step: next step)    |
| retry        | RolledBack, Aborted               | roll the same canary revision out again    |

A taken action is recorded in the history entry it acted on (who asked, when, what it did) with
a Normal Event; one that does not apply is removed with a Warning Event saying why. Exactly
once: the record is written with the status before the annotation is removed (rollout.actions),
and a request whose time is not after the last record of the same action is that same request,
seen again after a crash or through a stale cache, so it is only removed, unless the controller
saw it in a version of the ISVC after its own removal of the previous one (times have whole
seconds: a second request within the same second is otherwise indistinguishable).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import StrEnum

from rollout import history
from rollout.actions import ConsumeAction, normal, warning
from rollout.observations import ManualRequest
from rollout.promoting import begin_promotion
from rollout.rollback import begin_rollback
from rollout.state import ActionRecord, Outcome, Pause, Phase, RolloutState, StepEndReason
from rollout.stepping import enter_step, start_rollout
from rollout.steps import PauseStep
from rollout.transition import Tick, Transition, stay


class ManualAction(StrEnum):
    PROMOTE = "promote"
    PROMOTE_FULL = "promote-full"
    ABORT = "abort"
    PAUSE = "pause"
    RESUME = "resume"
    RETRY = "retry"


Effect = Callable[[RolloutState, Tick, str], Transition]
"""Carries out an action that applies; the str is who asked, for messages."""


def take_request(state: RolloutState, tick: Tick) -> Transition:
    request = tick.observed.request
    if request is None:
        return stay(state)
    consume = ConsumeAction(request.action)
    if _already_taken(state, request):
        return stay(state, consume)
    try:
        action = ManualAction(request.action.strip())
    except ValueError:
        choices = ", ".join(member.value for member in ManualAction)
        why = f'"{request.action}" is not an action: use one of {choices}'
        return stay(state, consume, warning("ActionRejected", why))
    problem = why_not(action, state, tick)
    if problem is not None:
        return stay(state, consume, warning("ActionRejected", f"{action.value}: {problem}"))
    who = request.by or "someone"
    taken = _EFFECTS[action](state, tick, who)
    # Never before the request: with a controller clock behind the API server's, the record
    # would otherwise look older than the request it answers and a replay would take it again.
    at = tick.now
    if request.requested_at is not None:
        at = max(at, _seconds(request.requested_at))
    record = ActionRecord(
        action=action.value,
        by=request.by,
        at=at,
        message=f"{action.value} by {who}: {taken.state.message}",
    )
    recorded = history.record_action(taken.state, record)
    event = normal("ActionTaken", record.message)
    return Transition(recorded, (*taken.actions, consume, event))


def why_not(action: ManualAction, state: RolloutState, tick: Tick) -> str | None:
    """Why `action` does not apply now, or None when it does."""
    phase = state.phase
    where = f"(phase {phase.value})"
    if action in (ManualAction.PROMOTE, ManualAction.PROMOTE_FULL):
        if not phase.in_rollout:
            return f"no rollout to promote {where}"
        if not state.canary_started:
            return "the canary is not ready yet"
        return None
    if action is ManualAction.ABORT:
        if phase is Phase.PROMOTING:
            return "the promotion is under way and cannot be aborted"
        return None if phase.in_rollout else f"no rollout to abort {where}"
    if action is ManualAction.PAUSE:
        if phase is Phase.PAUSED:
            return "the rollout is already paused"
        return None if phase is Phase.PROGRESSING else f"no rollout to pause {where}"
    if action is ManualAction.RESUME:
        return None if phase is Phase.PAUSED else f"rollout is not paused {where}"
    if phase not in (Phase.ROLLED_BACK, Phase.ABORTED) or state.canary is None:
        return f"nothing to retry: only a rolled back or aborted rollout can be retried {where}"
    if tick.observed.isvc.revision.hash != state.canary.hash:
        return (
            f"the ISVC now asks for revision {tick.observed.isvc.revision.hash}, "
            f"not {state.canary.hash}"
        )
    return None


def _already_taken(state: RolloutState, request: ManualRequest) -> bool:
    if request.requested_at is None or request.after_removal:
        return False
    record = history.last_record_of(state, request.action.strip())
    return record is not None and _seconds(request.requested_at) <= _seconds(record.at)


def _seconds(moment: datetime) -> datetime:
    """Compare at the status's precision (whole seconds, like metav1.Time)."""
    return moment.replace(microsecond=0)


def _promote(state: RolloutState, tick: Tick, who: str) -> Transition:
    return enter_step(
        state.with_pause(None), state.current_step + 1, tick, ended=StepEndReason.MANUAL
    )


def _promote_full(state: RolloutState, tick: Tick, who: str) -> Transition:
    return begin_promotion(state, f"promote-full by {who}")


def _abort(state: RolloutState, tick: Tick, who: str) -> Transition:
    return begin_rollback(
        state, outcome=Outcome.ABORTED, reason=f"aborted by {who}", event_reason="Aborted"
    )


def _pause(state: RolloutState, tick: Tick, who: str) -> Transition:
    message = (
        f"paused by {who} at step {state.current_step + 1}/{len(tick.strategy.steps)} "
        f"({state.canary_weight}%) until resumed"
    )
    paused = state.with_pause(Pause(by_user=True, since=tick.now))
    return stay(paused.with_phase(Phase.PAUSED, message))


def _resume(state: RolloutState, tick: Tick, who: str) -> Transition:
    index = state.current_step
    steps = tick.strategy.steps
    on_pause_step = index < len(steps) and isinstance(steps[index], PauseStep)
    if on_pause_step and state.canary_started:
        return enter_step(state.with_pause(None), index + 1, tick, ended=StepEndReason.MANUAL)
    message = f"resumed by {who} at step {index + 1}/{len(steps)} ({state.canary_weight}%)"
    return stay(state.with_pause(None).with_phase(Phase.PROGRESSING, message))


def _retry(state: RolloutState, tick: Tick, who: str) -> Transition:
    assert state.canary is not None  # checked by why_not
    return start_rollout(state, tick.observed.isvc.revision, tick.now)


_EFFECTS: dict[ManualAction, Effect] = {
    ManualAction.PROMOTE: _promote,
    ManualAction.PROMOTE_FULL: _promote_full,
    ManualAction.ABORT: _abort,
    ManualAction.PAUSE: _pause,
    ManualAction.RESUME: _resume,
    ManualAction.RETRY: _retry,
}

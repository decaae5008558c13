"""Promoting: the canary becomes the stable revision.

With a primary copy (istio, gateway-api): copy the canary's spec into `<name>-primary`, wait
until the copy is ready on it, then send all traffic back to the primary. The canary keeps its
share while the primary updates, so no request meets a pod that is not ready. Without one
(kserve): the router promotes (Serverless: canaryTrafficPercent 100 until KServe reports the
canary as latestRolledoutRevision), then the guard of 0% goes back on. Promotion ends, and is
recorded, only when the router reads back that weight.
"""

from __future__ import annotations

from rollout import conditions, history
from rollout.actions import (
    Decision,
    EnsurePrimary,
    PromoteInRouter,
    RecordDecision,
    normal,
    warning,
)
from rollout.durations import format_duration
from rollout.state import Outcome, Phase, RolloutState
from rollout.transition import Tick, Transition, stay


def begin_promotion(state: RolloutState, reason: str) -> Transition:
    canary = state.canary.hash if state.canary else "?"
    promoting = history.note_reason(state, reason).with_pause(None).with_extension(None)
    promoting = promoting.with_phase(Phase.PROMOTING, f"promoting {canary}: {reason}")
    return stay(promoting, normal("Promoting", f"promoting {canary}: {reason}"))


def promotion_ready(state: RolloutState, tick: Tick) -> bool:
    """The stable side now serves the canary revision, so traffic can all go there."""
    if state.canary is None:
        return False
    if not tick.strategy.uses_primary_copy:
        return tick.observed.promotion_complete
    primary = tick.observed.primary
    return primary is not None and primary.revision.hash == state.canary.hash and primary.serving


def copy_started(state: RolloutState, tick: Tick) -> bool:
    """The stable side has begun taking the canary's spec: promotion can no longer be undone."""
    if state.canary is None:
        return False
    if not tick.strategy.uses_primary_copy:
        return tick.observed.promotion_complete
    primary = tick.observed.primary
    return primary is not None and primary.revision.hash == state.canary.hash


def promoting(state: RolloutState, tick: Tick) -> Transition:
    canary = state.canary
    if canary is None:  # cannot happen from a status kcanary wrote; recover rather than crash
        return stay(state.with_rollout_reset().with_phase(Phase.STABLE, "no canary to promote"))
    if not promotion_ready(state, tick):
        if tick.strategy.uses_primary_copy:
            if not copy_started(state, tick):
                return stay(
                    state.with_message(f"promoting {canary.hash}: copying its spec to the primary"),
                    EnsurePrimary(canary),
                )
            return _waiting_for_primary(state, tick)
        return stay(
            state.with_message(f"promoting {canary.hash}: waiting for the router to roll it out"),
            PromoteInRouter(canary),
        )
    if tick.observed.weight != 0:
        return stay(state.with_message(f"promoting {canary.hash}: moving traffic to stable"))
    return _promoted(state, tick)


def _waiting_for_primary(state: RolloutState, tick: Tick) -> Transition:
    """Wait; once the progress deadline has passed, say so once (promotion cannot be undone:
    the primary already runs part of the canary's spec)."""
    canary = state.canary
    assert canary is not None
    deadline = tick.strategy.progress_deadline
    progressing = state.condition(conditions.PROGRESSING)
    stalled = (
        progressing is not None
        and progressing.reason == Phase.PROMOTING.value
        and tick.now - progressing.last_transition_time >= deadline
    )
    if not stalled:
        return stay(
            state.with_message(f"promoting {canary.hash}: waiting for the primary to be ready")
        )
    message = (
        f"promoting {canary.hash}: the primary copy is not ready after the progress deadline "
        f"({format_duration(deadline)}); check the -primary InferenceService"
    )
    if state.message == message:
        return stay(state)
    return stay(state.with_message(message), warning("PromotionStalled", message))


def _promoted(state: RolloutState, tick: Tick) -> Transition:
    canary = state.canary
    assert canary is not None
    observed = tick.observed.isvc.revision
    stable = observed if observed.hash == canary.hash else canary
    entry = state.current_entry
    reason = entry.reason if entry is not None and entry.reason else "promoted"
    done = history.close(state, Outcome.PROMOTED, reason, tick.now)
    done = done.with_stable(stable).with_canary(None).with_step(0, 0, None)
    done = done.with_rollout_started(None).with_pause(None)
    done = done.with_phase(Phase.STABLE, f"stable at {stable.hash} ({stable.storage_uri})")
    return stay(
        done,
        RecordDecision(Decision.PROMOTED),
        normal("Promoted", f"{stable.hash} ({stable.storage_uri}) is now stable: {reason}"),
    )

"""Rolling back: traffic returns to stable, then the rollout ends as RolledBack or Aborted.

The decision (and its reason) is written into the history when the rollback starts, so a
controller restarted while traffic is still moving knows whether this was an abort and why. The
rollout is over only once the router reads back a canary weight of 0: a rollback never leaves
traffic on the canary.
"""

from __future__ import annotations

from datetime import datetime

from rollout import history
from rollout.actions import Decision, EmitEvent, RecordDecision, normal, warning
from rollout.state import Outcome, Phase, RolloutState
from rollout.transition import Transition, stay

_DECISIONS = {Outcome.ROLLED_BACK: Decision.ROLLED_BACK, Outcome.ABORTED: Decision.ABORTED}


def begin_rollback(
    state: RolloutState, *, outcome: Outcome, reason: str, event_reason: str
) -> Transition:
    """Decide to roll back (or abort) the canary under way; traffic moves back next."""
    canary = state.canary.hash if state.canary else "?"
    decided = history.decide(state, outcome, reason)
    rolling = decided.with_phase(Phase.ROLLING_BACK, f"rolling back {canary}: {reason}")
    rolling = rolling.with_pause(None).with_step(state.current_step, 0, state.step_started_at)
    event: EmitEvent = (
        normal(event_reason, f"{canary}: {reason}")
        if outcome is Outcome.ABORTED
        else warning(event_reason, f"rolling back {canary}: {reason}")
    )
    return stay(rolling, RecordDecision(_DECISIONS[outcome]), event)


def rolling_back(state: RolloutState, weight: int | None, now: datetime) -> Transition:
    """End the rollback once the router reads back 0% on the canary."""
    if weight != 0:
        return stay(state)
    outcome = history.pending_outcome(state) or Outcome.ROLLED_BACK
    phase = Phase.ABORTED if outcome is Outcome.ABORTED else Phase.ROLLED_BACK
    stable = state.stable.hash if state.stable else "?"
    canary = state.canary.hash if state.canary else "?"
    entry = state.current_entry
    reason = entry.reason if entry is not None and entry.reason else outcome.value
    ended = history.finish(state, now).with_phase(
        phase, f"{canary} {outcome.value} ({reason}); traffic is on stable {stable}"
    )
    return stay(
        ended,
        normal(phase.value, f"{canary} {outcome.value}: all traffic is on stable {stable}"),
    )

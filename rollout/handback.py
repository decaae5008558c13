"""The strategy annotation was removed: give the ISVC back to KServe.

Only from a settled phase (Initializing, Stable, RolledBack, Aborted) is traffic handed back:
kcanary deletes its route and primary copy, then the InferenceRollout. Mid-rollout it rolls
back first, so removing the annotation never leaves users on a half-judged canary; the handback
follows once traffic is on stable. No strategy is needed for either, so none is read.
"""

from __future__ import annotations

from datetime import datetime

from rollout.actions import HandBack, SetWeight, normal
from rollout.observations import Observations
from rollout.rollback import begin_rollback, rolling_back
from rollout.state import Outcome, Phase, RolloutState
from rollout.transition import Transition, stay

REASON = "the kcanary.io/strategy annotation was removed"


def strategy_removed(state: RolloutState, observed: Observations, now: datetime) -> Transition:
    if state.phase in (Phase.PROGRESSING, Phase.PAUSED, Phase.PROMOTING):
        started = begin_rollback(
            state, outcome=Outcome.ROLLED_BACK, reason=REASON, event_reason="RollingBack"
        )
        state = started.state
        return Transition(state, (*_back_to_zero(observed), *started.actions))
    if state.phase is Phase.ROLLING_BACK:
        ended = rolling_back(state, observed.weight, now)
        if ended.state.phase is Phase.ROLLING_BACK:
            return Transition(ended.state, (*_back_to_zero(observed), *ended.actions))
        return ended
    return stay(state, HandBack(), normal("HandedBack", f"{REASON}: traffic handed back"))


def _back_to_zero(observed: Observations) -> tuple[SetWeight, ...]:
    return () if observed.weight == 0 else (SetWeight(0),)

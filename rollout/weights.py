"""Which canary weight each phase wants, and asking for it only when the router says otherwise.

This is level-based, like every Kubernetes controller: whatever the reason the route differs
(a step change, a crash between the patch and the status write, someone editing the route),
the machine asks for the weight its state implies, and asks nothing when the router already
reads back that weight, so an idle rollout writes nothing.
"""

from __future__ import annotations

from rollout.actions import SetWeight
from rollout.promoting import promotion_ready
from rollout.state import Phase, RolloutState
from rollout.transition import Tick, Transition


def desired_weight(state: RolloutState, tick: Tick) -> int | None:
    """The canary percent this state implies, or None when traffic must not be touched."""
    phase = state.phase
    if phase is Phase.INITIALIZING:
        return None  # the route appears with Stable, once the primary can answer
    if phase in (Phase.PROGRESSING, Phase.PAUSED):
        return state.canary_weight
    if phase is Phase.PROMOTING:
        if promotion_ready(state, tick):
            return 0
        # With a primary copy the canary keeps its share while the copy updates; without one
        # the router promotes by its own means (KServe: canaryTrafficPercent 100 until rolled
        # out), and asking for the last step's weight meanwhile would undo that.
        return state.canary_weight if tick.strategy.uses_primary_copy else None
    return 0


def converge(transition: Transition, tick: Tick) -> Transition:
    wanted = desired_weight(transition.state, tick)
    if wanted is None or transition.weight_set is not None or tick.observed.weight == wanted:
        return transition
    return transition.plus(SetWeight(wanted))

"""Paused: hold the weight reached so far.

A pause step without a duration, or a pause someone asked for, lasts until `resume` (or
`promote`); a timed pause step ends by itself. Analysis keeps running while paused and harm
still rolls back, since a pause is for people to look, not to keep a bad canary. Missing data
does not end a pause: there may be no traffic to measure yet.
"""

from __future__ import annotations

from rollout import judging
from rollout.actions import normal
from rollout.state import RolloutState, StepEndReason
from rollout.stepping import enter_step, step_ends_at
from rollout.steps import PauseStep
from rollout.transition import Tick, Transition, stay


def paused(state: RolloutState, tick: Tick) -> Transition:
    stop = judging.harm(state, tick, no_data_counts=False)
    if stop is not None:
        return stop
    if state.pause is None or state.pause.by_user:
        return stay(state)
    index = state.current_step
    step = tick.strategy.steps[index] if index < len(tick.strategy.steps) else None
    if not isinstance(step, PauseStep):
        return stay(state)
    ends_at = step_ends_at(state, tick.strategy)
    if ends_at is None or tick.now < ends_at:
        return stay(state)
    moved = enter_step(state, index + 1, tick, ended=StepEndReason.DURATION)
    return moved.plus(normal("Resumed", f"timed pause of step {index + 1} ended"))

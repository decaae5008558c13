"""Starting a rollout and moving between its steps.

A rollout starts when the ISVC asks for a revision that is neither stable nor the canary under
way; it takes no traffic until the canary is ready (rollout.progressing). Entering a weight step
sets the canary's weight (the reconciler's router applies it, see rollout.weights); entering a
pause step keeps the weight reached so far; going past the last step promotes.
"""

from __future__ import annotations

from datetime import datetime

from rollout import history
from rollout.actions import normal
from rollout.durations import format_duration
from rollout.promoting import begin_promotion
from rollout.revision import Revision
from rollout.state import Pause, Phase, RolloutState
from rollout.steps import PauseStep, WeightStep
from rollout.strategy import Strategy
from rollout.transition import Tick, Transition, stay


def start_rollout(state: RolloutState, canary: Revision, now: datetime) -> Transition:
    stable = state.stable.hash if state.stable else "?"
    started = history.open_entry(state.with_rollout_reset().with_canary(canary), canary, now)
    started = started.with_phase(
        Phase.PROGRESSING, f"waiting for canary {canary.hash} to become ready"
    )
    return stay(
        started,
        normal(
            "RolloutStarted",
            f"new revision {canary.hash} ({canary.storage_uri}); stable is {stable}",
        ),
    )


def enter_step(state: RolloutState, index: int, tick: Tick) -> Transition:
    """Move to step `index` (0-based); past the last one, promote."""
    steps = tick.strategy.steps
    if index >= len(steps):
        return begin_promotion(state, f"all {len(steps)} steps passed")
    step = steps[index]
    where = f"step {index + 1}/{len(steps)}"
    if isinstance(step, PauseStep):
        paused = state.with_step(index, state.canary_weight, tick.now)
        paused = paused.with_pause(Pause(by_user=False, since=tick.now))
        how_long = (
            "until resumed" if step.duration is None else f"for {format_duration(step.duration)}"
        )
        message = f"{where}: paused at {state.canary_weight}% {how_long}"
        return stay(paused.with_phase(Phase.PAUSED, message), normal("Paused", message))
    moved = state.with_step(index, step.weight, tick.now).with_pause(None)
    moved = moved.with_weight_from(step.weight, tick.now)
    canary = state.canary.hash if state.canary else "?"
    message = f"{where}: {step.weight}% of traffic to canary {canary}"
    return stay(moved.with_phase(Phase.PROGRESSING, message), normal("StepStarted", message))


def is_last_weight_step(strategy: Strategy, index: int) -> bool:
    """No weight step follows this one: its end decides promotion."""
    return not any(isinstance(step, WeightStep) for step in strategy.steps[index + 1 :])


def step_ends_at(state: RolloutState, strategy: Strategy) -> datetime | None:
    """When the current step may end: a weight step after the step duration, a timed pause
    after its duration, an indefinite pause never (None)."""
    if state.step_started_at is None:
        return None
    step = strategy.steps[min(state.current_step, len(strategy.steps) - 1)]
    if isinstance(step, PauseStep):
        return None if step.duration is None else state.step_started_at + step.duration
    return state.step_started_at + strategy.step_duration

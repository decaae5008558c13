"""Starting a rollout and moving between its steps.

A rollout starts when the ISVC asks for a revision that is neither stable nor the canary under
way; it takes no traffic until the canary is ready (rollout.progressing). Entering a weight step
sets the canary's weight (the reconciler's router applies it, see rollout.weights); entering a
pause step keeps the weight reached so far; going past the last step promotes.

Every step change says what ended the step before (`StepEndReason`): the status keeps it in
`lastStepEnd`, and the Event of the new step (or the promotion's reason) says it in words, so a
person sees whether a step ended on evidence, when its time was up, or when its extension ran
out.
"""

from __future__ import annotations

from datetime import datetime

from rollout import history
from rollout.actions import normal
from rollout.durations import format_duration
from rollout.evidence import Verdict
from rollout.promoting import begin_promotion
from rollout.revision import Revision
from rollout.state import Pause, Phase, RolloutState, StepEnd, StepEndReason
from rollout.steps import PauseStep, Step, WeightStep
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


def enter_step(
    state: RolloutState, index: int, tick: Tick, *, ended: StepEndReason | None = None
) -> Transition:
    """Move to step `index` (0-based); past the last one, promote. `ended` says what ended the
    current step; None when none did (the first step, or a pause step entered again)."""
    steps = tick.strategy.steps
    why = None
    if ended is not None:
        why = describe_end(state, tick, ended)
        state = state.with_step_end(StepEnd(state.current_step, ended, tick.now))
    if index >= len(steps):
        return begin_promotion(state, _promotion_reason(state, tick, ended, why))
    step = steps[index]
    where = f"step {index + 1}/{len(steps)}"
    # A step ended by hand is said by the ActionTaken Event already.
    after = f" ({why})" if why is not None and ended is not StepEndReason.MANUAL else ""
    if isinstance(step, PauseStep):
        paused = state.with_step(index, state.canary_weight, tick.now)
        paused = paused.with_pause(Pause(by_user=False, since=tick.now))
        how_long = (
            "until resumed" if step.duration is None else f"for {format_duration(step.duration)}"
        )
        message = f"{where}: paused at {state.canary_weight}% {how_long}{after}"
        return stay(paused.with_phase(Phase.PAUSED, message), normal("Paused", message))
    moved = state.with_step(index, step.weight, tick.now).with_pause(None)
    moved = moved.with_weight_from(step.weight, tick.now)
    canary = state.canary.hash if state.canary else "?"
    message = f"{where}: {step.weight}% of traffic to canary {canary}{after}"
    return stay(moved.with_phase(Phase.PROGRESSING, message), normal("StepStarted", message))


def describe_end(state: RolloutState, tick: Tick, ended: StepEndReason) -> str:
    """What ended the current step, in words, e.g. `step 1 ended early: non-inferiority shown
    after 1m30s`."""
    step = f"step {state.current_step + 1}"
    started = state.step_started_at
    lasted = format_duration(tick.now - started) if started is not None else "?"
    last = state.last_analysis
    if ended is StepEndReason.MANUAL:
        return f"{step} ended by hand"
    if ended is StepEndReason.EVIDENCE:
        ends_at = step_ends_at(state, tick.strategy)
        early = " early" if ends_at is not None and tick.now < ends_at else ""
        return f"{step} ended{early}: non-inferiority shown after {lasted}"
    if ended is StepEndReason.EXTENSION_LIMIT:
        verdict = last.verdict.value if last is not None else "undecided"
        extension = format_duration(tick.strategy.extend_inconclusive)
        return (
            f"{step} ended after {lasted}: still {verdict} at the end of its {extension} "
            f"extension (onInconclusive: {tick.strategy.on_inconclusive.value})"
        )
    if ended is StepEndReason.EXTENSION_CLEARED:
        verdict = last.verdict.value if last is not None else "undecided"
        return (
            f"{step} ended after {lasted}: still {verdict} when its extension ended, the "
            "evidence no longer leaning towards harm "
            f"(onInconclusive: {tick.strategy.on_inconclusive.value})"
        )
    text = f"{step} ended after {lasted}: its time was up"
    if last is None or isinstance(_current(state, tick.strategy), PauseStep):
        return text
    text += f", analysis {last.verdict.value}"
    if last.verdict is not Verdict.PASS and is_last_weight_step(tick.strategy, state.current_step):
        text += f" (onInconclusive: {tick.strategy.on_inconclusive.value})"
    return text


def _promotion_reason(
    state: RolloutState, tick: Tick, ended: StepEndReason | None, why: str | None
) -> str:
    """How the promotion started: all steps passed (at their end or on evidence), or the last
    one ended undecided (onInconclusive: promote), or someone promoted by hand."""
    passed = f"all {len(tick.strategy.steps)} steps passed"
    last = state.last_analysis
    if why is None or (
        ended is StepEndReason.DURATION and last is not None and last.verdict is Verdict.PASS
    ):
        return passed
    if ended is StepEndReason.EVIDENCE:
        return f"{passed} ({why})"
    return why


def is_last_weight_step(strategy: Strategy, index: int) -> bool:
    """No weight step follows this one: its end decides promotion."""
    return not any(isinstance(step, WeightStep) for step in strategy.steps[index + 1 :])


def step_ends_at(state: RolloutState, strategy: Strategy) -> datetime | None:
    """When the current step's time is up: a weight step after the step duration (sooner on
    evidence), a timed pause after its duration, an indefinite pause never (None)."""
    if state.step_started_at is None:
        return None
    step = _current(state, strategy)
    if isinstance(step, PauseStep):
        return None if step.duration is None else state.step_started_at + step.duration
    return state.step_started_at + strategy.step_duration


def extension_ends_at(state: RolloutState, strategy: Strategy) -> datetime | None:
    """When the extension of an undecided last step runs out; None when it is not extended."""
    if state.extension_started_at is None:
        return None
    return state.extension_started_at + strategy.extend_inconclusive


def _current(state: RolloutState, strategy: Strategy) -> Step:
    return strategy.steps[min(state.current_step, len(strategy.steps) - 1)]

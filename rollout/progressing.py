"""Progressing: wait for the canary, then walk the weight steps under analysis.

Before any traffic moves, the canary must be ready (in Standard mode, its Deployment's rollout
complete too, so no old pod answers under the canary's name) within the progress deadline,
counted from when the revision appeared; the analysis window starts then. A weight step ends
when it has lasted the step duration and an analysis taken during it allows it, or sooner, with
`advanceOnPass`, once an analysis taken at least one interval into it (so the step's own weight
is in the data) passes: non-inferiority shown on every check and the split as the weights say.
At the end of the last weight step, Pass promotes; Inconclusive extends the step
(rollout.extension), then follows `onInconclusive`. While the sample-ratio check fails (the
router does not split as the weights say), no step ends and nothing is promoted: the comparison
behind a verdict cannot be trusted then. Harm still rolls back.
"""

from __future__ import annotations

from rollout import judging, warmup
from rollout.actions import warning
from rollout.durations import format_duration
from rollout.evidence import Verdict
from rollout.extension import undecided_last_step
from rollout.no_data import no_data_rule
from rollout.rollback import begin_rollback
from rollout.state import Outcome, RolloutState, StepEndReason
from rollout.stepping import enter_step, is_last_weight_step, step_ends_at
from rollout.steps import WeightStep
from rollout.transition import Tick, Transition, stay


def progressing(state: RolloutState, tick: Tick) -> Transition:
    if not state.canary_started:
        return wait_for_canary(state, tick)
    stop = judging.harm(state, tick)
    if stop is not None:
        return stop
    index = min(state.current_step, len(tick.strategy.steps) - 1)
    if index != state.current_step:  # the steps were shortened under us: finish the last one
        state = state.with_step(index, state.canary_weight, state.step_started_at)
    ends_at = step_ends_at(state, tick.strategy)
    if ends_at is None:  # a pause step while Progressing (steps edited): pause there
        return enter_step(state, index, tick)
    held = warmup.hold(state, tick, ends_at)
    if held is not None:
        return held
    last = state.last_analysis
    if last is None or state.step_started_at is None or last.time < state.step_started_at:
        return stay(state)
    if tick.now < ends_at:
        if _shows_non_inferiority(state, tick):
            return enter_step(state, index + 1, tick, ended=StepEndReason.EVIDENCE)
        return stay(state)
    if not judging.may_advance(last, tick):
        return stay(state.with_message(_holding_message(state, tick)))
    if last.split_mismatch:
        return _hold_for_the_split(state, tick)
    if is_last_weight_step(tick.strategy, index) and last.verdict is not Verdict.PASS:
        return undecided_last_step(state, tick, index)
    # A Pass in the extension of the last step ends it on evidence, not because time was up.
    extended = state.extension_started_at is not None and last.verdict is Verdict.PASS
    ended = StepEndReason.EVIDENCE if extended else StepEndReason.DURATION
    return enter_step(state, index + 1, tick, ended=ended)


def _shows_non_inferiority(state: RolloutState, tick: Tick) -> bool:
    """With advanceOnPass, a weight step may end before its time: the last analysis passed with
    the split as the weights say, and was taken at least one interval into the step."""
    last = state.last_analysis
    started = state.step_started_at
    step = tick.strategy.steps[state.current_step]
    return (
        tick.strategy.advance_on_pass
        and isinstance(step, WeightStep)
        and last is not None
        and started is not None
        and last.verdict is Verdict.PASS
        and not last.split_mismatch
        and last.time >= started + tick.strategy.interval
    )


def wait_for_canary(state: RolloutState, tick: Tick) -> Transition:
    canary = state.canary
    if canary is None:  # cannot happen from a status kcanary wrote
        return stay(state)
    isvc = tick.observed.isvc
    if isvc.revision.hash == canary.hash and isvc.serving:
        ready = state.with_canary(isvc.revision).with_rollout_started(tick.now)
        return enter_step(ready, 0, tick)
    entry = state.current_entry
    appeared = entry.started_at if entry is not None else tick.now
    deadline = tick.strategy.progress_deadline
    if tick.now - appeared >= deadline:
        return begin_rollback(
            state,
            outcome=Outcome.ROLLED_BACK,
            reason=f"canary not ready within the progress deadline ({format_duration(deadline)})",
            event_reason="ProgressDeadlineExceeded",
        )
    return stay(state)


def _hold_for_the_split(state: RolloutState, tick: Tick) -> Transition:
    """Hold the step; one Warning Event when the hold starts, not one per look."""
    message = (
        f"step {state.current_step + 1}/{len(tick.strategy.steps)}: holding, sample-ratio "
        "mismatch: the canary's share of requests does not match its weight, so the comparison "
        "cannot be trusted; check the route, or promote or abort by hand"
    )
    if state.message == message:
        return stay(state)
    return stay(state.with_message(message), warning("SampleRatioMismatch", message))


def _holding_message(state: RolloutState, tick: Tick) -> str:
    since = state.no_data_since
    rule = no_data_rule(state.last_analysis, tick.strategy)
    when = f" since {since.isoformat()}" if since is not None else ""
    data = "analysis data" if rule.data == "data" else rule.data
    return (
        f"step {state.current_step + 1}/{len(tick.strategy.steps)}: holding, no {data}"
        f"{when} (rolls back after {format_duration(rule.limit)} without data)"
    )

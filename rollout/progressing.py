"""Progressing: wait for the canary, then walk the weight steps under analysis.

Before any traffic moves, the canary must be ready (in Standard mode, its Deployment's rollout
complete too, so no old pod answers under the canary's name) within the progress deadline,
counted from when the revision appeared; the analysis window starts then. A step ends when it
has lasted the step duration and an analysis taken during it allows it. At the end of the last
weight step, Pass promotes and Inconclusive follows `onInconclusive`. While the sample-ratio check
fails (the router does not split as the weights say), no step ends and nothing is promoted: the
comparison behind an Inconclusive cannot be trusted then. Harm still rolls back.
"""

from __future__ import annotations

from rollout import judging, warmup
from rollout.actions import warning
from rollout.durations import format_duration
from rollout.evidence import Verdict
from rollout.rollback import begin_rollback
from rollout.state import Outcome, RolloutState
from rollout.stepping import enter_step, is_last_weight_step, step_ends_at
from rollout.strategy import InconclusivePolicy
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
    if tick.now < ends_at:
        return stay(state)
    last = state.last_analysis
    if last is None or state.step_started_at is None or last.time < state.step_started_at:
        return stay(state)
    if not judging.may_advance(last.verdict, tick):
        return stay(state.with_message(_holding_message(state, tick)))
    if last.split_mismatch:
        return _hold_for_the_split(state, tick)
    if is_last_weight_step(tick.strategy, index) and last.verdict is not Verdict.PASS:
        return _last_step_inconclusive(state, tick, index)
    return enter_step(state, index + 1, tick)


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


def _last_step_inconclusive(state: RolloutState, tick: Tick, index: int) -> Transition:
    policy = tick.strategy.on_inconclusive
    if policy is InconclusivePolicy.PROMOTE:
        return enter_step(state, index + 1, tick)
    if policy is InconclusivePolicy.ROLLBACK:
        return begin_rollback(
            state,
            outcome=Outcome.ROLLED_BACK,
            reason="the last step ended inconclusive (onInconclusive: rollback)",
            event_reason="AnalysisInconclusive",
        )
    return stay(
        state.with_message(
            f"step {index + 1}/{len(tick.strategy.steps)}: the last step ended inconclusive "
            "(onInconclusive: hold); promote or abort by hand"
        )
    )


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
    limit = tick.strategy.no_data.limit
    when = f" since {since.isoformat()}" if since is not None else ""
    return (
        f"step {state.current_step + 1}/{len(tick.strategy.steps)}: holding, no analysis data"
        f"{when} (rolls back after {format_duration(limit)} without data)"
    )

"""The warm-up: the first `warmup` of a rollout, which the analysis leaves out.

A model server that has just started is often slow for a while (caches to fill, code to
compile, weights to page in). Judged from its first request, such a canary is rolled back for a
slowness it has already shed. So every count of the analysis starts at `rolloutStartedAt +
warmup` (the counts start), for both revisions: stable's counts over the same window, so the
comparison stays one of like with like (a drift both share, a busier minute, cancels out).

A look taken at or before the counts start has nothing to judge: it is Inconclusive, not NoData
(which would start the no-data limit), and no step ends on it. A warm-up longer than the first
step holds that step until the first analysis after the warm-up, at the first step's weight.

Everything here is computed from the status's `rolloutStartedAt` and the strategy, so a restarted
controller agrees with the one before it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from rollout.durations import format_duration
from rollout.state import RolloutState
from rollout.status import format_time
from rollout.strategy import Strategy
from rollout.transition import Tick, Transition, stay


def counts_start(rollout_started_at: datetime, strategy: Strategy) -> datetime:
    """When the analysis starts counting both revisions."""
    return rollout_started_at + strategy.warmup


def warming_up_at(rollout_started_at: datetime, strategy: Strategy, at: datetime) -> bool:
    """A look at `at` counts nothing yet: its window would end by the counts start. Compared to
    the second, the status's precision, so the reconciler that takes the look and the rollout
    that reads it back from the status agree."""
    start = counts_start(rollout_started_at, strategy)
    return strategy.warmup > timedelta(0) and at.replace(microsecond=0) <= start


def only_warm_up(state: RolloutState, strategy: Strategy) -> bool:
    """The last analysis was taken during the warm-up: no step may end on it."""
    started, last = state.rollout_started_at, state.last_analysis
    return started is not None and last is not None and warming_up_at(started, strategy, last.time)


def hold(state: RolloutState, tick: Tick, ends_at: datetime) -> Transition | None:
    """Keep the step while the last look is a warm-up look, whatever it says: quietly before the
    step's time is up, saying why after it; None when the warm-up holds nothing."""
    if not only_warm_up(state, tick.strategy):
        return None
    if tick.now < ends_at:
        return stay(state)
    return stay(state.with_message(holding_message(state, tick.strategy)))


def warming_up_message(start: datetime, warmup: timedelta) -> str:
    """What a look before the counts `start` says in place of a verdict's reasons."""
    return f"warming up: counts start at {format_time(start)} (warmup {format_duration(warmup)})"


def holding_message(state: RolloutState, strategy: Strategy) -> str:
    """The status message of a step that has lasted its time but has only warm-up looks."""
    assert state.rollout_started_at is not None  # only_warm_up held
    start = counts_start(state.rollout_started_at, strategy)
    return (
        f"step {state.current_step + 1}/{len(strategy.steps)}: holding, "
        f"{warming_up_message(start, strategy.warmup)}; the step ends on the first analysis "
        "after it"
    )

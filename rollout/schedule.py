"""When the machine next needs to run without anything changing in the cluster.

Analysis ticks are anchored at `rolloutStartedAt + k * interval`, so a restarted controller
keeps the same tick times. The other deadlines (a step's end, the end of an undecided last
step's extension, a timed pause, the progress deadline, the no-data limit) are wake-ups too,
so a decision is not late by up to an interval. The scheduler only enqueues the object at
these times; the work happens in the reconcile.
"""

from __future__ import annotations

import math
from datetime import datetime

from rollout.no_data import no_data_rule
from rollout.state import Phase, RolloutState
from rollout.stepping import extension_ends_at, step_ends_at
from rollout.strategy import NoDataPolicy, Strategy


def next_analysis_at(state: RolloutState, strategy: Strategy, now: datetime) -> datetime | None:
    """The first tick strictly after `now`, or None when no canary is being analysed."""
    start = state.rollout_started_at
    if start is None or not state.phase.in_rollout:
        return None
    interval = strategy.interval
    if now < start:
        return start
    elapsed = (now - start) / interval
    ticks = math.floor(elapsed) + 1
    return start + ticks * interval


def next_wakeup(state: RolloutState, strategy: Strategy, now: datetime) -> datetime | None:
    """The earliest time a decision may become due: tick, step end, extension end, pause end or
    a deadline."""
    candidates: list[datetime] = []
    analysis = next_analysis_at(state, strategy, now)
    if analysis is not None:
        candidates.append(analysis)
    if state.phase is Phase.PROGRESSING and not state.canary_started:
        entry = state.current_entry
        if entry is not None:
            candidates.append(entry.started_at + strategy.progress_deadline)
    if state.phase.in_rollout and state.canary_started:
        for ends in (step_ends_at(state, strategy), extension_ends_at(state, strategy)):
            if ends is not None and not (state.pause is not None and state.pause.by_user):
                candidates.append(ends)
    rule = no_data_rule(state.last_analysis, strategy)
    if state.no_data_since is not None and rule.policy is NoDataPolicy.HOLD:
        candidates.append(state.no_data_since + rule.limit)
    future = [moment for moment in candidates if moment > now]
    return min(future) if future else None

"""Stable, RolledBack and Aborted: no canary takes traffic (rollout.follow starts the next).

While Stable with a primary copy, a copy that went missing or astray is put back; the ISVC then
runs the stable spec, so it can be copied again.
"""

from __future__ import annotations

from rollout.actions import EnsurePrimary
from rollout.state import Phase, RolloutState
from rollout.transition import Tick, Transition, stay


def stable(state: RolloutState, tick: Tick) -> Transition:
    current = state.stable
    revision = tick.observed.isvc.revision
    if current is None:  # cannot happen from a status kcanary wrote: adopt again
        return stay(state.with_phase(Phase.INITIALIZING, "adopting the ISVC"))
    if revision.hash != current.hash:
        return stay(state)  # a rollout starts from rollout.follow
    refreshed = state.with_stable(revision) if revision != current else state
    primary = tick.observed.primary
    if tick.strategy.uses_primary_copy and (
        primary is None or primary.revision.hash != current.hash
    ):
        return stay(refreshed, EnsurePrimary(revision))
    return stay(refreshed)


def rejected(state: RolloutState, tick: Tick) -> Transition:
    """RolledBack or Aborted: wait for a retry, a revert or a new revision."""
    return stay(state)

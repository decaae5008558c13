"""Initializing: take over an ISVC and route all its traffic to the stable revision.

With a primary copy, the stable revision is what the primary already runs (a controller
reinstalled mid-rollout finds it there) or else what the ISVC runs now; the copy is created and
must be ready before kcanary's route, at 0% canary, is created, so traffic never meets a copy
that cannot answer. Without a primary copy (kserve) the ISVC's current revision is stable and
the 0% guard goes on at once.
"""

from __future__ import annotations

from rollout.actions import EnsurePrimary, normal
from rollout.state import Phase, RolloutState
from rollout.transition import Tick, Transition, stay


def initializing(state: RolloutState, tick: Tick) -> Transition:
    observed = tick.observed
    if not tick.strategy.uses_primary_copy:
        stable = state.stable or observed.isvc.revision
        return _initialized(state.with_stable(stable))
    primary = observed.primary
    if primary is None:
        stable = observed.isvc.revision
        waiting = state.with_stable(stable).with_message(
            f"creating the primary copy for stable {stable.hash}"
        )
        return stay(waiting, EnsurePrimary(stable))
    stable = primary.revision
    if not primary.serving:
        return stay(
            state.with_stable(stable).with_message(
                f"waiting for the primary copy of {stable.hash} to be ready"
            )
        )
    return _initialized(state.with_stable(stable))


def _initialized(state: RolloutState) -> Transition:
    stable = state.stable
    assert stable is not None
    message = f"stable at {stable.hash} ({stable.storage_uri})"
    return stay(
        state.with_phase(Phase.STABLE, message),
        normal("Initialized", f"all traffic on stable {stable.hash} ({stable.storage_uri})"),
    )

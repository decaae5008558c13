"""Following the ISVC: what a change of the revision it asks for means in each phase.

The user's ISVC always runs the newest spec. This runs before manual actions, so an action
written together with a new revision applies to the rollout of that revision.

- Stable: another revision starts a rollout.
- RolledBack, Aborted: the rejected canary stays rejected (only `retry` rolls it out again);
  going back to the stable revision (the user reverted) settles to Stable without a rollout;
  any other revision starts a new rollout.
- Progressing, Paused: the canary under way is gone. Its history entry ends `superseded` and
  the analysis restarts at 0% for the new revision against the same stable; if the ISVC went
  back to the stable revision there is nothing left to roll out.
- Promoting: once the stable side has taken the canary's spec the promotion is finished first
  (the newer revision then rolls out from Stable); before that, the newer one supersedes it.
- Initializing, RollingBack: finish first.
"""

from __future__ import annotations

from rollout import history
from rollout.actions import normal
from rollout.promoting import copy_started
from rollout.state import Outcome, Phase, RolloutState
from rollout.stepping import start_rollout
from rollout.transition import Tick, Transition, stay


def follow_revision(state: RolloutState, tick: Tick) -> Transition:
    phase = state.phase
    if phase is Phase.STABLE:
        return _from_stable(state, tick)
    if phase in (Phase.ROLLED_BACK, Phase.ABORTED):
        return _from_rejected(state, tick)
    if phase in (Phase.PROGRESSING, Phase.PAUSED, Phase.PROMOTING):
        return _mid_rollout(state, tick)
    return stay(state)


def _from_stable(state: RolloutState, tick: Tick) -> Transition:
    revision = tick.observed.isvc.revision
    if state.stable is None or revision.hash == state.stable.hash:
        return stay(state)
    return start_rollout(state, revision, tick.now)


def _from_rejected(state: RolloutState, tick: Tick) -> Transition:
    revision = tick.observed.isvc.revision
    if state.stable is not None and revision.hash == state.stable.hash:
        message = f"the ISVC is back at stable {revision.hash}; stable at {revision.hash}"
        settled = state.with_canary(None).with_rollout_reset()
        return stay(
            settled.with_phase(Phase.STABLE, message),
            normal("Reverted", f"the ISVC is back at stable revision {revision.hash}"),
        )
    if state.canary is not None and revision.hash == state.canary.hash:
        return stay(state)
    return start_rollout(state, revision, tick.now)


def _mid_rollout(state: RolloutState, tick: Tick) -> Transition:
    canary = state.canary
    revision = tick.observed.isvc.revision
    if canary is None or revision.hash == canary.hash:
        return stay(state)
    if state.phase is Phase.PROMOTING and copy_started(state, tick):
        return stay(state)
    if state.stable is not None and revision.hash == state.stable.hash:
        reason = "the ISVC went back to the stable revision"
        ended = history.close(state, Outcome.SUPERSEDED, reason, tick.now)
        ended = ended.with_canary(None).with_rollout_reset()
        message = f"{canary.hash} superseded: {reason}; stable at {revision.hash}"
        return stay(ended.with_phase(Phase.STABLE, message), normal("Superseded", message))
    reason = f"revision {revision.hash} replaced it"
    ended = history.close(state, Outcome.SUPERSEDED, reason, tick.now)
    restarted = start_rollout(ended, revision, tick.now)
    return restarted.plus(normal("Superseded", f"{canary.hash} superseded: {reason}"))

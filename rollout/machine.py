"""The rollout state machine: `step(state, observations, now) -> Transition`.

Pure: it reads nothing but its arguments and changes nothing; the reconciler carries out the
returned actions (see rollout.actions for their order and the commit point) and writes
`to_status(transition.state)`. One call reads as a chain:

1. the strategy: removed -> roll back if needed, then hand back; unusable -> InvalidSpec, and
   nothing moves (a manual action waits for a usable strategy);
2. follow the ISVC: a new revision mid-rollout supersedes the canary;
3. take in a fresh analysis result;
4. take the manual action, if any;
5. run the phase's handler, and the next phase's if it changed (a canary that is ready when
   its revision is first seen gets its first weight in the same call);
6. converge traffic to the weight the state implies;
7. refresh the conditions.

Times are kept to whole seconds, the precision of the status, so a state read back from the
status equals the one written.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from rollout import conditions, follow, judging, manual, weights
from rollout.actions import warning
from rollout.annotations import InvalidStrategy
from rollout.handback import strategy_removed
from rollout.initializing import initializing
from rollout.observations import Observations
from rollout.pause import paused
from rollout.progressing import progressing
from rollout.promoting import promoting
from rollout.rollback import rolling_back
from rollout.stable import rejected, stable
from rollout.state import Phase, RolloutState
from rollout.transition import Tick, Transition, stay

Handler = Callable[[RolloutState, Tick], Transition]

_HANDLERS: dict[Phase, Handler] = {
    Phase.INITIALIZING: initializing,
    Phase.STABLE: stable,
    Phase.PROGRESSING: progressing,
    Phase.PAUSED: paused,
    Phase.PROMOTING: promoting,
    Phase.ROLLING_BACK: lambda state, tick: rolling_back(state, tick.observed.weight, tick.now),
    Phase.ROLLED_BACK: rejected,
    Phase.ABORTED: rejected,
}
_MAX_PHASES_PER_CALL = 4


def step(state: RolloutState, observed: Observations, now: datetime) -> Transition:
    """The next state and the actions that get the world there."""
    now = whole_seconds(now)
    state = state.with_generation(observed.generation)
    strategy = observed.strategy
    if strategy is None:
        removed = strategy_removed(state, observed, now)
        return Transition(conditions.refresh(removed.state, now), removed.actions)
    if isinstance(strategy, InvalidStrategy):
        return _invalid(state, strategy, now)
    tick = Tick(strategy, observed, now)
    transition = (
        stay(state)
        .then(follow.follow_revision, tick)
        .then(judging.absorb, tick)
        .then(manual.take_request, tick)
    )
    for _ in range(_MAX_PHASES_PER_CALL):
        phase = transition.state.phase
        transition = transition.then(_HANDLERS[phase], tick)
        if transition.state.phase is phase:
            break
    transition = weights.converge(transition, tick)
    return Transition(conditions.refresh(transition.state, now), transition.actions)


def whole_seconds(moment: datetime) -> datetime:
    """UTC, truncated to the second (naive times are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0)


def _invalid(state: RolloutState, invalid: InvalidStrategy, now: datetime) -> Transition:
    """Hold everything; warn once per distinct problem."""
    before = state.condition(conditions.READY)
    held = conditions.refresh(state, now, invalid=invalid.message)
    already = (
        before is not None
        and before.reason == conditions.INVALID_SPEC
        and before.message == invalid.message
    )
    if already:
        return stay(held)
    return stay(held, warning(conditions.INVALID_SPEC, invalid.message))

"""A transition: the next state and the actions that get the world there.

Phase handlers take the state and a `Tick` (strategy, observations, time) and return a
`Transition`; `then` chains them so the machine reads as "follow the ISVC, take the manual
action, run the phase, converge traffic, refresh conditions".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from rollout.actions import Action, SetWeight
from rollout.observations import Observations
from rollout.state import RolloutState
from rollout.strategy import Strategy


@dataclass(frozen=True)
class Tick:
    """What one call of the machine knows besides the state."""

    strategy: Strategy
    observed: Observations
    now: datetime


@dataclass(frozen=True)
class Transition:
    state: RolloutState
    actions: tuple[Action, ...] = ()

    def then(self, handler: Callable[[RolloutState, Tick], Transition], tick: Tick) -> Transition:
        following = handler(self.state, tick)
        return Transition(following.state, self.actions + following.actions)

    def plus(self, *actions: Action) -> Transition:
        return Transition(self.state, self.actions + actions)

    @property
    def before_commit(self) -> tuple[Action, ...]:
        """Carry these out, in order, before writing the status; stop at the first failure."""
        return tuple(action for action in self.actions if not action.after_commit)

    @property
    def after_commit(self) -> tuple[Action, ...]:
        """Carry these out once the status is written."""
        return tuple(action for action in self.actions if action.after_commit)

    @property
    def weight_set(self) -> int | None:
        """The last weight this transition asks for, if any."""
        weights = [action.weight for action in self.actions if isinstance(action, SetWeight)]
        return weights[-1] if weights else None


def stay(state: RolloutState, *actions: Action) -> Transition:
    return Transition(state, actions)

"""The one interface every traffic router implements, and the values it speaks in.

A router moves live traffic between the stable and the canary revision of one
InferenceService. The reconciler only ever asks it five things, in this order over a rollout:
make sure the route exists (:meth:`Router.ensure`), set the canary's share
(:meth:`Router.set_weight`), read it back and check it against what was asked
(:meth:`Router.get_weight`, :meth:`Router.verify_weight`), finish with
:meth:`Router.promote` or :meth:`Router.roll_back`, and :meth:`Router.hand_back` when kcanary
stops managing the ISVC. Weights are percentages of the traffic that goes to the pair
(stable + canary); each router translates them to its own format.

All methods are idempotent and safe to call on every reconcile: a call that finds the cluster
already as asked writes nothing. Writes are conditioned on the resourceVersion read and retried
on conflicts (:mod:`traffic.conditioned_write`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

from traffic.errors import InvalidWeight

__all__ = ["Drift", "Progress", "RouteWeights", "Router", "RouterKind", "checked_weight"]


class RouterKind(enum.Enum):
    """The value of ``kcanary.io/traffic``."""

    ISTIO = "istio"
    GATEWAY_API = "gateway-api"
    KSERVE = "kserve"


@dataclass(frozen=True)
class RouteWeights:
    """The split a route holds now, as the canary's percentage of the pair's traffic."""

    canary: int

    @property
    def stable(self) -> int:
        """The stable revision's percentage: what the canary leaves."""
        return 100 - self.canary


@dataclass(frozen=True)
class Drift:
    """A route that no longer holds the weight kcanary set: someone or something changed it."""

    route: str
    """The object, as ``Kind namespace/name``."""
    expected: int
    """The canary percentage that was asked for."""
    found: tuple[str, ...]
    """Each place that differs, described for a person (``spec.http[0]: canary 50, ...``)."""

    @property
    def message(self) -> str:
        """One line for an Event or a log: where and what differs."""
        return f"{self.route} should send {self.expected}% to the canary: " + "; ".join(self.found)


@dataclass(frozen=True)
class Progress:
    """How far a promotion or rollback that needs several reconciles has got."""

    done: bool
    message: str


class Router(Protocol):
    """Sets and reads the canary's share of the traffic for one InferenceService."""

    @property
    def kind(self) -> RouterKind:
        """Which router this is."""
        ...

    @property
    def name(self) -> str:
        """The object it writes, as ``Kind namespace/name`` (for Events and status)."""
        ...

    def ensure(self) -> bool:
        """Make the route usable; True if it wrote.

        istio, gateway-api: create the owned route (0% canary) or restore it if edited by hand;
        check that an adopted one exists and sends to both Services. kserve (Serverless): keep
        ``canaryTrafficPercent`` at 0 while nothing rolls out. Call it on every reconcile.
        """
        ...

    def set_weight(self, canary_percent: int) -> bool:
        """Send ``canary_percent`` of the traffic to the canary; True if it wrote.

        Raises :class:`~traffic.errors.InvalidWeight` for a weight outside 0..100.
        """
        ...

    def get_weight(self) -> RouteWeights | None:
        """The split the route holds now, or None while there is no route yet."""
        ...

    def verify_weight(self, expected: int) -> Drift | None:
        """None when the route holds ``expected``; else where it differs."""
        ...

    def promote(self) -> Progress:
        """Make the canary the stable revision as far as traffic goes; call until done."""
        ...

    def roll_back(self) -> Progress:
        """Take all traffic off the canary; call until done."""
        ...

    def hand_back(self) -> None:
        """Stop managing traffic (from Stable only) and remove what kcanary created."""
        ...


def checked_weight(canary_percent: object) -> int:
    """``canary_percent`` if it is a whole number from 0 to 100, else :class:`InvalidWeight`."""
    if isinstance(canary_percent, bool) or not isinstance(canary_percent, int):
        raise InvalidWeight(canary_percent)
    if not 0 <= canary_percent <= 100:
        raise InvalidWeight(canary_percent)
    return canary_percent

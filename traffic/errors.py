"""Errors a router raises when it cannot do what it was asked, each saying what to change.

Store errors (:mod:`traffic.store`) say that a read or write failed; these say that the objects
are not what a router can work with: a weight out of range, a route to adopt that does not exist
or does not send to both Services, an ISVC whose mode the router cannot drive.
"""

from __future__ import annotations

__all__ = [
    "InvalidWeight",
    "RouteError",
    "RouteNotFound",
    "RouteNotManaged",
    "TooManyConflicts",
    "UnroutableTarget",
]


class RouteError(Exception):
    """A router cannot carry out the request; the message says what to change."""


class InvalidWeight(RouteError, ValueError):
    """A canary weight outside 0..100 percent."""

    def __init__(self, weight: object) -> None:
        super().__init__(
            f"canary weight {weight!r} is not a whole percentage from 0 to 100; "
            "use an integer such as 10, 25 or 50"
        )
        self.weight = weight


class RouteNotFound(RouteError):
    """The route to adopt (``kcanary.io/route``) or the ISVC to drive does not exist."""


class UnroutableTarget(RouteError):
    """The object exists but cannot be routed as asked (a destination or a field is missing)."""


class RouteNotManaged(RouteError):
    """An object with the owned route's name exists but kcanary did not create it."""


class TooManyConflicts(RouteError):
    """Every attempt to write hit a newer version: another client keeps changing the object."""

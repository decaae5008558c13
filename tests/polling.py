"""Waiting in tests: poll a condition with a small interval until it holds or a deadline passes.

Every test area waits the same way, so that a wait that fails says what it was waiting for (and,
with a callable `what`, the last state seen) instead of only that the time ran out.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

INTERVAL_S = 0.05
"""Between two checks: short next to any timeout, long enough not to busy the 2-core CI machine."""


def wait_until(
    condition: Callable[[], T | None],
    timeout_s: float = 10.0,
    what: str | Callable[[], str] | None = None,
    *,
    interval_s: float = INTERVAL_S,
) -> T:
    """The first truthy value of `condition()`, checked every `interval_s` until `timeout_s`.

    At the deadline, AssertionError naming `what` (a callable is called only then, so it can
    show the last state the condition saw; without it, the condition's name). The last check is
    made at the deadline: a sleep never runs past it.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"not within {timeout_s:g}s: {_described(what, condition)}")
        time.sleep(min(interval_s, remaining))


def _described(what: str | Callable[[], str] | None, condition: Callable[[], object]) -> str:
    if what is None:
        return getattr(condition, "__qualname__", repr(condition))
    return what() if callable(what) else what

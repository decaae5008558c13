"""Deferred work for the server's built-in controllers.

Controllers react to commits, but must not write from inside a commit (the store would nest
events) and should act after the triggering request has been answered, as the real
controllers act asynchronously. `Debouncer` runs its function once, soon after the first poke.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

_log = logging.getLogger(__name__)


class Debouncer:
    """Run `work` on the event loop `delay` seconds after a poke; pokes meanwhile coalesce.

    `delay` is a number or a function read at each poke (so a test can slow a controller down
    while the server runs).
    """

    def __init__(self, work: Callable[[], None], *, delay: float | Callable[[], float]) -> None:
        self._work = work
        self._delay = delay
        self._handle: asyncio.TimerHandle | None = None

    def poke(self) -> None:
        if self._handle is not None:
            return
        loop = asyncio.get_running_loop()
        delay = self._delay() if callable(self._delay) else self._delay
        self._handle = loop.call_later(delay, self._run)

    def _run(self) -> None:
        self._handle = None
        try:
            self._work()
        except Exception:  # a controller bug must not stop the server; it is logged
            _log.exception("built-in controller failed")

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

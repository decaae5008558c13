"""An asyncio event loop on a daemon thread, driven from synchronous code.

The local cluster's data plane (model servers, gateway, load generator) is asynchronous, while
tests, the KServe stand-in and the command line are not. Each part runs its coroutines on a
`BackgroundLoop`; parts may share one loop, which keeps ~50 model servers and the gateway on one
thread of a 2-core machine.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import traceback
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

log = logging.getLogger(__name__)

STALL_S = 10.0
"""A loop that has not run a scheduled callback for this long is stalled: its thread's stack is
logged, so a hang of the local cluster says where it is stuck."""


class BackgroundLoop:
    """An event loop running on its own thread until `stop()`."""

    def __init__(self, name: str = "sim-loop", *, stall_s: float = STALL_S) -> None:
        self._name = name
        self._stall_s = stall_s
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._watching = threading.Event()
        self._pause = threading.Event()  # set by stop(): a wait on it is a sleep stop() ends

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            raise RuntimeError(f"{self._name} is not running; call start() first")
        return self._loop

    @property
    def running(self) -> bool:
        return self._loop is not None

    def start(self) -> None:
        if self._loop is not None:
            return
        loop = asyncio.new_event_loop()
        started = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(started.set)
            loop.run_forever()

        self._thread = threading.Thread(target=run, name=self._name, daemon=True)
        self._thread.start()
        started.wait()
        self._loop = loop
        self._watching.set()
        self._pause.clear()
        threading.Thread(target=self._watch, name=f"{self._name}-watchdog", daemon=True).start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = 30.0) -> T:
        """Run `coro` on the loop and wait for its result (from any other thread)."""
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(timeout)

    def _watch(self) -> None:
        """Log the loop thread's stack whenever the loop stops running callbacks."""
        while self._watching.is_set():
            loop, thread = self._loop, self._thread
            if loop is None or thread is None:
                return
            ran = threading.Event()
            try:
                loop.call_soon_threadsafe(ran.set)
            except RuntimeError:  # closed meanwhile
                return
            if not ran.wait(self._stall_s) and self._watching.is_set():
                frame = sys._current_frames().get(thread.ident or 0)
                stack = (
                    "".join(traceback.format_stack(frame))
                    if frame is not None
                    else f"(no frame: the thread is {'alive' if thread.is_alive() else 'dead'})"
                )
                log.error(
                    "%s has run nothing for %.0fs; its thread is at:\n%s",
                    self._name,
                    self._stall_s,
                    stack,
                )
                while not ran.wait(1.0):  # one report per stall
                    if not self._watching.is_set():
                        return
            self._pause.wait(self._stall_s / 2)

    def stop(self) -> None:
        """Cancel what is still running, stop the loop and join its thread."""
        self._watching.clear()
        self._pause.set()
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return

        async def cancel_rest() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await loop.shutdown_asyncgens()

        asyncio.run_coroutine_threadsafe(cancel_rest(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
        self._loop = None
        self._thread = None

"""A background loop that stops running callbacks says so, with where its thread is stuck: a hang
of the local cluster then names its cause in the log instead of showing up as timeouts."""

from __future__ import annotations

import asyncio
import logging
import threading

import pytest
from polling import wait_until

from sim.background_loop import BackgroundLoop


def blocking_wait_on_the_loop(release: threading.Event) -> None:
    release.wait(10)  # blocks the loop's thread: what a stall looks like


def test_a_stalled_loop_logs_its_threads_stack_once(caplog: pytest.LogCaptureFixture) -> None:
    loop = BackgroundLoop("stalling", stall_s=0.3)
    loop.start()
    release = threading.Event()
    try:
        with caplog.at_level(logging.ERROR, logger="sim.background_loop"):

            async def stall() -> None:
                blocking_wait_on_the_loop(release)

            asyncio.run_coroutine_threadsafe(stall(), loop.loop)
            wait_until(
                lambda: any("has run nothing" in r.getMessage() for r in caplog.records),
                5,
                "the watchdog's report",
            )
            release.set()
            loop.run(asyncio.sleep(0), timeout=5)  # running again
        reports = [r.getMessage() for r in caplog.records if "has run nothing" in r.getMessage()]
        assert len(reports) == 1, reports
        assert "stalling" in reports[0] and "blocking_wait_on_the_loop" in reports[0]
    finally:
        release.set()
        loop.stop()


def test_a_busy_but_running_loop_is_not_reported(caplog: pytest.LogCaptureFixture) -> None:
    loop = BackgroundLoop("running", stall_s=0.3)
    loop.start()
    try:
        with caplog.at_level(logging.ERROR, logger="sim.background_loop"):
            loop.run(asyncio.sleep(1.0), timeout=5)  # awaits: the loop keeps running callbacks
        assert not [r for r in caplog.records if "has run nothing" in r.getMessage()]
    finally:
        loop.stop()

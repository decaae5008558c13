"""A scheduled tick only queues the key; rescheduling replaces the earlier wake-up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from reconcile.ticks import TickScheduler
from reconcile.workqueue import WorkQueue


def test_a_tick_in_the_past_queues_the_key_at_once_and_replaces_earlier_ones() -> None:
    queue: WorkQueue[str] = WorkQueue()
    ticks = TickScheduler(queue)
    ticks.start()
    try:
        ticks.wake_at("models/iris", datetime.now(UTC) + timedelta(hours=1))
        assert ticks.scheduled() == 1
        ticks.wake_at("models/iris", datetime.now(UTC) - timedelta(seconds=1))
        assert queue.get(timeout_s=5) == "models/iris"
        assert ticks.scheduled() == 0
    finally:
        ticks.stop()


def test_cancel_removes_the_wake_up() -> None:
    queue: WorkQueue[str] = WorkQueue()
    ticks = TickScheduler(queue)
    ticks.start()
    try:
        ticks.wake_at("a", datetime.now(UTC) + timedelta(hours=1))
        ticks.cancel("a")
        ticks.cancel("never-scheduled")
        assert ticks.scheduled() == 0
    finally:
        ticks.stop()

"""Wakes objects up at a time: analysis ticks and polls of rollouts in progress.

The scheduler (apscheduler 3.x) only puts the object's key on the work queue; all work happens
in the queue's workers, so a tick and a watch event for the same object never run at once. One
job per object: scheduling a new time replaces the old one, so a reconcile that moved a rollout
on simply asks for its next wake-up.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from apscheduler.schedulers.background import BackgroundScheduler

from reconcile.workqueue import WorkQueue

log = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)


class TickScheduler(Generic[K]):
    def __init__(self, queue: WorkQueue[K]) -> None:
        self._queue = queue
        self._scheduler: Any = BackgroundScheduler(
            timezone=UTC,
            job_defaults={"coalesce": True, "misfire_grace_time": None, "max_instances": 1},
        )

    def start(self) -> None:
        self._scheduler.start()

    def stop(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    def wake_at(self, key: K, when: datetime) -> None:
        """Queue `key` at `when` (now, if that has passed), replacing any earlier wake-up."""
        self._scheduler.add_job(
            self._queue.add,
            "date",
            run_date=when.astimezone(UTC),
            args=[key],
            id=_job_id(key),
            replace_existing=True,
        )

    def cancel(self, key: K) -> None:
        job = self._scheduler.get_job(_job_id(key))
        if job is not None:
            job.remove()

    def scheduled(self) -> int:
        return len(self._scheduler.get_jobs())


def _job_id(key: Hashable) -> str:
    return repr(key)


def utcnow() -> datetime:
    return datetime.now(UTC)

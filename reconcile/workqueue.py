"""A work queue of object keys with per-key serialisation, delayed adds and backoff.

It behaves like client-go's rate-limited work queue, which is what controller authors expect:
- a key is queued at most once however often it is added (events coalesce);
- a key being processed is never handed to a second worker; if it is added meanwhile it is
  marked dirty and queued again when the first worker calls `done`, so the latest state is
  always reconciled once more;
- `add_after` queues a key later (analysis ticks, polling a rollout in progress);
- `add_rate_limited` queues a key after an exponential per-key backoff, reset by `forget`.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff per key: base * 2**failures, capped."""

    base_s: float = 0.05
    cap_s: float = 60.0

    def delay(self, failures: int) -> float:
        return float(min(self.cap_s, self.base_s * (2 ** max(0, failures))))


class ShutDown(Exception):
    """The queue was shut down while a worker waited for a key."""


class WorkQueue(Generic[K]):
    def __init__(
        self,
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._backoff = backoff or Backoff()
        self._clock = clock
        self._cond = threading.Condition()
        self._queue: list[K] = []
        self._queued: set[K] = set()
        self._processing: set[K] = set()
        self._dirty: set[K] = set()
        # (due time, tie-breaker, key): keys waiting for a delayed add
        self._waiting: list[tuple[float, int, K]] = []
        self._seq = itertools.count()
        self._failures: dict[K, int] = {}
        self._shutting_down = False

    def add(self, key: K) -> None:
        with self._cond:
            self._add_locked(key)

    def _add_locked(self, key: K) -> None:
        if self._shutting_down:
            return
        if key in self._processing:
            self._dirty.add(key)
            return
        if key in self._queued:
            return
        self._queued.add(key)
        self._queue.append(key)
        self._cond.notify()

    def add_after(self, key: K, delay_s: float) -> None:
        if delay_s <= 0:
            self.add(key)
            return
        with self._cond:
            if self._shutting_down:
                return
            heapq.heappush(self._waiting, (self._clock() + delay_s, next(self._seq), key))
            self._cond.notify()

    def add_rate_limited(self, key: K) -> float:
        """Queue the key after its backoff; returns the delay chosen."""
        with self._cond:
            failures = self._failures.get(key, 0)
            self._failures[key] = failures + 1
        delay = self._backoff.delay(failures)
        self.add_after(key, delay)
        return delay

    def forget(self, key: K) -> None:
        with self._cond:
            self._failures.pop(key, None)

    def failures(self, key: K) -> int:
        with self._cond:
            return self._failures.get(key, 0)

    def get(self, timeout_s: float | None = None) -> K | None:
        """The next key to process, or None when the timeout passes first.

        Raises ShutDown once the queue is shut down and drained of ready keys.
        """
        deadline = None if timeout_s is None else self._clock() + timeout_s
        with self._cond:
            while True:
                self._promote_due_locked()
                if self._queue:
                    key = self._queue.pop(0)
                    self._queued.discard(key)
                    self._processing.add(key)
                    return key
                if self._shutting_down:
                    raise ShutDown()
                now = self._clock()
                wait = None if deadline is None else deadline - now
                if self._waiting:
                    until_due = self._waiting[0][0] - now
                    wait = until_due if wait is None else min(wait, until_due)
                if wait is not None and wait <= 0:
                    if deadline is not None and self._clock() >= deadline:
                        return None
                    continue
                self._cond.wait(wait)

    def _promote_due_locked(self) -> None:
        now = self._clock()
        while self._waiting and self._waiting[0][0] <= now:
            _, _, key = heapq.heappop(self._waiting)
            self._add_locked(key)

    def done(self, key: K) -> None:
        with self._cond:
            self._processing.discard(key)
            if key in self._dirty:
                self._dirty.discard(key)
                self._add_locked(key)

    def shut_down(self) -> None:
        with self._cond:
            self._shutting_down = True
            self._cond.notify_all()

    def __len__(self) -> int:
        with self._cond:
            return len(self._queue)

    def pending_delayed(self) -> int:
        with self._cond:
            return len(self._waiting)

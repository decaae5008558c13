"""Fault switches, so code that runs against the local cluster can be tested on bad days.

Tests flip these while the server runs: end watch streams after a few seconds (clients must
resume from their last resourceVersion), compact the history (resumes then get 410 Expired and
clients must re-list), fail a fraction of requests with 500 or with 429 and Retry-After, slow
every request down, and slow the garbage collector (it acts `gc_delay` after a change).
Discovery, OpenAPI and health endpoints are never failed, as a flaky apiserver usually still
answers those from caches.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class InjectedFailure:
    """The failure to answer one request with."""

    code: int  # 500 or 429
    retry_after: int


class Faults:
    """Mutable at run time from any thread; each attribute is read once per request."""

    def __init__(
        self,
        *,
        watch_close_after: float | None = None,
        error_rate: float = 0.0,
        error_code: int = 500,
        retry_after_seconds: int = 1,
        latency: float = 0.0,
        gc_delay: float = 0.05,
        seed: int | None = None,
    ) -> None:
        self.watch_close_after = watch_close_after
        self.error_rate = error_rate
        self.error_code = error_code
        self.retry_after_seconds = retry_after_seconds
        self.latency = latency
        # how long the garbage collector waits after a change before it acts
        self.gc_delay = gc_delay
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._compactor: Callable[[], int] | None = None

    def attach(self, compactor: Callable[[], int]) -> None:
        """Called by the server so `compact_history` reaches its store."""
        self._compactor = compactor

    def compact_history(self) -> int:
        """Drop all watch history now; returns the resourceVersion compacted at."""
        if self._compactor is None:
            raise RuntimeError("the API server is not running")
        return self._compactor()

    def reset(self) -> None:
        self.watch_close_after = None
        self.error_rate = 0.0
        self.error_code = 500
        self.retry_after_seconds = 1
        self.latency = 0.0
        self.gc_delay = 0.05

    def failure(self) -> InjectedFailure | None:
        """Whether to fail this request, drawn with probability `error_rate`."""
        rate = self.error_rate
        if rate <= 0:
            return None
        with self._lock:
            hit = self._random.random() < rate
        if not hit:
            return None
        return InjectedFailure(code=self.error_code, retry_after=self.retry_after_seconds)

"""What `kcanary bench controller` measures on the controller: the requests its API client sends
(by method and kind, and the time each thread waits on them), each reconcile's wall time, API
wait and CPU time, and the figures of one phase of the run."""

from __future__ import annotations

import resource
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubernetes import client as k8s_client

from reconcile.controller import Controller

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


# Seconds each thread has spent waiting on (non-watch) API requests: a reconcile's wall time
# less this is the controller's own work, apart from the local API server's latency.
_api_wait = threading.local()


def _api_seconds() -> float:
    return float(getattr(_api_wait, "seconds", 0.0))


class CountingClient:
    """Counts the requests an ApiClient sends, by HTTP method and path kind, and times the
    non-watch ones per thread."""

    def __init__(self, api_client: k8s_client.ApiClient) -> None:
        self.counts: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()
        rest: Any = api_client.rest_client
        original: Callable[..., Any] = rest.request

        def counted(method: str, url: str, *args: Any, **kwargs: Any) -> Any:
            query = kwargs.get("query_params", args[0] if args else None) or []
            watching = "watch=true" in url.lower() or any(
                k == "watch" and str(v).lower() == "true" for k, v in query
            )
            kind = "watch" if watching else _resource_of(url)
            with self._lock:
                self.counts[(method, kind)] += 1
            if watching:  # a stream: its time is the stream's life, not a wait
                return original(method, url, *args, **kwargs)
            started = time.perf_counter()
            try:
                return original(method, url, *args, **kwargs)
            finally:
                _api_wait.seconds = _api_seconds() + time.perf_counter() - started

        rest.request = counted

    def snapshot(self) -> Counter[tuple[str, str]]:
        with self._lock:
            return Counter(self.counts)


def _resource_of(url: str) -> str:
    path = url.split("?", 1)[0].rstrip("/").split("/")
    if "namespaces" in path:
        index = path.index("namespaces")
        rest = path[index + 2 :]
        return "/".join(r for r in (rest[0] if rest else "namespaces", *rest[2:3]) if r)
    return path[-1] if path else ""


@dataclass(frozen=True)
class ReconcileTime:
    wall: float
    api_wait: float  # of which waiting on API requests
    cpu: float  # the worker thread's CPU time

    @property
    def own(self) -> float:
        return self.wall - self.api_wait


class TimedReconciles:
    """Wraps the reconciler to keep each reconcile's wall time, API wait and CPU time."""

    def __init__(self, controller: Controller) -> None:
        self.durations: list[ReconcileTime] = []
        self._lock = threading.Lock()
        original: Callable[..., Any] = controller.reconciler.reconcile

        def timed(key: Any) -> Any:
            started, waited, cpu = time.perf_counter(), _api_seconds(), time.thread_time()
            try:
                return original(key)
            finally:
                measured = ReconcileTime(
                    time.perf_counter() - started,
                    _api_seconds() - waited,
                    time.thread_time() - cpu,
                )
                with self._lock:
                    self.durations.append(measured)

        controller.reconciler.reconcile = timed  # type: ignore[method-assign]

    def take(self) -> list[ReconcileTime]:
        with self._lock:
            taken, self.durations = self.durations, []
        return taken


@dataclass(frozen=True)
class PhaseFigures:
    seconds: float
    reconciles: int
    reconcile_p50_ms: float
    reconcile_p99_ms: float
    own_p50_ms: float  # less the time waiting on API requests
    own_p99_ms: float
    cpu_p99_ms: float  # the worker thread's CPU time per reconcile
    requests: int
    writes: int
    writes_by_kind: dict[str, int]
    cpu_seconds: float


def _percentile(samples: list[float], q: float) -> float:
    if not samples:
        return 0.0
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _ms(samples: list[float], q: float) -> float:
    return round(1000 * _percentile(samples, q), 2)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


class Phase:
    """Measures one phase: reconciles, requests, writes and CPU between start and end."""

    def __init__(self, timed: TimedReconciles, counting: CountingClient) -> None:
        self._timed, self._counting = timed, counting
        timed.take()
        self._requests = counting.snapshot()
        self._cpu = _cpu()
        self._began = time.monotonic()

    def end(self) -> PhaseFigures:
        durations = self._timed.take()
        sent = self._counting.snapshot() - self._requests
        writes = Counter({f"{m} {kind}": n for (m, kind), n in sent.items() if m in WRITE_METHODS})
        return PhaseFigures(
            seconds=round(time.monotonic() - self._began, 1),
            reconciles=len(durations),
            reconcile_p50_ms=_ms([d.wall for d in durations], 0.5),
            reconcile_p99_ms=_ms([d.wall for d in durations], 0.99),
            own_p50_ms=_ms([d.own for d in durations], 0.5),
            own_p99_ms=_ms([d.own for d in durations], 0.99),
            cpu_p99_ms=_ms([d.cpu for d in durations], 0.99),
            requests=sum(sent.values()),
            writes=sum(writes.values()),
            writes_by_kind=dict(sorted(writes.items())),
            cpu_seconds=round(_cpu() - self._cpu, 2),
        )

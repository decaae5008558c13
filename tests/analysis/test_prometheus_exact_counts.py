"""Against the real `prometheus` binary: counts since the start are exact, through resets,
vanishing pods and series born after the start."""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from polling import wait_until
from prometheus_process import PrometheusProcess
from scripted_exporter import BOUNDS_MS, ScriptedExporter

from analysis.counts import LatencyHistogram, RevisionCounts
from analysis.prometheus import PrometheusSource
from analysis.prometheus_connection import PrometheusConnection
from analysis.templates import RevisionRef, builtin_template

CANARY = RevisionRef(namespace="models", isvc="iris", workload="iris-predictor")
STABLE = RevisionRef(namespace="models", isvc="iris", workload="iris-primary-predictor")
ISTIO = builtin_template("istio")


@dataclass
class Expected:
    """What a revision served after the start, kept independently of the code under test."""

    requests: int = 0
    failures: int = 0
    buckets: list[int] = field(default_factory=lambda: [0] * (len(BOUNDS_MS) + 1))

    def counts(self) -> RevisionCounts:
        cumulative, running = [], 0
        for count in self.buckets:
            running += count
            cumulative.append(running)
        return RevisionCounts(
            requests=self.requests,
            failures=self.failures,
            latency=LatencyHistogram(
                upper_bounds=(*(b / 1000 for b in BOUNDS_MS), math.inf),
                cumulative=tuple(cumulative),
            ),
        )


@dataclass
class Script:
    exporter: ScriptedExporter
    prometheus: PrometheusProcess
    started: bool = False
    expected: dict[str, Expected] = field(default_factory=dict)

    def serve(self, workload: str, pod: str, code: str, latency_ms: float, n: int) -> None:
        self.exporter.serve(workload=workload, pod=pod, code=code, latency_ms=latency_ms, n=n)
        if self.started:
            expected = self.expected.setdefault(workload, Expected())
            expected.requests += n
            expected.failures += n if code.startswith("5") else 0
            expected.buckets[bisect.bisect_left(BOUNDS_MS, latency_ms)] += n

    def scraped(self, phase: int) -> None:
        """Expose the scripted state as `phase` and wait until Prometheus has scraped it."""
        self.exporter.phase = phase

        def landed() -> bool:
            result = self.prometheus.instant("kcanary_test_phase")
            return bool(result) and float(result[0]["value"][1]) == phase

        wait_until(landed, timeout_s=10, what=f"a scrape of phase {phase}")

    def start_rollout(self) -> datetime:
        """The rollout starts now; wait for a scrape after it, so the baseline is settled."""
        since = datetime.now(UTC)

        def scraped_after() -> bool:
            result = self.prometheus.instant("timestamp(kcanary_test_phase)")
            return bool(result) and float(result[0]["value"][1]) > since.timestamp()

        wait_until(scraped_after, timeout_s=10, what="a scrape after the rollout start")
        self.started = True
        return since


@pytest.fixture
def exporter() -> Iterator[ScriptedExporter]:
    served = ScriptedExporter(namespace="models")
    served.start()
    try:
        yield served
    finally:
        served.stop()


@pytest.mark.timeout(60)
def test_counts_from_a_real_prometheus_are_exact(
    run_prometheus: Callable[[list[str]], PrometheusProcess], exporter: ScriptedExporter
) -> None:
    canary, stable = CANARY.workload or "", STABLE.workload or ""
    script = Script(exporter, run_prometheus([exporter.address]))

    # Before the rollout: what is counted here must not count.
    script.serve(canary, "canary-a", "200", latency_ms=3, n=100)
    script.serve(canary, "canary-a", "500", latency_ms=200, n=2)
    script.serve(canary, "canary-old", "200", latency_ms=30, n=40)
    script.serve(stable, "stable-a", "200", latency_ms=3, n=500)
    script.scraped(phase=0)
    since = script.start_rollout()

    script.serve(canary, "canary-a", "200", latency_ms=3, n=30)
    script.serve(canary, "canary-a", "500", latency_ms=200, n=3)
    script.serve(canary, "canary-old", "200", latency_ms=30, n=10)
    script.serve(canary, "canary-b", "200", latency_ms=700, n=7)  # a pod born after the start
    script.serve(stable, "stable-a", "200", latency_ms=3, n=200)
    script.serve(stable, "stable-a", "503", latency_ms=3, n=1)
    script.scraped(phase=1)

    incremental = PrometheusSource.connect(
        PrometheusConnection(script.prometheus.url, timeout_s=5), lookback_s=30
    )
    midway = incremental.revision_counts(ISTIO, CANARY, since=since, at=datetime.now(UTC))
    assert midway == script.expected[canary].counts()

    exporter.restart("canary-a")  # a counter reset: the increase continues from zero
    script.serve(canary, "canary-a", "200", latency_ms=3, n=4)
    script.serve(canary, "canary-a", "500", latency_ms=200, n=1)
    exporter.remove("canary-old")  # a vanishing series keeps what it counted
    script.serve(canary, "canary-b", "200", latency_ms=40, n=13)
    exporter.restart("stable-a")
    script.serve(stable, "stable-a", "200", latency_ms=3, n=9)
    script.scraped(phase=2)

    script.serve(canary, "canary-a", "200", latency_ms=3, n=6)
    script.serve(canary, "canary-b", "200", latency_ms=3, n=5)
    script.serve(canary, "canary-b", "503", latency_ms=1, n=2)  # an error series born late
    script.scraped(phase=3)
    at = datetime.now(UTC)

    assert script.expected[canary].counts() == RevisionCounts(
        requests=30 + 3 + 10 + 7 + 4 + 1 + 13 + 6 + 5 + 2,
        failures=3 + 1 + 2,
        latency=LatencyHistogram((0.005, 0.05, 0.5, math.inf), (47, 70, 74, 81)),
    )
    assert incremental.revision_counts(ISTIO, CANARY, since=since, at=at) == (
        script.expected[canary].counts()
    )
    assert incremental.queries_made == 2 * 3  # two readings, one query per quantity each
    from_scratch = PrometheusSource.connect(
        PrometheusConnection(script.prometheus.url, timeout_s=2.5), lookback_s=30, max_range_s=2
    )
    assert from_scratch.revision_counts(ISTIO, CANARY, since=since, at=at) == (
        script.expected[canary].counts()
    )
    assert from_scratch.revision_counts(ISTIO, STABLE, since=since, at=at) == (
        script.expected[stable].counts()
    )
    incremental.close()
    from_scratch.close()

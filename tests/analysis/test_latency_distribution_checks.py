"""The latency checks compare whole distributions from bucket counts: tail-only and
variance-only regressions are caught, not only median shifts."""

from __future__ import annotations

import math

import numpy as np

from analysis.counts import LatencyHistogram, RevisionCounts
from analysis.evaluate import evaluate
from analysis.settings import AnalysisSettings, Tolerance
from analysis.verdict import Verdict
from bench.simulator import ISTIO_BOUNDS_S, Latency

SETTINGS = AnalysisSettings(check_error_rate=False, check_sample_ratio=False)


def _counts(latency: Latency, requests: int) -> RevisionCounts:
    """Expected bucket counts of `requests` drawn from `latency` (rounded, cumulative)."""
    probabilities = latency.bucket_probabilities(ISTIO_BOUNDS_S)
    cumulative = np.round(np.cumsum(probabilities) * requests).astype(int)
    cumulative[-1] = requests
    return RevisionCounts(requests, 0, LatencyHistogram(ISTIO_BOUNDS_S, tuple(cumulative.tolist())))


def _checks(stable: RevisionCounts, canary: RevisionCounts) -> dict[str, tuple[Verdict, str]]:
    result = evaluate(SETTINGS, stable=stable, canary=canary)
    return {c.name: (c.verdict, c.metric) for c in result.checks}


BASE = Latency(p50_s=0.05, sigma=0.3)


def test_a_p99_only_regression_fails_at_the_tail_edge() -> None:
    # 2% of requests 3x slower: the median barely moves, p99 goes from ~101 ms to ~150 ms.
    tail = Latency(p50_s=0.05, sigma=0.3, tail_fraction=0.02, tail_factor=3.0)
    assert abs(tail.quantile(0.5) / BASE.quantile(0.5) - 1) < 0.02
    checks = _checks(_counts(BASE, 50_000), _counts(tail, 20_000))
    assert checks["latency-harm"] == (Verdict.FAIL, "slower_than_0.1s")


def test_a_variance_only_change_fails() -> None:
    wider = Latency(p50_s=0.05, sigma=0.45)
    checks = _checks(_counts(BASE, 50_000), _counts(wider, 20_000))
    assert checks["latency-harm"][0] is Verdict.FAIL


def test_a_median_shift_inside_one_bucket_is_seen_at_the_edge_below_it() -> None:
    # 50 ms -> 60 ms stays inside the (50, 100] ms bucket for most requests; the share slower
    # than 50 ms still rises from 50% to 73%, beyond the 20% relative margin.
    shifted = Latency(p50_s=0.06, sigma=0.3)
    checks = _checks(_counts(BASE, 20_000), _counts(shifted, 5_000))
    assert checks["latency-harm"] == (Verdict.FAIL, "slower_than_0.05s")


def test_the_same_distribution_is_non_inferior_and_not_harm() -> None:
    checks = _checks(_counts(BASE, 50_000), _counts(BASE, 20_000))
    assert checks["latency-harm"][0] is Verdict.INCONCLUSIVE
    assert checks["latency-noninferiority"][0] is Verdict.PASS


def test_a_faster_canary_is_non_inferior() -> None:
    faster = Latency(p50_s=0.04, sigma=0.3)
    checks = _checks(_counts(BASE, 50_000), _counts(faster, 20_000))
    assert checks["latency-noninferiority"][0] is Verdict.PASS


def test_a_wider_harm_margin_lets_a_small_shift_through() -> None:
    loose = AnalysisSettings(
        check_error_rate=False, check_sample_ratio=False, latency_harm=Tolerance(0.05, 1.0)
    )
    shifted = Latency(p50_s=0.06, sigma=0.3)
    result = evaluate(loose, stable=_counts(BASE, 20_000), canary=_counts(shifted, 5_000))
    harm = next(c for c in result.checks if c.name == "latency-harm")
    assert harm.verdict is Verdict.INCONCLUSIVE


def test_histograms_with_different_bounds_are_compared_on_the_shared_edges() -> None:
    stable = RevisionCounts(1000, 0, LatencyHistogram((0.05, 0.1, math.inf), (500, 990, 1000)))
    canary = RevisionCounts(1000, 0, LatencyHistogram((0.05, 0.2, math.inf), (100, 900, 1000)))
    result = evaluate(SETTINGS, stable=stable, canary=canary)
    harm = next(c for c in result.checks if c.name == "latency-harm")
    assert harm.metric == "slower_than_0.05s"
    assert harm.verdict is Verdict.FAIL

"""The error-rate and latency checks compare the revisions within each period of constant
weight: a drift both revisions share over time is no regression, however the canary's share of
traffic grew meanwhile (Simpson's paradox), and a real regression is still caught."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.counts import LatencyHistogram, RevisionCounts
from analysis.evaluate import evaluate
from analysis.margin import PeriodCounts, margin_test
from analysis.settings import AnalysisSettings, Tolerance
from analysis.verdict import Verdict
from bench.simulator import ISTIO_BOUNDS_S, Latency

SETTINGS = AnalysisSettings(check_sample_ratio=False)


def _counts(latency: Latency, requests: int, error_rate: float) -> RevisionCounts:
    """Expected counts of `requests` served with `latency` and `error_rate` (rounded)."""
    probabilities = latency.bucket_probabilities(ISTIO_BOUNDS_S)
    cumulative = np.round(np.cumsum(probabilities) * requests).astype(int)
    cumulative[-1] = requests
    histogram = LatencyHistogram(ISTIO_BOUNDS_S, tuple(int(c) for c in cumulative))
    return RevisionCounts(requests, round(requests * error_rate), histogram)


def _sum(parts: list[RevisionCounts]) -> RevisionCounts:
    histograms = [p.latency for p in parts if p.latency is not None]
    cumulative = tuple(int(sum(c)) for c in zip(*(h.cumulative for h in histograms), strict=True))
    return RevisionCounts(
        sum(p.requests for p in parts),
        sum(p.failures or 0 for p in parts),
        LatencyHistogram(ISTIO_BOUNDS_S, cumulative),
    )


def _drifting_rollout(
    canary_slowdown: float = 1.0, canary_errors: float = 1.0
) -> list[tuple[RevisionCounts, RevisionCounts]]:
    """Three steps (10, 25, 50%) of 4,000 requests each while both revisions get slower and
    fail more, step by step (a daily peak arriving): 40 ms -> 80 ms -> 160 ms, 1% -> 3% -> 9%."""
    periods = []
    for weight, p50_s, error_rate in ((0.10, 0.04, 0.01), (0.25, 0.08, 0.03), (0.50, 0.16, 0.09)):
        canary_n = round(4000 * weight)
        stable = _counts(Latency(p50_s=p50_s, sigma=0.3), 4000 - canary_n, error_rate)
        canary_latency = Latency(p50_s=p50_s * canary_slowdown, sigma=0.3)
        canary = _counts(canary_latency, canary_n, error_rate * canary_errors)
        periods.append((stable, canary))
    return periods


def _verdicts(
    periods: list[tuple[RevisionCounts, RevisionCounts]], *, stratify: bool
) -> dict[str, Verdict]:
    stable = _sum([s for s, _ in periods])
    canary = _sum([c for _, c in periods])
    result = evaluate(SETTINGS, stable=stable, canary=canary, periods=periods if stratify else ())
    return {check.name: check.verdict for check in result.checks}


def test_a_shared_drift_fails_the_pooled_comparison_but_not_the_one_per_period() -> None:
    periods = _drifting_rollout()
    pooled = _verdicts(periods, stratify=False)
    assert pooled["latency-harm"] is Verdict.FAIL  # what cumulative counts alone would do
    assert pooled["error-rate-harm"] is Verdict.FAIL
    per_period = _verdicts(periods, stratify=True)
    assert per_period["latency-harm"] is Verdict.INCONCLUSIVE
    assert per_period["error-rate-harm"] is Verdict.INCONCLUSIVE


@pytest.mark.parametrize(
    ("slowdown", "errors", "failed"),
    [(1.5, 1.0, "latency-harm"), (1.0, 2.5, "error-rate-harm")],
)
def test_a_regression_during_a_drift_is_still_caught(
    slowdown: float, errors: float, failed: str
) -> None:
    verdicts = _verdicts(_drifting_rollout(slowdown, errors), stratify=True)
    assert verdicts[failed] is Verdict.FAIL


def test_one_period_is_exactly_the_pooled_test() -> None:
    counts = PeriodCounts(np.array(30), np.array(1000), np.array(100), np.array(9000))
    tolerance = Tolerance(absolute=0.005, relative=0.2)
    alone = margin_test([counts], harm=tolerance, noninferiority=tolerance, alpha=0.05)
    empty = PeriodCounts(np.array(0), np.array(0), np.array(5), np.array(100))
    with_empty = margin_test([counts, empty], harm=tolerance, noninferiority=tolerance, alpha=0.05)
    for field in ("log_e_harm", "log_e_noninferior", "effect", "lower"):
        assert getattr(alone, field) == pytest.approx(getattr(with_empty, field)), field


def test_no_period_with_both_revisions_is_no_evidence() -> None:
    only_canary = PeriodCounts(np.array(50), np.array(100), np.array(0), np.array(0))
    tolerance = Tolerance(absolute=0.005)
    test = margin_test([only_canary], harm=tolerance, noninferiority=tolerance, alpha=0.05)
    assert float(test.log_e_harm) == 0.0 and float(test.log_e_noninferior) == 0.0


def test_periods_with_inconsistent_counts_are_no_data() -> None:
    good = _counts(Latency(p50_s=0.04), 1000, 0.01)
    broken = RevisionCounts(10, 20, None)  # more failures than requests
    result = evaluate(SETTINGS, stable=good, canary=good, periods=[(good, broken)])
    assert result.verdict is Verdict.NO_DATA
    assert "period 1 canary" in result.message

"""SLO guardrails fail only when the canary's anytime lower bound is above the limit."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from analysis import slo
from analysis.counts import LatencyHistogram, RevisionCounts
from analysis.evaluate import evaluate
from analysis.settings import AnalysisSettings, LatencyLimit, SettingsError, SloLimits
from analysis.verdict import Verdict


def _settings(
    max_error_rate: float | None = None, max_latency_seconds: float | None = None
) -> AnalysisSettings:
    return AnalysisSettings(
        check_error_rate=False,
        check_latency=False,
        check_sample_ratio=False,
        slo=SloLimits(
            max_error_rate=max_error_rate,
            latency=()
            if max_latency_seconds is None
            else (LatencyLimit(0.99, max_latency_seconds),),
        ),
    )


def _guardrail(settings: AnalysisSettings, canary: RevisionCounts, name: str) -> Verdict:
    stable = RevisionCounts(1000, 0, canary.latency)
    result = evaluate(settings, stable=stable, canary=canary)
    return next(c.verdict for c in result.checks if c.name == name)


def test_a_point_estimate_above_the_limit_is_not_enough() -> None:
    # 3 failures in 100 requests: 3% against a 2% limit, but the lower bound is far below.
    assert (
        _guardrail(_settings(max_error_rate=0.02), RevisionCounts(100, 3, None), "error-rate-slo")
        is Verdict.INCONCLUSIVE
    )


def test_a_clear_breach_fails_and_a_clear_margin_passes() -> None:
    settings = _settings(max_error_rate=0.02)
    assert _guardrail(settings, RevisionCounts(10_000, 400, None), "error-rate-slo") is Verdict.FAIL
    assert _guardrail(settings, RevisionCounts(10_000, 50, None), "error-rate-slo") is Verdict.PASS


def test_the_e_value_is_the_beta_mixture_in_closed_form() -> None:
    # x = 0, n = 1, limit 0.25, prior Beta(1, 1) (mean 0.5): e = int_(0.25,1) (1-q) dq / 0.75
    # = (0.75^2 / 2) / 0.75 = 0.375.
    log_e = slo.log_evalue_above(np.array(0.0), np.array(1.0), 0.25)
    assert math.isclose(math.exp(float(log_e)), 0.375, rel_tol=1e-9)


def test_the_confidence_interval_contains_the_estimate_and_narrows_with_data() -> None:
    low_small, high_small = slo.confidence_bounds(np.array(10.0), np.array(1000.0), 0.01, 0.05)
    low_big, high_big = slo.confidence_bounds(np.array(1000.0), np.array(100_000.0), 0.01, 0.05)
    assert float(low_small) < 0.01 < float(high_small)
    assert float(low_small) < float(low_big) < 0.01 < float(high_big) < float(high_small)


def test_a_latency_quantile_limit_is_tested_at_the_next_bucket_edge() -> None:
    bounds = (0.05, 0.1, 0.25, math.inf)
    # 5% of 10,000 requests slower than 250 ms: p99 is above a 200 ms limit, shown at 250 ms.
    slow = RevisionCounts(10_000, 0, LatencyHistogram(bounds, (5000, 9000, 9500, 10_000)))
    fast = RevisionCounts(10_000, 0, LatencyHistogram(bounds, (5000, 9990, 10_000, 10_000)))
    settings = _settings(max_latency_seconds=0.2)
    assert _guardrail(settings, slow, "latency-slo") is Verdict.FAIL
    assert _guardrail(settings, fast, "latency-slo") is Verdict.PASS
    result = evaluate(settings, stable=fast, canary=slow)
    assert next(c.metric for c in result.checks if c.name == "latency-slo") == "slower_than_0.25s"


def _two_limits() -> AnalysisSettings:
    # p50 at most 100 ms and p99 at most 250 ms, each its own guardrail.
    limits = (LatencyLimit(0.5, 0.1), LatencyLimit(0.99, 0.25))
    return replace(_settings(), slo=SloLimits(latency=limits))


def test_each_latency_limit_is_a_guardrail_of_its_own() -> None:
    bounds = (0.05, 0.1, 0.25, math.inf)
    both_fine = RevisionCounts(10_000, 0, LatencyHistogram(bounds, (8000, 9900, 10_000, 10_000)))
    # Median slow (60% above 100 ms), tail fine (none above 250 ms).
    slow_median = RevisionCounts(10_000, 0, LatencyHistogram(bounds, (1000, 4000, 10_000, 10_000)))
    # Median fast, but 5% above 250 ms.
    slow_tail = RevisionCounts(10_000, 0, LatencyHistogram(bounds, (8000, 9000, 9500, 10_000)))
    settings = _two_limits()
    verdicts = {
        name: (
            _guardrail(settings, counts, "latency-slo-p50"),
            _guardrail(settings, counts, "latency-slo-p99"),
        )
        for name, counts in (
            ("both fine", both_fine),
            ("slow median", slow_median),
            ("slow tail", slow_tail),
        )
    }
    assert verdicts == {
        "both fine": (Verdict.PASS, Verdict.PASS),
        "slow median": (Verdict.FAIL, Verdict.PASS),
        "slow tail": (Verdict.PASS, Verdict.FAIL),
    }
    result = evaluate(settings, stable=both_fine, canary=slow_tail)
    assert result.verdict is Verdict.FAIL
    assert result.message.startswith("canary worse than allowed: latency-slo-p99")


def test_several_latency_limits_are_named_by_quantile_and_one_keeps_the_plain_name() -> None:
    one = SloLimits(latency=(LatencyLimit(0.99, 0.5),))
    several = SloLimits(latency=(LatencyLimit(0.99, 0.5), LatencyLimit(0.999, 2.0)))
    assert one.latency_check_names() == ("latency-slo",)
    assert several.latency_check_names() == ("latency-slo-p99", "latency-slo-p99.9")


def test_each_latency_limit_takes_its_share_of_alpha() -> None:
    settings = replace(_two_limits(), check_error_rate=True, check_latency=True)
    # error-rate harm, latency harm, and one guardrail per latency limit.
    assert settings.rollback_checks == 4
    counts = RevisionCounts(1000, 0, LatencyHistogram((0.1, 0.25, math.inf), (600, 1000, 1000)))
    result = evaluate(settings, stable=counts, canary=counts)
    thresholds = {c.name: c.threshold for c in result.checks if c.role.rolls_back}
    assert set(thresholds) == {
        "error-rate-harm",
        "latency-harm",
        "latency-slo-p50",
        "latency-slo-p99",
    }
    assert all(threshold == pytest.approx(4 / 0.05) for threshold in thresholds.values())


def test_a_quantile_given_twice_is_refused() -> None:
    with pytest.raises(SettingsError) as refused:
        SloLimits(latency=(LatencyLimit(0.99, 0.5), LatencyLimit(0.99, 1.0)))
    assert str(refused.value) == (
        "SLO latency quantile p99 is given more than once: give each quantile one limit"
    )


def test_the_untestable_note_names_the_limit_it_is_about() -> None:
    bounds = (0.05, 0.1, math.inf)
    canary = RevisionCounts(100, 0, LatencyHistogram(bounds, (50, 90, 100)))
    settings = replace(
        _settings(), slo=SloLimits(latency=(LatencyLimit(0.5, 0.1), LatencyLimit(0.99, 2.0)))
    )
    result = evaluate(settings, stable=canary, canary=canary)
    assert (
        "latency SLO p99 <= 2s (latency-slo-p99) is above the histogram's last finite bucket "
        "edge; lower the limit or add buckets"
    ) in result.message
    assert "latency-slo-p50)" not in result.message
    assert [c.name for c in result.checks if c.role.rolls_back] == ["latency-slo-p50"]


def test_a_latency_limit_beyond_the_last_bucket_is_reported_as_untestable() -> None:
    bounds = (0.05, 0.1, math.inf)
    canary = RevisionCounts(100, 0, LatencyHistogram(bounds, (50, 90, 100)))
    result = evaluate(_settings(max_latency_seconds=1.0), stable=canary, canary=canary)
    assert "above the histogram's last finite bucket edge" in result.message
    assert not [c for c in result.checks if c.name == "latency-slo"]


def test_a_guardrail_breach_rolls_back() -> None:
    result = evaluate(
        _settings(max_error_rate=0.02),
        stable=RevisionCounts(10_000, 400, None),
        canary=RevisionCounts(10_000, 400, None),
    )
    assert result.verdict is Verdict.FAIL

"""How checks combine into the overall verdict, and what the evidence looks like stored."""

from __future__ import annotations

import json
import math
from collections.abc import Callable

import pytest

from analysis.counts import LatencyHistogram, RevisionCounts
from analysis.evaluate import NoData, SplitPeriod, evaluate, split_periods
from analysis.evidence import EVALUE_CAP, CheckEvidence
from analysis.settings import (
    AnalysisSettings,
    NoDataPolicy,
    NoDataSettings,
    SettingsError,
    SloLimits,
    Tolerance,
)
from analysis.verdict import Role, Verdict

ERRORS_ONLY = AnalysisSettings(check_latency=False, check_sample_ratio=False)


def test_a_harmful_canary_fails_overall() -> None:
    result = evaluate(
        ERRORS_ONLY,
        stable=RevisionCounts(50_000, 500, None),
        canary=RevisionCounts(20_000, 600, None),
    )
    assert result.verdict is Verdict.FAIL
    assert "error-rate-harm" in result.message


def test_a_canary_shown_non_inferior_on_every_check_passes() -> None:
    result = evaluate(
        ERRORS_ONLY,
        stable=RevisionCounts(50_000, 500, None),
        canary=RevisionCounts(20_000, 200, None),
    )
    assert result.verdict is Verdict.PASS


def test_too_little_data_is_inconclusive_and_names_what_is_missing() -> None:
    result = evaluate(
        ERRORS_ONLY, stable=RevisionCounts(90, 1, None), canary=RevisionCounts(10, 0, None)
    )
    assert result.verdict is Verdict.INCONCLUSIVE
    assert "error-rate-noninferiority" in result.message


def test_evidence_is_json_safe_rounded_and_complete() -> None:
    result = evaluate(
        AnalysisSettings(check_latency=False, slo=SloLimits(max_error_rate=0.5)),
        stable=RevisionCounts(50_000, 500, None),
        canary=RevisionCounts(20_000, 3000, None),
        split=[SplitPeriod(30, 50_000, 20_000)],
    )
    stored = result.to_dict()
    text = json.dumps(stored, allow_nan=False)  # raises on inf or NaN
    assert len(text) < 4000
    harm = next(c for c in stored["checks"] if c["name"] == "error-rate-harm")
    assert set(harm) >= {
        "name", "metric", "verdict", "stable", "canary", "effect", "interval", "evalue",
        "threshold", "samples",
    }  # fmt: skip
    assert harm["verdict"] == "Fail"
    assert harm["samples"] == {"stable": 50_000, "canary": 20_000}
    assert harm["stable"] == 0.01 and harm["canary"] == 0.15
    assert harm["threshold"] == 40.0  # alpha 0.05 over two rollback checks (harm, SLO)
    assert harm["evalue"] == EVALUE_CAP  # overwhelming evidence is capped, not inf
    low, high = harm["interval"]
    assert low < 0.14 < high
    slo = next(c for c in stored["checks"] if c["name"] == "error-rate-slo")
    assert slo["stable"] is None  # a guardrail has no stable estimate


def test_rounding_keeps_four_significant_digits() -> None:
    evidence = CheckEvidence(
        name="x", role=Role.HARM, metric="m", verdict=Verdict.PASS, stable=0.0123456789,
        canary=math.nan, effect=math.inf, interval=(1.0, 2.0), evalue=3.0, threshold=40.0,
        stable_requests=1, canary_requests=2, message="",
    )  # fmt: skip
    stored = evidence.to_dict()
    assert stored["stable"] == 0.01235
    assert stored["canary"] is None
    assert stored["effect"] == EVALUE_CAP


def test_no_data_holds_until_the_limit_then_fails() -> None:
    settings = AnalysisSettings()
    down = NoData("prometheus: connection refused")
    counts = RevisionCounts(100, 0, None)
    held = evaluate(settings, stable=counts, canary=down, seconds_without_data=120)
    assert held.verdict is Verdict.NO_DATA
    assert "connection refused" in held.message
    assert all(c.verdict is Verdict.NO_DATA for c in held.checks)
    failed = evaluate(settings, stable=counts, canary=down, seconds_without_data=301)
    assert failed.verdict is Verdict.FAIL
    assert "no-data limit" in failed.message


@pytest.mark.parametrize(
    ("policy", "verdict"), [(NoDataPolicy.FAIL, Verdict.FAIL), (NoDataPolicy.PASS, Verdict.PASS)]
)
def test_no_data_policy_fail_or_pass_applies_at_once(
    policy: NoDataPolicy, verdict: Verdict
) -> None:
    settings = AnalysisSettings(no_data=NoDataSettings(policy=policy))
    result = evaluate(settings, stable=NoData("empty result"), canary=NoData("empty result"))
    assert result.verdict is verdict


def test_a_canary_without_requests_is_no_data_not_a_silent_pass() -> None:
    result = evaluate(
        AnalysisSettings(), stable=RevisionCounts(100, 0, None), canary=RevisionCounts(0, 0, None)
    )
    assert result.verdict is Verdict.NO_DATA
    assert "canary served no requests" in result.message


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda: AnalysisSettings(alpha=0), "alpha"),
        (
            lambda: AnalysisSettings(error_rate=Tolerance(absolute=0, relative=0)),
            "non-inferiority tolerance of zero",
        ),
        (lambda: Tolerance(relative=-0.1), "relative tolerance"),
        (lambda: Tolerance(absolute=1.5), "absolute tolerance"),
        (lambda: SloLimits(max_error_rate=2), "SLO error rate"),
        (lambda: NoDataSettings(limit_seconds=-1), "no-data limit"),
    ],
)
def test_bad_settings_say_what_to_change(make: Callable[[], object], words: str) -> None:
    with pytest.raises(SettingsError, match=words):
        make()


def test_periods_with_decreasing_counts_are_refused_with_a_reason() -> None:
    with pytest.raises(ValueError, match="must not decrease"):
        split_periods([10, 25], [100, 50], [10, 20])


@pytest.mark.parametrize(
    ("canary", "words"),
    [
        (RevisionCounts(10, 12, None), "more failures"),
        (RevisionCounts(-1, 0, None), "negative counts"),
        (RevisionCounts(10, 0, LatencyHistogram((0.1, math.inf), (8, 5))), "not cumulative"),
        (RevisionCounts(10, 0, LatencyHistogram((0.1, 1.0), (8, 10))), "no +Inf bucket"),
    ],
)
def test_inconsistent_counts_are_held_as_no_data_with_the_reason(
    canary: RevisionCounts, words: str
) -> None:
    result = evaluate(AnalysisSettings(), stable=RevisionCounts(100, 1, None), canary=canary)
    assert result.verdict is Verdict.NO_DATA
    assert words in result.message


def test_holding_without_a_limit_says_only_that_it_holds() -> None:
    settings = AnalysisSettings(no_data=NoDataSettings(limit_seconds=math.inf))
    result = evaluate(settings, stable=NoData("empty result"), canary=NoData("empty result"))
    assert result.verdict is Verdict.NO_DATA
    assert result.message == "no data (stable: empty result; canary: empty result); holding"

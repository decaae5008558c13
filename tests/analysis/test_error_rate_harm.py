"""The error-rate harm check rolls back canaries that fail more than the tolerance allows,
including the patterns Kayenta's repeated Mann-Whitney test lets through."""

from __future__ import annotations

from itertools import accumulate

from analysis.counts import RevisionCounts
from analysis.evaluate import evaluate
from analysis.settings import AnalysisSettings, Tolerance
from analysis.verdict import Verdict

SETTINGS = AnalysisSettings(check_latency=False, check_sample_ratio=False)
# A harm margin as wide as the non-inferiority tolerance, to test how the margin is applied.
WIDE_HARM = AnalysisSettings(
    check_latency=False,
    check_sample_ratio=False,
    error_rate_harm=Tolerance(absolute=0.005, relative=0.2),
)


def _check(
    stable: RevisionCounts, canary: RevisionCounts, name: str, settings: AnalysisSettings = SETTINGS
) -> Verdict:
    result = evaluate(settings, stable=stable, canary=canary)
    return next(c.verdict for c in result.checks if c.name == name)


def _looks(
    stable_errors: list[int], canary_errors: list[int], requests_per_interval: int
) -> list[tuple[RevisionCounts, RevisionCounts]]:
    """Per-interval error counts turned into the cumulative counts seen at each look."""
    looks = []
    for i, (s, c) in enumerate(
        zip(accumulate(stable_errors), accumulate(canary_errors), strict=True), start=1
    ):
        n = i * requests_per_interval
        looks.append((RevisionCounts(n, s, None), RevisionCounts(n, c, None)))
    return looks


def test_seven_bursts_of_100_errors_against_a_baseline_of_1_fail() -> None:
    # spinnaker#6278: 7 intervals of 100 errors and 3 of 1 against 1 per interval passed
    # Kayenta. With 10,000 requests per interval and revision the canary fails 0.7% of
    # requests against stable's 0.01%, more than the 0.5 pp tolerance.
    looks = _looks([1] * 10, [100] * 7 + [1] * 3, 10_000)
    verdicts = [evaluate(SETTINGS, stable=s, canary=c).verdict for s, c in looks]
    assert verdicts[-1] is Verdict.FAIL
    assert verdicts[0] is Verdict.FAIL  # 100 vs 1 in the first 10,000 requests is already enough


def test_sparse_errors_above_tolerance_against_zero_never_pass() -> None:
    # kayenta#426: 0,1,2,1,0,0 errors against none passed. With 100 requests per interval the
    # canary fails 4 of 600 (0.67%), above the 0.5 pp tolerance: it must not be shown
    # non-inferior at any look, and the overall verdict must never be Pass.
    looks = _looks([0] * 6, [0, 1, 2, 1, 0, 0], 100)
    for stable, canary in looks:
        result = evaluate(SETTINGS, stable=stable, canary=canary)
        assert result.verdict is not Verdict.PASS
        assert _check(stable, canary, "error-rate-noninferiority") is not Verdict.PASS


def test_sparse_errors_repeated_long_enough_fail() -> None:
    # The same pattern at 50 requests per interval (4 of 300, 1.3%) repeated twenty times:
    # the evidence keeps growing until harm is shown.
    looks = _looks([0] * 120, [0, 1, 2, 1, 0, 0] * 20, 50)
    stable, canary = looks[-1]
    assert _check(stable, canary, "error-rate-harm") is Verdict.FAIL


def test_a_canary_within_the_absolute_floor_is_not_harmful_under_that_margin() -> None:
    # Stable 1%, canary 1.4%: 40% worse relatively but within a 0.5 pp harm margin.
    stable = RevisionCounts(1_000_000, 10_000, None)
    canary = RevisionCounts(1_000_000, 14_000, None)
    assert _check(stable, canary, "error-rate-harm", WIDE_HARM) is Verdict.INCONCLUSIVE
    assert _check(stable, canary, "error-rate-noninferiority") is Verdict.PASS


def test_at_the_default_harm_margin_of_zero_any_shown_increase_is_harm() -> None:
    # The same canary, worse than stable and within the non-inferiority tolerance: with the
    # default harm margin (0) a million requests show it is worse, so it is rolled back.
    stable = RevisionCounts(1_000_000, 10_000, None)
    canary = RevisionCounts(1_000_000, 14_000, None)
    result = evaluate(SETTINGS, stable=stable, canary=canary)
    harm = next(c for c in result.checks if c.name == "error-rate-harm")
    assert harm.verdict is Verdict.FAIL
    assert "by more than 0" in harm.message


def test_above_the_floor_the_relative_margin_decides() -> None:
    # Stable 10%: the margin is 20% of it, 2 pp. 11.5% is within it, 13% is not.
    stable = RevisionCounts(500_000, 50_000, None)
    within = RevisionCounts(500_000, 57_500, None)
    beyond = RevisionCounts(500_000, 65_000, None)
    assert _check(stable, within, "error-rate-harm", WIDE_HARM) is Verdict.INCONCLUSIVE
    assert _check(stable, within, "error-rate-noninferiority") is Verdict.PASS
    assert _check(stable, beyond, "error-rate-harm", WIDE_HARM) is Verdict.FAIL


def test_equal_error_rates_are_not_harm() -> None:
    stable = RevisionCounts(50_000, 500, None)
    canary = RevisionCounts(20_000, 200, None)
    assert _check(stable, canary, "error-rate-harm") is Verdict.INCONCLUSIVE
    assert _check(stable, canary, "error-rate-noninferiority") is Verdict.PASS


def test_a_handful_of_requests_decides_nothing() -> None:
    # 1 failure in the canary's first request: a point estimate of 100%, but no evidence.
    stable = RevisionCounts(9, 0, None)
    canary = RevisionCounts(1, 1, None)
    assert _check(stable, canary, "error-rate-harm") is Verdict.INCONCLUSIVE
    assert _check(stable, canary, "error-rate-noninferiority") is Verdict.INCONCLUSIVE


def test_a_source_without_error_counts_skips_the_error_checks_and_says_so() -> None:
    stable = RevisionCounts(1000, None, None)
    canary = RevisionCounts(1000, None, None)
    result = evaluate(SETTINGS, stable=stable, canary=canary)
    assert not [c for c in result.checks if c.name.startswith("error-rate")]
    assert "no error counts" in result.message

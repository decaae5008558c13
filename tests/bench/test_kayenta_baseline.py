"""The Kayenta baseline classifies per-interval points with Mann-Whitney at 98% and scores the
canary the way NetflixACAJudge does, including its documented failure cases."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import mannwhitneyu

from bench.kayenta import KayentaDecider, canary_score
from bench.mann_whitney import (
    Classification,
    classify_increase,
    shift_interval,
    without_outliers,
)
from tests.bench.ticks import arm, fast, tick_of

NAN = float("nan")


def test_the_shift_estimate_is_the_median_of_pairwise_differences() -> None:
    canary = np.array([[3.0, 5.0, 9.0]])
    baseline = np.array([[1.0, 2.0]])
    estimate, _, _ = shift_interval(canary, baseline)
    # Differences: 2, 1, 4, 3, 8, 7 -> median 3.5.
    assert estimate[0] == pytest.approx(3.5)


def test_the_interval_excludes_zero_exactly_when_the_rank_test_rejects() -> None:
    rng = np.random.default_rng(7)
    for shift in (0.0, 0.5, 1.0, 2.0):
        canary = rng.normal(shift, 1.0, (1, 30))
        baseline = rng.normal(0.0, 1.0, (1, 30))
        _, low, high = shift_interval(canary, baseline, 0.98)
        p = mannwhitneyu(canary[0], baseline[0], alternative="two-sided").pvalue
        if p < 0.015:
            assert low[0] > 0 or high[0] < 0
        if p > 0.025:
            assert low[0] <= 0 <= high[0]


def test_too_few_points_give_an_unbounded_interval_and_a_pass() -> None:
    # With three points each no rank test reaches 98%: Kayenta cannot fail a canary early.
    canary = np.array([[10.0, 11.0, 12.0]])
    baseline = np.array([[1.0, 1.0, 1.0]])
    _, low, _ = shift_interval(canary, baseline)
    assert low[0] == -np.inf
    assert classify_increase(canary, baseline)[0] == Classification.PASS


def test_a_clear_increase_on_enough_points_is_high() -> None:
    canary = np.array([[10.0 + i for i in range(10)]])
    baseline = np.array([[1.0 + 0.1 * i for i in range(10)]])
    assert classify_increase(canary, baseline)[0] == Classification.HIGH


def test_seven_hundreds_and_three_ones_against_ones_pass_as_in_kayenta() -> None:
    # spinnaker#6278: the lower bound of the shift is 0, not above 25% of the estimate.
    canary = np.array([[100.0] * 7 + [1.0] * 3])
    baseline = np.ones((1, 10))
    assert classify_increase(canary, baseline)[0] == Classification.PASS


def test_sparse_error_points_pass_as_in_kayenta() -> None:
    # kayenta#426: a few errors against none are not significant on per-interval points.
    canary = np.array([[0.0, 1.0, 2.0, 1.0, 0.0, 0.0]])
    baseline = np.zeros((1, 6))
    assert classify_increase(canary, baseline)[0] == Classification.PASS


def test_missing_points_are_no_data_and_nan_points_are_dropped() -> None:
    baseline = np.ones((2, 4))
    canary = np.array([[NAN] * 4, [2.0, NAN, 2.0, 2.0]])
    assert classify_increase(canary, baseline).tolist() == [Classification.NO_DATA, 1]


def test_outliers_beyond_three_interquartile_ranges_are_removed() -> None:
    points = np.array([[1.0, 2.0, 3.0, 4.0, 100.0], [0.0, 0.0, 0.0, 0.0, 1.0]])
    cleaned = without_outliers(points)
    assert np.isnan(cleaned[0, 4]) and not np.isnan(cleaned[0, :4]).any()
    assert not np.isnan(cleaned[1]).any()  # no spread: nothing is an outlier


def test_the_score_is_the_share_of_classified_metrics_that_passed() -> None:
    p, h, n = Classification.PASS, Classification.HIGH, Classification.NO_DATA
    scores = canary_score(np.array([[p, p, p], [p, h, p], [p, n, n], [n, n, n], [h, h, p]]))
    assert scores.tolist() == pytest.approx([100.0, 200 / 3, 100.0, 0.0, 100 / 3])


def test_a_score_below_marginal_rolls_back_and_one_below_pass_is_inconclusive() -> None:
    strict = KayentaDecider(marginal=75.0, passing=95.0)
    lenient = KayentaDecider(marginal=50.0, passing=95.0)
    for decider in (strict, lenient):
        decider.reset(1)
    # Ten looks where only the canary's error ratio is clearly higher: one metric High of three.
    for i in range(10):
        stable = fast(1, 1000, failures=10 + i % 3)
        canary = fast(1, 1000, failures=100 + i % 3)
        fired_strict = strict.look(tick_of(i, stable, canary))[0]
        fired_lenient = lenient.look(tick_of(i, stable, canary))[0]
    assert strict.last_score[0] == pytest.approx(200 / 3)
    assert fired_strict and not fired_lenient
    assert lenient.inconclusive()[0]


def test_kayenta_fails_a_canary_without_data_at_all() -> None:
    # A group with only NoData scores 0, below any marginal threshold.
    decider = KayentaDecider()
    decider.reset(1)
    assert decider.look(tick_of(0, fast(1, 100), arm([0], [0], [[0, 0, 0, 0]])))[0]


def test_bad_thresholds_are_refused() -> None:
    with pytest.raises(ValueError, match="marginal"):
        KayentaDecider(marginal=96.0, passing=95.0)

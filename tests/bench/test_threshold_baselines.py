"""Flagger and Argo Rollouts baselines count failed checks the way the tools do, and read the
p99 the way Prometheus' histogram_quantile does."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bench.histogram_quantile import histogram_quantile
from bench.simulator import Behaviour
from bench.threshold_deciders import ArgoDecider, FlaggerDecider, Limits
from tests.bench.ticks import BOUNDS, arm, fast, tick_of

LIMITS = Limits(max_error_rate=0.02, max_p99_seconds=0.4)


def test_histogram_quantile_interpolates_inside_the_bucket_like_prometheus() -> None:
    cumulative = np.array([[0, 10, 20, 20], [5, 5, 5, 10], [0, 0, 0, 0], [0, 0, 0, 4]])
    values = histogram_quantile(0.5, BOUNDS, cumulative)
    assert values[0] == pytest.approx(0.2)  # rank 10 at the top of (0.1, 0.2]
    assert values[1] == pytest.approx(0.1)  # rank 5 at the top of (0, 0.1]
    assert math.isnan(values[2])  # no observations
    assert values[3] == pytest.approx(0.5)  # in the +Inf bucket: the highest finite bound
    quarter = histogram_quantile(0.25, BOUNDS, np.array([[0, 8, 8, 8]]))
    assert quarter[0] == pytest.approx(0.1 + 0.1 * 2 / 8)


def test_flagger_rolls_back_at_the_threshold_th_failed_check_not_before() -> None:
    flagger = FlaggerDecider(LIMITS, threshold=3, window_intervals=1)
    flagger.reset(2)
    bad_and_good = arm([100, 100], [5, 1], [[100, 0, 0, 0]] * 2)  # 95% and 99% success
    fired = [flagger.look(tick_of(i, fast(2, 100), bad_and_good)).tolist() for i in range(4)]
    assert fired == [[False, False], [False, False], [True, False], [True, False]]


def test_flagger_failed_checks_accumulate_across_good_intervals() -> None:
    flagger = FlaggerDecider(LIMITS, threshold=2, window_intervals=1)
    flagger.reset(1)
    bad, good = fast(1, 100, failures=10), fast(1, 100)
    looks = [bad, good, good, bad]
    fired = [bool(flagger.look(tick_of(i, fast(1, 100), c))[0]) for i, c in enumerate(looks)]
    assert fired == [False, False, False, True]  # failedChecks are never reset by a success


def test_flagger_counts_a_window_without_canary_requests_as_a_failed_check() -> None:
    flagger = FlaggerDecider(LIMITS, threshold=1, window_intervals=1)
    flagger.reset(1)
    assert flagger.look(tick_of(0, fast(1, 100), fast(1, 0)))[0]


def test_flagger_fails_a_check_on_a_slow_p99_alone() -> None:
    flagger = FlaggerDecider(LIMITS, threshold=1, window_intervals=1)
    flagger.reset(1)
    slow = arm([100], [0], [[90, 5, 0, 5]])  # p99 in the +Inf bucket: 0.5 s > 0.4 s
    assert flagger.look(tick_of(0, fast(1, 100), slow))[0]


def test_flagger_window_spans_the_last_intervals() -> None:
    # A bad interval (10% errors) followed by good ones: over a two-interval window the second
    # look still sees 5% errors, over a one-interval window it sees none.
    looks = [fast(1, 100, failures=10), fast(1, 100), fast(1, 100)]
    for window, expected in ((2, [False, True, True]), (1, [False, False, False])):
        flagger = FlaggerDecider(Limits(0.04, 1.0), threshold=2, window_intervals=window)
        flagger.reset(1)
        fired = [bool(flagger.look(tick_of(i, fast(1, 100), c))[0]) for i, c in enumerate(looks)]
        assert fired == expected


def test_argo_aborts_when_failed_measurements_exceed_the_failure_limit() -> None:
    argo = ArgoDecider(LIMITS, failure_limit=2)
    argo.reset(1)
    bad = fast(1, 100, failures=5)
    fired = [bool(argo.look(tick_of(i, fast(1, 100), bad))[0]) for i in range(4)]
    assert fired == [False, False, True, True]  # the third Failed measurement exceeds 2


def test_argo_counts_failures_per_metric() -> None:
    argo = ArgoDecider(LIMITS, failure_limit=1)
    argo.reset(1)
    errors = fast(1, 100, failures=5)
    slow = arm([100], [0], [[90, 5, 0, 5]])
    # Alternating: each metric has failed once after two looks, twice after four.
    fired = [bool(argo.look(tick_of(i, fast(1, 100), c))[0]) for i, c in enumerate([errors, slow])]
    assert fired == [False, False]
    assert argo.look(tick_of(2, fast(1, 100), errors))[0]


def test_argo_with_the_default_failure_limit_aborts_on_the_first_failure() -> None:
    argo = ArgoDecider(LIMITS, failure_limit=0)
    argo.reset(1)
    assert argo.look(tick_of(0, fast(1, 100), fast(1, 0)))[0]  # NaN: Failed


def test_limits_with_headroom_scale_the_stable_revision() -> None:
    limits = Limits.with_headroom(Behaviour(error_rate=0.005), 2.0)
    assert limits.max_error_rate == pytest.approx(0.01)
    assert limits.max_p99_seconds == pytest.approx(2 * Behaviour().latency.quantile(0.99))


def test_bad_settings_are_refused_with_what_to_change() -> None:
    with pytest.raises(ValueError, match="threshold"):
        FlaggerDecider(LIMITS, threshold=0)
    with pytest.raises(ValueError, match="failureLimit"):
        ArgoDecider(LIMITS, failure_limit=-1)

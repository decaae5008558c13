"""The virtual-time simulator produces consistent Prometheus-like counts, and kcanary judged
on it keeps false rollbacks within alpha while catching real regressions."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.typing import NDArray

from analysis.settings import AnalysisSettings, Tolerance
from bench.deciders import KcanaryDecider, OracleSprt
from bench.monte_carlo import monte_carlo_se, wilson_interval
from bench.simulator import (
    ISTIO_BOUNDS_S,
    Behaviour,
    Effect,
    Latency,
    Plan,
    Scenario,
    Tick,
    simulate,
)

BASELINE = Behaviour()


class Recorder:
    name = "recorder"

    def __init__(self) -> None:
        self.ticks: list[Tick] = []

    def reset(self, runs: int) -> None:
        self.ticks = []

    def look(self, tick: Tick) -> NDArray[np.bool_]:
        self.ticks.append(tick)
        return np.zeros(tick.stable.requests.shape, dtype=bool)


def test_counts_are_cumulative_consistent_and_follow_the_weights() -> None:
    recorder = Recorder()
    scenario = Scenario("A/A", 200.0, plan=Plan(steps=(10, 50), step_seconds=60))
    simulate(scenario, [recorder], 500, np.random.default_rng(1))
    assert [t.seconds for t in recorder.ticks] == [30, 60, 90, 120]
    last = recorder.ticks[-1]
    for arm in (last.stable, last.canary):
        assert np.all(arm.cumulative[:, -1] == arm.requests)
        assert np.all(np.diff(arm.cumulative, axis=1) >= 0)
        assert np.all(arm.failures <= arm.requests)
    first = recorder.ticks[0]
    share = first.canary.requests.sum() / (first.canary.requests + first.stable.requests).sum()
    assert abs(share - 0.10) < 0.005
    assert abs(last.stable.failures.sum() / last.stable.requests.sum() - 0.01) < 0.001
    assert np.all(
        np.diff(np.stack([t.canary.requests for t in recorder.ticks]), axis=0) >= 0
    )  # counters never go down
    assert last.canary_per_interval.sum(axis=1).tolist() == last.canary.requests.tolist()


def test_latency_model_has_the_stated_quantiles_and_bucket_probabilities() -> None:
    assert math.isclose(Latency().quantile(0.5), 0.05, rel_tol=1e-6)
    assert math.isclose(Latency().quantile(0.99), 0.05 * math.exp(0.3 * 2.3263), rel_tol=1e-3)
    probabilities = Latency().bucket_probabilities(ISTIO_BOUNDS_S)
    assert math.isclose(probabilities.sum(), 1.0) and np.all(probabilities >= 0)
    tail = Effect(tail_fraction=0.02, tail_factor=3).applied_to(BASELINE).latency
    assert 0.14 < tail.quantile(0.99) < 0.16  # p99 +50%
    assert abs(tail.quantile(0.5) - 0.05) < 0.001  # median unchanged


def test_effects_change_only_what_they_name() -> None:
    canary = Effect(error_ratio=2.0).applied_to(BASELINE)
    assert canary.error_rate == 0.02 and canary.latency == BASELINE.latency


def _false_rollback_rate(rps: float, alpha: float, runs: int, seed: int) -> float:
    scenario = Scenario("A/A", rps)
    outcome = simulate(
        scenario, [KcanaryDecider(AnalysisSettings(alpha=alpha))], runs, np.random.default_rng(seed)
    )
    return float(outcome["kcanary"].rolled_back.mean())


@pytest.mark.parametrize("rps", [1.0, 200.0])
def test_aa_false_rollback_rate_stays_within_alpha(rps: float) -> None:
    runs, alpha = 400, 0.05
    rate = _false_rollback_rate(rps, alpha, runs, seed=int(rps))
    assert rate <= alpha + 3 * monte_carlo_se(alpha, runs)


@pytest.mark.parametrize(
    ("harm", "canary_rate"),
    [(Tolerance(0.005, 0.2), 0.015), (Tolerance(0.0, 0.0), 0.01)],
    ids=["margin-0.5pp", "margin-0"],
)
def test_a_canary_exactly_at_the_harm_margin_is_rarely_rolled_back(
    harm: Tolerance, canary_rate: float
) -> None:
    # A canary on the edge of the harm null: the hardest place for validity.
    settings = AnalysisSettings(check_latency=False, check_sample_ratio=False, error_rate_harm=harm)
    scenario = Scenario("boundary", 200.0, canary=Behaviour(error_rate=canary_rate))
    runs = 400
    outcome = simulate(scenario, [KcanaryDecider(settings)], runs, np.random.default_rng(5))
    alpha = settings.rollback_alpha
    assert outcome["kcanary"].rolled_back.mean() <= alpha + 3 * monte_carlo_se(alpha, runs)


@pytest.mark.parametrize(
    "effect",
    [Effect(error_ratio=2.0), Effect(tail_fraction=0.02, tail_factor=3.0)],
    ids=["error-rate-x2", "p99-only"],
)
def test_a_regression_at_200_rps_is_rolled_back_before_the_last_step_ends(effect: Effect) -> None:
    scenario = Scenario("bad", 200.0, canary=effect.applied_to(BASELINE))
    outcome = simulate(
        scenario, [KcanaryDecider(AnalysisSettings())], 200, np.random.default_rng(9)
    )
    assert outcome["kcanary"].rolled_back.mean() >= 0.8


def test_the_oracle_sprt_detects_no_later_than_kcanary() -> None:
    canary = Effect(error_ratio=5.0).applied_to(BASELINE)
    oracle = OracleSprt(0.015, 0.05, 0.025)
    scenario = Scenario("x5", 200.0, canary=canary)
    outcomes = simulate(
        scenario, [KcanaryDecider(AnalysisSettings()), oracle], 200, np.random.default_rng(3)
    )
    ours, theirs = outcomes["kcanary"], outcomes["oracle-sprt"]
    assert theirs.rolled_back.all() and ours.rolled_back.all()
    assert np.median(theirs.canary_requests) <= np.median(ours.canary_requests)


def test_a_canary_that_never_gets_traffic_fails_after_the_no_data_limit() -> None:
    scenario = Scenario("no traffic", 200.0, canary_share_factor=0.0)
    outcome = simulate(scenario, [KcanaryDecider(AnalysisSettings())], 50, np.random.default_rng(2))
    result = outcome["kcanary"]
    assert result.rolled_back.all()
    assert np.all(result.seconds == 330)  # first look past 300 s without data


def test_wilson_interval_brackets_the_rate() -> None:
    low, high = wilson_interval(5, 100)
    assert low < 0.05 < high
    assert wilson_interval(0, 100)[0] == 0.0

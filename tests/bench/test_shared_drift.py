"""A drift both revisions share (load rising while the weights step up) is not a canary
regression: kcanary, comparing within periods of constant weight, does not roll back, where
the pooled comparison does."""

from __future__ import annotations

import numpy as np

from analysis.settings import AnalysisSettings
from bench.aa import rising_load
from bench.deciders import KcanaryDecider
from bench.simulator import Scenario, simulate

# Error rates and latencies of both revisions scale with the load: 0.56x to 1.94x over the rollout.
STRONG_DRIFT = Scenario("A/A, shared drift", 200.0, load=rising_load, stress=1.0)


def test_a_shared_drift_rolls_back_pooled_but_not_per_period() -> None:
    ours = KcanaryDecider(AnalysisSettings())
    pooled = KcanaryDecider(AnalysisSettings(), per_period=False)
    outcomes = simulate(STRONG_DRIFT, [ours, pooled], 100, np.random.default_rng(17))
    assert not outcomes["kcanary"].rolled_back.any()
    assert outcomes["kcanary-pooled"].rolled_back.sum() >= 50


def test_reset_starts_the_periods_afresh() -> None:
    reused = KcanaryDecider(AnalysisSettings())
    simulate(STRONG_DRIFT, [reused], 50, np.random.default_rng(3))
    simulate(STRONG_DRIFT, [reused], 50, np.random.default_rng(4))
    fresh = KcanaryDecider(AnalysisSettings())
    simulate(STRONG_DRIFT, [fresh], 50, np.random.default_rng(4))
    # Periods left over from the first batch would change when the analysis first passes.
    assert np.array_equal(reused.first_pass_tick, fresh.first_pass_tick)
    assert np.array_equal(reused.last_overall, fresh.last_overall)

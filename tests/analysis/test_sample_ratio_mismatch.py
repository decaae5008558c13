"""The sample-ratio check holds when the realised split does not match the weights."""

from __future__ import annotations

import numpy as np

from analysis import sample_ratio
from analysis.counts import RevisionCounts
from analysis.evaluate import SplitPeriod, evaluate, split_periods
from analysis.settings import AnalysisSettings
from analysis.verdict import Verdict

SETTINGS = AnalysisSettings(check_latency=False)


def _srm(periods: list[SplitPeriod]) -> Verdict:
    stable = sum(p.stable_requests for p in periods)
    canary = sum(p.canary_requests for p in periods)
    result = evaluate(
        SETTINGS,
        stable=RevisionCounts(stable, 0, None),
        canary=RevisionCounts(canary, 0, None),
        split=periods,
    )
    return next(c.verdict for c in result.checks if c.name == "sample-ratio")


def test_a_split_that_follows_changing_weights_passes() -> None:
    periods = [
        SplitPeriod(10, 9000, 1000),
        SplitPeriod(25, 7500, 2500),
        SplitPeriod(50, 5000, 5000),
    ]
    assert _srm(periods) is Verdict.PASS


def test_a_skewed_split_fails_and_holds_the_rollout() -> None:
    periods = [SplitPeriod(50, 6000, 4000)]  # 40% served against a weight of 50%
    assert _srm(periods) is Verdict.FAIL
    result = evaluate(
        SETTINGS,
        stable=RevisionCounts(6000, 0, None),
        canary=RevisionCounts(4000, 0, None),
        split=periods,
    )
    assert result.verdict is Verdict.INCONCLUSIVE
    assert "sample-ratio mismatch" in result.message


def test_the_cumulative_share_alone_would_hide_a_mismatch_that_periods_show() -> None:
    # Overall 1,750 of 10,000 (17.5%) matches the average weight of both periods, but each
    # period is off by 7.5 points in opposite directions.
    periods = [SplitPeriod(10, 3250, 1750), SplitPeriod(25, 5000, 0)]
    assert _srm(periods) is Verdict.FAIL


def test_canary_requests_while_its_weight_is_zero_are_a_certain_mismatch() -> None:
    log_e = sample_ratio.log_evalue(np.array([0.0]), np.array([100]), np.array([1]))
    assert float(log_e) > 100


def test_the_log_e_value_is_the_grid_mixture_of_binomial_likelihood_ratios() -> None:
    # One period, weight 0.5, 60 of 100 to the canary: average over the grid of the ratio of
    # (rho^60 (1-rho)^40) at rho = sigmoid(phi) to the same at the nearest tolerated shift
    # sigmoid(+-0.05). With one period the common-shift and per-period mixtures coincide.
    shift = sample_ratio.TOLERATED_SHIFT
    beyond = [0.01, 0.03, 0.1, 0.3, 1.0, 2.0]
    phis = [-(shift + b) for b in beyond] + [shift + b for b in beyond]

    def likelihood(phi: float) -> float:
        rho = 1 / (1 + np.exp(-phi))
        return float(rho**60 * (1 - rho) ** 40)

    ratios = [likelihood(phi) / likelihood(float(np.sign(phi)) * shift) for phi in phis]
    expected = np.log(np.mean(ratios))
    log_e = sample_ratio.log_evalue(np.array([0.5]), np.array([40]), np.array([60]))
    assert np.isclose(float(log_e), expected, rtol=1e-10)


def test_a_share_within_the_tolerated_shift_never_fails() -> None:
    # 10.3% against a weight of 10% with a million requests: inside the tolerated band.
    assert _srm([SplitPeriod(10, 897_000, 103_000)]) is Verdict.PASS


def test_periods_come_from_cumulative_counts_at_step_boundaries() -> None:
    periods = split_periods([10, 25], [900, 1650], [100, 350])
    assert periods == (SplitPeriod(10, 900, 100), SplitPeriod(25, 750, 250))

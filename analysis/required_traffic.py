"""How much traffic a rollout plan needs to catch a given error-rate regression, in closed form.

The question the controller asks when a rollout starts (and warns about with a `LowTraffic`
Event): at this request rate, would the analysis roll back a canary that fails `ratio` times as
often as stable before the plan ends, with 90% probability? Simulating thousands of rollouts
answers it exactly (`kcanary sensitivity`), but the controller must answer in microseconds and
the same way every time, so this module answers it from expected counts instead:

- the plan's periods of constant weight, each lasting its step duration rounded up to the next
  look (a step ends at the first look after its duration), give each revision's expected
  requests and failures per period at `rps` requests per second;
- the estimate of the contrast `p_c - k p_s` that the harm test weighs (periods combined with
  the test's own Cochran-Mantel-Haenszel weights) is roughly normal around the true one; at its
  10% quantile (1.2816 standard errors lower) the canary's failures are shifted down by that
  much in every period;
- the controller's own harm test (`analysis.margin.margin_test`, with the real settings and the
  rollback share of alpha) judges those shifted counts at the final look: if it rolls back
  there, it rolls back in at least 90% of such rollouts.

It looks only at the final look, so it slightly underrates what earlier looks add; the standard
error is taken with the harm margin's relative slope (`1 + relative`) whether or not it binds,
so it errs towards warning. `kcanary sensitivity` measures the same plan by simulation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from analysis.check import decided
from analysis.margin import PeriodCounts, margin_test
from analysis.settings import AnalysisSettings

CATCH_PROBABILITY = 0.9
Z_CATCH = 1.2815515655446004
"""The standard normal's 90% quantile: the estimate is at least this many standard errors below
its mean in only 10% of rollouts."""

LOWEST_RPS = 1e-3
HIGHEST_RPS = 1e7
"""The range searched: beyond it a rate is not a meaningful answer."""


@dataclass(frozen=True)
class PlanShape:
    """The parts of a rollout plan that decide how many requests each revision serves."""

    weights: tuple[float, ...]
    """Canary weights in percent, one per step."""
    step_seconds: float
    interval_seconds: float
    extension_seconds: float = 0.0
    """How long an undecided last step may be extended (`extendInconclusive`): a regression
    not caught yet is undecided, so the plan lasts this much longer at the last weight for it."""

    def __post_init__(self) -> None:
        if not self.weights or not all(0 < w < 100 for w in self.weights):
            raise ValueError("give at least one canary weight strictly between 0 and 100")
        if self.step_seconds <= 0 or self.interval_seconds <= 0:
            raise ValueError("the step duration and the interval must be longer than 0s")
        if self.extension_seconds < 0:
            raise ValueError("the extension must not be negative")

    @property
    def period_seconds(self) -> float:
        """How long each weight lasts: the step duration, rounded up to the next look."""
        looks = max(1, math.ceil(self.step_seconds / self.interval_seconds - 1e-9))
        return looks * self.interval_seconds


def _expected_periods(plan: PlanShape, rps: float) -> list[tuple[float, float]]:
    """Per period: (canary requests, stable requests) expected at `rps`."""
    seconds = [plan.period_seconds] * len(plan.weights)
    seconds[-1] += plan.extension_seconds
    return [
        (rps * length * w / 100.0, rps * length * (1 - w / 100.0))
        for w, length in zip(plan.weights, seconds, strict=True)
    ]


def _standard_error(
    periods: Sequence[tuple[float, float]], stable_rate: float, canary_rate: float, slope: float
) -> float:
    """The sampling standard error of the combined estimate of `p_c - slope * p_s`."""
    sizes = [nc * ns / (nc + ns) for nc, ns in periods]
    total = sum(sizes)
    variance = sum(
        (size / total) ** 2
        * (
            canary_rate * (1 - canary_rate) / nc
            + slope * slope * stable_rate * (1 - stable_rate) / ns
        )
        for size, (nc, ns) in zip(sizes, periods, strict=True)
    )
    return math.sqrt(variance)


def caught_at_final_look(
    plan: PlanShape,
    settings: AnalysisSettings,
    *,
    rps: float,
    stable_error_rate: float,
    ratio: float = 2.0,
) -> bool:
    """Whether a canary failing `ratio` times as often as stable is rolled back by the end of
    the plan in at least 90% of rollouts at `rps` (see the module docstring)."""
    canary_rate = min(stable_error_rate * ratio, 1.0)
    periods = _expected_periods(plan, rps)
    slope = 1.0 + settings.error_rate_harm.relative
    shift = Z_CATCH * _standard_error(periods, stable_error_rate, canary_rate, slope)
    shifted_rate = max(canary_rate - shift, 0.0)
    counts = [
        PeriodCounts(
            canary_bad=np.asarray(nc * shifted_rate),
            canary_n=np.asarray(nc),
            stable_bad=np.asarray(ns * stable_error_rate),
            stable_n=np.asarray(ns),
        )
        for nc, ns in periods
    ]
    test = margin_test(
        counts,
        harm=settings.error_rate_harm,
        noninferiority=settings.error_rate,
        alpha=settings.rollback_alpha,
    )
    return bool(decided(test.log_e_harm, settings.rollback_alpha))


def required_rps(
    plan: PlanShape,
    settings: AnalysisSettings,
    *,
    stable_error_rate: float,
    ratio: float = 2.0,
) -> float | None:
    """The least request rate at which `caught_at_final_look` holds (to 1%), or None when even
    `HIGHEST_RPS` is not enough (a regression within the tolerance is never rolled back)."""
    if not 0.0 < stable_error_rate < 1.0:
        raise ValueError(f"stable error rate {stable_error_rate} must be in (0, 1)")

    def caught(rps: float) -> bool:
        return caught_at_final_look(
            plan, settings, rps=rps, stable_error_rate=stable_error_rate, ratio=ratio
        )

    if not caught(HIGHEST_RPS):
        return None
    if caught(LOWEST_RPS):
        return LOWEST_RPS
    low, high = LOWEST_RPS, HIGHEST_RPS
    while high / low > 1.01:
        middle = math.sqrt(low * high)
        if caught(middle):
            high = middle
        else:
            low = middle
    return high

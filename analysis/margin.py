"""Is the canary's rate of bad events worse than stable's by more than a tolerance?

Bad events are failed requests for the error rate, and requests slower than a bucket edge for
latency. Both questions of DESIGN.md section 3 are tested on the same contrast, with the
tolerance `max(absolute, relative * p_stable)`:

- harm, null `p_c <= p_s + max(a, r p_s)`: that null is the union of `p_c - p_s - a <= 0` and
  `p_c - (1 + r) p_s <= 0`, so harm needs both to be rejected (an intersection-union test): its
  e-value is the smaller of the two, each at the full level.
- non-inferiority, null `p_c >= p_s + max(a, r p_s)`: the intersection of the two reversed
  nulls, so rejecting either one is enough; the e-values are averaged (an average of e-values is
  an e-value).

Each half is a linear contrast `d = p_c - k p_s - a` with `k = 1` or `1 + r`, tested with the
normal-mixture e-value of `analysis.normal_mixture` (its docstring gives the sources and why
changing canary weights do not break it). Variances use each arm's rate smoothed by half a
pseudo-event (`(x + 0.5) / (n + 1)`), so an arm with no bad events yet still has a variance and
a handful of requests cannot produce a large e-value. The Gaussian approximation is the
weak point at very low counts; `bench aa` measures the false rollback rate down to 1 rps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from analysis import normal_mixture
from analysis.settings import Tolerance

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class MarginTest:
    """Rates, effect and log e-values, each an array over whatever the inputs broadcast to."""

    stable_rate: FloatArray
    canary_rate: FloatArray
    effect: FloatArray  # canary rate minus stable rate
    lower: FloatArray  # anytime confidence interval of the effect
    upper: FloatArray
    log_e_harm: FloatArray
    log_e_noninferior: FloatArray


def mixture_scales(tolerance: Tolerance) -> tuple[float, ...]:
    """The half-normal scales averaged over: from the tolerance up to 16 times it."""
    base = max(tolerance.absolute, 0.001)
    return (base, 4.0 * base, 16.0 * base)


def _smoothed_variance(bad: FloatArray, n: FloatArray) -> FloatArray:
    p = (bad + 0.5) / (n + 1.0)
    return np.asarray(p * (1.0 - p) / (n + 1.0), dtype=np.float64)


@dataclass(frozen=True)
class PeriodCounts:
    """Bad events and trials of both revisions in one period of constant canary weight."""

    canary_bad: NDArray[np.int64] | FloatArray
    canary_n: NDArray[np.int64] | FloatArray
    stable_bad: NDArray[np.int64] | FloatArray
    stable_n: NDArray[np.int64] | FloatArray


@dataclass(frozen=True)
class _Stratified:
    """Both revisions' rates and their variances, combined over the periods."""

    canary_rate: FloatArray
    stable_rate: FloatArray
    canary_variance: FloatArray
    stable_variance: FloatArray
    no_data: NDArray[np.bool_]


def _stratified(periods: Sequence[PeriodCounts]) -> _Stratified:
    """Rates as a weighted average of each period's, so that a drift shared by both revisions
    cannot look like a difference between them.

    The canary's share of traffic grows step by step: pooled over the rollout, its requests
    lean on the later periods and stable's on the earlier ones, so latency or errors that
    rise for both over time (a daily peak, a busy node) would show as a canary regression
    (Simpson's paradox). Comparing within each period removes that; the periods are weighted
    by their effective size `n_c n_s / (n_c + n_s)` (Cochran-Mantel-Haenszel weights, the most
    precise combination when the effect is the same in every period), so a single period is
    exactly the pooled test. A period where one revision served nothing weighs nothing.
    """
    rates_c, rates_s, vars_c, vars_s, sizes = [], [], [], [], []
    for period in periods:
        xc = np.asarray(period.canary_bad, dtype=np.float64)
        nc = np.asarray(period.canary_n, dtype=np.float64)
        xs = np.asarray(period.stable_bad, dtype=np.float64)
        ns = np.asarray(period.stable_n, dtype=np.float64)
        both = (nc > 0) & (ns > 0)
        sizes.append(np.where(both, nc * ns / np.maximum(nc + ns, 1.0), 0.0))
        rates_c.append(xc / np.maximum(nc, 1.0))
        rates_s.append(xs / np.maximum(ns, 1.0))
        vars_c.append(_smoothed_variance(xc, nc))
        vars_s.append(_smoothed_variance(xs, ns))
    size = np.stack(np.broadcast_arrays(*sizes))
    total = np.sum(size, axis=0)
    weight = size / np.maximum(total, 1e-300)

    def combine(values: list[FloatArray], power: int) -> FloatArray:
        stacked = np.stack(np.broadcast_arrays(*values))
        return np.asarray(np.sum(weight**power * stacked, axis=0), dtype=np.float64)

    no_data = np.asarray(total <= 0)
    # Without data the e-values are set to 1 afterwards; a variance keeps the arithmetic finite.
    placeholder = 0.25
    return _Stratified(
        canary_rate=combine(rates_c, 1),
        stable_rate=combine(rates_s, 1),
        canary_variance=np.where(no_data, placeholder, combine(vars_c, 2)),
        stable_variance=np.where(no_data, placeholder, combine(vars_s, 2)),
        no_data=no_data,
    )


def margin_test(
    periods: Sequence[PeriodCounts], *, tolerance: Tolerance, alpha: float
) -> MarginTest:
    """Test both questions on the counts of each period of constant weight (one period: the
    cumulative counts); `alpha` only sizes the reported interval, whose lower end clears the
    absolute tolerance exactly when harm's absolute half does."""
    if not periods:
        raise ValueError("margin_test needs the counts of at least one period")
    combined = _stratified(periods)
    pc, ps = combined.canary_rate, combined.stable_rate
    vc, vs = combined.canary_variance, combined.stable_variance
    taus = mixture_scales(tolerance)
    no_data = combined.no_data

    # Each half of the tolerance is a contrast d = p_c - slope * p_s - offset; both questions
    # of both halves go through one vectorised call (harm on d, non-inferiority on -d).
    halves = []
    if tolerance.absolute > 0:
        halves.append((1.0, tolerance.absolute))
    if tolerance.relative > 0:
        halves.append((1.0 + tolerance.relative, 0.0))
    d = np.stack([pc - slope * ps - offset for slope, offset in halves])
    v = np.stack([vc + slope * slope * vs for slope, _ in halves])
    logs = normal_mixture.log_evalue_greater(np.stack([d, -d]), np.stack([v, v]), taus)
    log_harm = np.min(logs[0], axis=0)
    log_ni = np.logaddexp.reduce(logs[1], axis=0) - np.log(len(halves))
    zero = np.zeros_like(log_harm)
    effect = pc - ps
    # One-sided bounds at `alpha` each, from the same mixture as the checks (see evalue_radius).
    half_width = normal_mixture.evalue_radius(vc + vs, taus, alpha)
    return MarginTest(
        stable_rate=ps,
        canary_rate=pc,
        effect=effect,
        lower=effect - half_width,
        upper=effect + half_width,
        log_e_harm=np.where(no_data, zero, log_harm),
        log_e_noninferior=np.where(no_data, zero, log_ni),
    )

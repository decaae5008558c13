"""Is the canary's rate of bad events worse than stable's by more than a margin?

Bad events are failed requests for the error rate, and requests slower than a bucket edge for
latency. DESIGN.md section 3's two questions are tested on the same data with two margins, each
of the form `m(p_s) = max(absolute, relative * p_s)` (`settings.Tolerance`):

- harm, null `p_c <= p_s + m_h(p_s)` with the harm margin `m_h` (zero by default: any evidence
  that the canary is worse). The contrast is `d = p_c - p_s - m_h(p_s)` with the estimates
  plugged in: `m_h` is convex, so by Jensen's inequality the plug-in contrast has a mean of at
  most `p_c - p_s - m_h(p_s)`, which the null makes `<= 0`, in every period whichever half of
  the `max` binds there. So one contrast covers the whole null, period by period, and the
  periods can be combined (testing the two halves separately and taking the smaller e-value
  after combining the periods, as an intersection-union test would, is invalid when stable's
  rate crosses the point where the halves meet between periods).
- non-inferiority, null `p_c >= p_s + m_n(p_s)` with the tolerance `m_n`: the intersection of
  `p_c - p_s - a >= 0` and `p_c - (1 + r) p_s >= 0`, each of which holds in every period under
  the null, so rejecting either is enough; their e-values are averaged (an average of e-values
  is an e-value).

Each contrast is tested with the normal-mixture e-value of `analysis.normal_mixture` (its
docstring gives the sources and why changing canary weights do not break it). Variances use
each arm's rate smoothed by half a pseudo-event (`(x + 0.5) / (n + 1)`), so an arm with no bad
events yet still has a variance; and the canary's variance is floored at its value on the
null's boundary, `p0 (1 - p0) / (n + 1)` with `p0 = p_s + m(p_s)`. Without the floor, a small
canary sample whose requests are all bad (all slower than an edge) has a near-zero estimated
variance, and the e-value exceeds any likelihood ratio the data could support: `bench aa` and
the Ville-inequality test in tests/analysis measured 2.5% false rollbacks against a 1.25%
budget with a 1% canary step before the floor. The Gaussian approximation is the weak point at
very low counts; the same test checks it down to 10 canary requests.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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


HARM_SCALES = (1.0, 4.0, 16.0)
"""Harm's mixture covers regressions from the tolerance's absolute part (0.5 pp) to 16 times
it: a doubled 1% error rate (1 pp) and latency shifts that move a quarter of the requests
across an edge alike."""
NONINFERIORITY_SCALES = (0.5, 1.0, 2.0)
"""Non-inferiority is shown at the tolerance's own scale (the effect it must clear is the
tolerance), so its mixture stays near it: with 1, 4 and 16 times it, 24% of good canaries at 50
req/s were shown non-inferior within the default plan and its extension; with these, 35%
(`bench/README.md`)."""


def mixture_scales(tolerance: Tolerance, multiples: tuple[float, ...]) -> tuple[float, ...]:
    """The half-normal scales averaged over, as multiples of the tolerance's absolute part."""
    base = max(tolerance.absolute, 0.001)
    return tuple(base * multiple for multiple in multiples)


def _smoothed_variance(bad: FloatArray, n: FloatArray) -> FloatArray:
    p = (bad + 0.5) / (n + 1.0)
    return np.asarray(p * (1.0 - p) / (n + 1.0), dtype=np.float64)


def _canary_variance(bad: FloatArray, n: FloatArray, boundary: FloatArray) -> FloatArray:
    """The canary's smoothed variance, at least its value on the null's boundary rate."""
    p0 = np.clip(boundary, 0.0, 1.0)
    return np.maximum(_smoothed_variance(bad, n), p0 * (1.0 - p0) / (n + 1.0))


@dataclass(frozen=True)
class PeriodCounts:
    """Bad events and trials of both revisions in one period of constant canary weight."""

    canary_bad: NDArray[np.int64] | FloatArray
    canary_n: NDArray[np.int64] | FloatArray
    stable_bad: NDArray[np.int64] | FloatArray
    stable_n: NDArray[np.int64] | FloatArray


@dataclass(frozen=True)
class _Period:
    """One period's rates as floats, and its weight in the combination."""

    canary_bad: FloatArray
    canary_n: FloatArray
    canary_rate: FloatArray
    stable_rate: FloatArray
    stable_variance: FloatArray
    weight: FloatArray


def _weighted(periods: Sequence[PeriodCounts]) -> tuple[list[_Period], NDArray[np.bool_]]:
    """The periods with Cochran-Mantel-Haenszel weights, and where no period has data.

    The canary's share of traffic grows step by step: pooled over the rollout, its requests
    lean on the later periods and stable's on the earlier ones, so latency or errors that rise
    for both over time (a daily peak, a busy node) would show as a canary regression (Simpson's
    paradox). Comparing within each period removes that; the periods are weighted by their
    effective size `n_c n_s / (n_c + n_s)` (the most precise combination when the effect is the
    same in every period), so a single period is exactly the pooled test. A period where one
    revision served nothing weighs nothing.
    """
    sizes = []
    for period in periods:
        nc = np.asarray(period.canary_n, dtype=np.float64)
        ns = np.asarray(period.stable_n, dtype=np.float64)
        both = (nc > 0) & (ns > 0)
        sizes.append(np.where(both, nc * ns / np.maximum(nc + ns, 1.0), 0.0))
    size = np.stack(np.broadcast_arrays(*sizes))
    total = np.sum(size, axis=0)
    weights = size / np.maximum(total, 1e-300)
    out = []
    for period, weight in zip(periods, weights, strict=True):
        xc = np.asarray(period.canary_bad, dtype=np.float64)
        nc = np.asarray(period.canary_n, dtype=np.float64)
        xs = np.asarray(period.stable_bad, dtype=np.float64)
        ns = np.asarray(period.stable_n, dtype=np.float64)
        out.append(
            _Period(
                canary_bad=xc,
                canary_n=nc,
                canary_rate=xc / np.maximum(nc, 1.0),
                stable_rate=xs / np.maximum(ns, 1.0),
                stable_variance=_smoothed_variance(xs, ns),
                weight=np.asarray(weight, dtype=np.float64),
            )
        )
    return out, np.asarray(total <= 0)


MarginOf = Callable[[FloatArray], FloatArray]


def _contrast(
    periods: list[_Period], slope: Callable[[FloatArray], FloatArray], margin: MarginOf
) -> tuple[FloatArray, FloatArray]:
    """The combined contrast `sum w (p_c - p_s - margin(p_s))` and its variance, the canary's
    variance floored at the boundary `p_s + margin(p_s)`; `slope` is the derivative of
    `p_s + margin(p_s)`, for stable's share of the variance."""
    d = v = np.zeros(())
    for period in periods:
        ps = period.stable_rate
        offset = margin(ps)
        vc = _canary_variance(period.canary_bad, period.canary_n, ps + offset)
        k = slope(ps)
        w = period.weight
        d = d + w * (period.canary_rate - ps - offset)
        v = v + w * w * (vc + k * k * period.stable_variance)
    return np.asarray(d, dtype=np.float64), np.asarray(v, dtype=np.float64)


def _harm_contrast(periods: list[_Period], harm: Tolerance) -> tuple[FloatArray, FloatArray]:
    a, r = harm.absolute, harm.relative

    def margin(ps: FloatArray) -> FloatArray:
        return np.maximum(a, r * ps)

    def slope(ps: FloatArray) -> FloatArray:
        return np.where(r * ps > a, 1.0 + r, 1.0)

    return _contrast(periods, slope, margin)


def _noninferiority_halves(
    periods: list[_Period], tolerance: Tolerance
) -> list[tuple[FloatArray, FloatArray]]:
    """One contrast per half of the tolerance (`a` and `r p_s`), each with its variance."""
    halves = []
    if tolerance.absolute > 0:
        a = tolerance.absolute
        halves.append(
            _contrast(periods, lambda ps: np.ones_like(ps), lambda ps: np.full_like(ps, a))
        )
    if tolerance.relative > 0:
        r = tolerance.relative
        halves.append(_contrast(periods, lambda ps: np.full_like(ps, 1.0 + r), lambda ps: r * ps))
    return halves


def margin_test(
    periods: Sequence[PeriodCounts],
    *,
    harm: Tolerance,
    noninferiority: Tolerance,
    alpha: float,
) -> MarginTest:
    """Test both questions on the counts of each period of constant weight (one period: the
    cumulative counts); `alpha` only sizes the reported interval, whose lower end clears the
    harm margin exactly when harm is shown (for a margin without a relative part)."""
    if not periods:
        raise ValueError("margin_test needs the counts of at least one period")
    if noninferiority.is_zero:
        raise ValueError("a non-inferiority tolerance of zero can never be shown")
    weighted, no_data = _weighted(periods)
    harm_taus = mixture_scales(noninferiority, HARM_SCALES)
    d_harm, v_harm = _harm_contrast(weighted, harm)
    halves = _noninferiority_halves(weighted, noninferiority)
    # Without data the e-values are 1; a variance keeps the arithmetic finite.
    v_harm = np.where(no_data, 0.25, v_harm)
    log_harm = normal_mixture.log_evalue_greater(d_harm, v_harm, harm_taus)
    # Non-inferiority on -d of each half: one vectorised call.
    d = np.stack(np.broadcast_arrays(*(-d for d, _ in halves)))
    v = np.where(no_data, 0.25, np.stack(np.broadcast_arrays(*(v for _, v in halves))))
    logs = normal_mixture.log_evalue_greater(
        d, v, mixture_scales(noninferiority, NONINFERIORITY_SCALES)
    )
    log_ni = np.logaddexp.reduce(logs, axis=0) - np.log(len(halves))
    canary_rate = sum(p.weight * p.canary_rate for p in weighted)
    stable_rate = sum(p.weight * p.stable_rate for p in weighted)
    effect = np.asarray(canary_rate - stable_rate, dtype=np.float64)
    # One-sided bounds at `alpha` each, from the same mixture as harm (see evalue_radius).
    half_width = normal_mixture.evalue_radius(v_harm, harm_taus, alpha)
    zero = np.zeros_like(log_harm)
    return MarginTest(
        stable_rate=np.asarray(stable_rate, dtype=np.float64) + zero,
        canary_rate=np.asarray(canary_rate, dtype=np.float64) + zero,
        effect=effect + zero,
        lower=effect - half_width,
        upper=effect + half_width,
        log_e_harm=np.where(no_data, zero, log_harm),
        log_e_noninferior=np.where(no_data, zero, log_ni),
    )

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


def margin_test(
    *,
    canary_bad: NDArray[np.int64] | FloatArray,
    canary_n: NDArray[np.int64] | FloatArray,
    stable_bad: NDArray[np.int64] | FloatArray,
    stable_n: NDArray[np.int64] | FloatArray,
    tolerance: Tolerance,
    alpha: float,
) -> MarginTest:
    """Test both questions on cumulative counts; `alpha` only sizes the reported interval,
    whose lower end clears the absolute tolerance exactly when harm's absolute half does."""
    xc = np.asarray(canary_bad, dtype=np.float64)
    nc = np.asarray(canary_n, dtype=np.float64)
    xs = np.asarray(stable_bad, dtype=np.float64)
    ns = np.asarray(stable_n, dtype=np.float64)
    pc = xc / np.maximum(nc, 1.0)
    ps = xs / np.maximum(ns, 1.0)
    vc = _smoothed_variance(xc, nc)
    vs = _smoothed_variance(xs, ns)
    taus = mixture_scales(tolerance)
    no_data = (nc <= 0) | (ns <= 0)

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

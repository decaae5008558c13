"""Summaries of simulated rollouts: rates with Monte-Carlo intervals, and quantiles of cost."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from scipy.stats import binom


def wilson_interval(successes: int, trials: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a binomial proportion (95% by default)."""
    if trials == 0:
        return 0.0, 1.0
    p = successes / trials
    centre = p + z * z / (2 * trials)
    spread = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials))
    scale = 1 + z * z / trials
    return max(0.0, (centre - spread) / scale), min(1.0, (centre + spread) / scale)


def monte_carlo_se(rate: float, trials: int) -> float:
    return math.sqrt(max(rate * (1 - rate), 0.0) / max(trials, 1))


def quantile_or_none(values: NDArray[np.float64] | NDArray[np.int64], q: float) -> float | None:
    """The q-quantile of `values`, or None when there are none."""
    if values.size == 0:
        return None
    return float(np.quantile(values, q))


def quantile_interval(
    values: NDArray[np.float64] | NDArray[np.int64], q: float, level: float = 0.95
) -> tuple[float, float] | None:
    """A distribution-free interval for the q-quantile: the order statistics whose ranks
    bracket it with probability `level` (binomial ranks), or None without values."""
    n = values.size
    if n == 0:
        return None
    ordered = np.sort(values)
    tail = (1 - level) / 2
    low_rank = int(binom.ppf(tail, n, q))
    high_rank = int(binom.ppf(1 - tail, n, q))
    return float(ordered[max(low_rank - 1, 0)]), float(ordered[min(high_rank, n - 1)])


def mean_interval(values: NDArray[np.float64], z: float = 1.96) -> tuple[float, float, float]:
    """The mean and its normal-approximation interval (95% by default)."""
    n = max(values.size, 1)
    mean = float(values.mean()) if values.size else 0.0
    spread = z * float(values.std(ddof=1)) / math.sqrt(n) if values.size > 1 else 0.0
    return mean, mean - spread, mean + spread

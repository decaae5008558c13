"""The Mann-Whitney comparison Kayenta's default judge runs on two sets of time-series points.

Kayenta's NetflixACAJudge (spinnaker/kayenta, `MannWhitneyClassifier`; Spinnaker docs, "How
canary judgment works") compares the canary's points with the baseline's by the two-sample
Wilcoxon-Mann-Whitney procedure at 98% confidence: the Hodges-Lehmann estimate of the shift
(the median of all canary-minus-baseline differences) and its confidence interval, the
differences ranked `k` from each end, `k` from the normal approximation to U's null
distribution with a continuity correction (as R's `wilcox.test(conf.int = TRUE)`, which Kayenta
ports, does for large or tied samples). A metric is High when the interval's lower end exceeds
`tolerance` (0.25) times the estimate's size, Low when the upper end is below minus that, and
Pass otherwise; without points on either side it is NoData. Before that, NaN points are
dropped and outliers beyond 3 interquartile ranges removed.

Everything is vectorised over rollouts: points are (runs, intervals) arrays with NaN for
missing ones, so each run keeps its own sample sizes.
"""

from __future__ import annotations

import enum
import math

import numpy as np
from numpy.typing import NDArray
from scipy.special import ndtri

OUTLIER_FACTOR = 3.0  # Kayenta's IQRDetector(factor = 3.0)


class Classification(enum.IntEnum):
    NO_DATA = 0
    PASS = 1
    HIGH = 2
    LOW = 3


def _percentile(
    ordered: NDArray[np.float64], valid: NDArray[np.int64], q: float
) -> NDArray[np.float64]:
    """The q-th percentile (linear interpolation) of each row's first `valid` sorted values."""
    position = np.maximum(valid - 1, 0) * (q / 100.0)
    below = np.floor(position).astype(np.int64)
    above = np.minimum(below + 1, np.maximum(valid - 1, 0))
    low = np.take_along_axis(ordered, below[..., None], axis=-1)[..., 0]
    high = np.take_along_axis(ordered, above[..., None], axis=-1)[..., 0]
    return np.asarray(low + (high - low) * (position - below), np.float64)


def without_outliers(points: NDArray[np.float64]) -> NDArray[np.float64]:
    """NaN in place of points beyond `OUTLIER_FACTOR` interquartile ranges from the quartiles.

    A run whose points have no spread (IQR 0, as all-zero error ratios do) keeps them all:
    a fence of zero width would throw away every non-modal point.
    """
    points = np.asarray(points, np.float64)
    ordered = np.sort(points, axis=-1)  # NaN last
    valid = np.sum(~np.isnan(points), axis=-1)
    q1 = _percentile(ordered, valid, 25)[..., None]
    q3 = _percentile(ordered, valid, 75)[..., None]
    spread = q3 - q1
    with np.errstate(invalid="ignore"):
        outside = (points < q1 - OUTLIER_FACTOR * spread) | (points > q3 + OUTLIER_FACTOR * spread)
        return np.where(outside & (spread > 0), np.nan, points)


def shift_interval(
    canary: NDArray[np.float64], baseline: NDArray[np.float64], confidence: float = 0.98
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Per run: the Hodges-Lehmann shift estimate and its lower and upper confidence bounds
    (-inf/+inf when there are too few points for a bound; NaN estimate without points)."""
    canary = np.asarray(canary, np.float64)
    baseline = np.asarray(baseline, np.float64)
    n = np.sum(~np.isnan(canary), axis=-1)
    m = np.sum(~np.isnan(baseline), axis=-1)
    differences = (canary[..., :, None] - baseline[..., None, :]).reshape(*canary.shape[:-1], -1)
    ordered = np.sort(differences, axis=-1)  # NaN sorts last
    pairs = n * m
    z = float(ndtri(1 - (1 - confidence) / 2))
    spread = np.sqrt(n * m * (n + m + 1) / 12.0)
    # Rank of the lower bound among the ordered differences (1-based).
    k = np.ceil(pairs / 2.0 - z * spread - 0.5).astype(np.int64)
    usable = k >= 1
    last = max(ordered.shape[-1] - 1, 0)

    def at(rank: NDArray[np.int64]) -> NDArray[np.float64]:
        index = np.clip(rank - 1, 0, last)[..., None]
        return np.take_along_axis(ordered, index, axis=-1)[..., 0]

    lower = np.where(usable, at(k), -math.inf)
    upper = np.where(usable, at(pairs - k + 1), math.inf)
    middle_low = at((pairs + 1) // 2)
    middle_high = at(pairs // 2 + 1)
    estimate = np.where(pairs > 0, (middle_low + middle_high) / 2.0, np.nan)
    return estimate, lower, upper


def classify_increase(
    canary: NDArray[np.float64],
    baseline: NDArray[np.float64],
    *,
    confidence: float = 0.98,
    tolerance: float = 0.25,
) -> NDArray[np.int64]:
    """Kayenta's classification of a metric whose `direction` is `increase` (only High
    counts against the canary), after NaN and outlier removal."""
    canary = without_outliers(canary)
    baseline = without_outliers(baseline)
    estimate, lower, _ = shift_interval(canary, baseline, confidence)
    no_data = np.all(np.isnan(canary), axis=-1) | np.all(np.isnan(baseline), axis=-1)
    high = lower > tolerance * np.abs(estimate)
    return np.asarray(
        np.where(no_data, Classification.NO_DATA, np.where(high, Classification.HIGH, 1)),
        np.int64,
    )

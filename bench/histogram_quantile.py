"""Prometheus' `histogram_quantile`, vectorised over rollouts, for the baselines' latency checks.

Flagger's `request-duration` check, an Argo Rollouts latency metric and a Kayenta latency
metric all read a quantile the way Prometheus computes it from bucket counts: find the bucket
holding the rank `q * count`, then interpolate linearly inside it, from 0 for the first bucket;
a rank in the +Inf bucket gives the highest finite bound; no requests give NaN. (Prometheus
documentation, "Functions: histogram_quantile()".) Its coarseness on wide buckets is part of
what the baselines are measured with.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def histogram_quantile(
    q: float, bounds: tuple[float, ...], cumulative: NDArray[np.int64]
) -> NDArray[np.float64]:
    """The q-quantile (in the bounds' unit) of each row of cumulative bucket counts, last
    bound +inf; NaN where a row has no observations."""
    counts = np.asarray(cumulative, np.float64)
    total = counts[..., -1]
    rank = q * total
    # The first bucket whose cumulative count reaches the rank.
    index = np.argmax(counts >= rank[..., None], axis=-1)
    upper = np.asarray(bounds, np.float64)
    finite_top = upper[-2]
    lower_edge = np.where(index > 0, upper[np.maximum(index - 1, 0)], 0.0)
    below = np.where(
        index > 0, np.take_along_axis(counts, np.maximum(index - 1, 0)[..., None], -1)[..., 0], 0.0
    )
    inside = np.take_along_axis(counts, index[..., None], -1)[..., 0] - below
    upper_edge = upper[index]
    with np.errstate(invalid="ignore", divide="ignore"):
        value = lower_edge + (upper_edge - lower_edge) * np.where(
            inside > 0, (rank - below) / inside, 1.0
        )
    value = np.where(index == len(bounds) - 1, finite_top, value)
    return np.asarray(np.where(total > 0, value, np.nan), np.float64)

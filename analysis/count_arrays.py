"""Per-revision counts as arrays, so the same tests judge one rollout or thousands at once.

The controller has one `RevisionCounts` per revision; the simulator has thousands of rollouts.
Both are turned into `CountArrays` (the scalar case has shape `()`) and go through the same
vectorised statistics, so what the benchmark measures is what the controller runs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from analysis.counts import RevisionCounts

IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class CountArrays:
    """Cumulative counts of one revision: `requests` and `failures` of shape S, and
    `cumulative` of shape S + (len(upper_bounds),), the histogram's cumulative bucket counts
    (seconds, last bound +inf). `failures` or the histogram is None when the source lacks it."""

    requests: IntArray
    failures: IntArray | None
    upper_bounds: tuple[float, ...] | None
    cumulative: IntArray | None

    @classmethod
    def of(cls, counts: RevisionCounts) -> CountArrays:
        latency = counts.latency
        return cls(
            requests=np.asarray(counts.requests, dtype=np.int64),
            failures=None if counts.failures is None else np.asarray(counts.failures, np.int64),
            upper_bounds=None if latency is None else tuple(latency.upper_bounds),
            cumulative=None if latency is None else np.asarray(latency.cumulative, np.int64),
        )

    def total(self) -> IntArray:
        """The histogram's request count, shape S + (1,): the trials of every edge."""
        if self.cumulative is None:
            raise ValueError("this revision has no latency histogram")
        return np.asarray(self.cumulative[..., -1:], dtype=np.int64)

    def slower_than(self, edges: tuple[float, ...]) -> IntArray:
        """Requests slower than each of `edges` (which must be among the bounds): shape S + (E,)."""
        if self.upper_bounds is None or self.cumulative is None:
            raise ValueError("this revision has no latency histogram")
        index = [self.upper_bounds.index(edge) for edge in edges]
        total = self.cumulative[..., -1:]
        return np.asarray(total - self.cumulative[..., index], dtype=np.int64)


Period = tuple[CountArrays, CountArrays]
"""(stable, canary) counts of one period of constant canary weight."""


def common_edges(stable: CountArrays, canary: CountArrays) -> tuple[float, ...]:
    """The finite bucket edges both revisions' histograms have (empty if either has none)."""
    if stable.upper_bounds is None or canary.upper_bounds is None:
        return ()
    shared = set(stable.upper_bounds) & set(canary.upper_bounds)
    return tuple(sorted(edge for edge in shared if math.isfinite(edge)))

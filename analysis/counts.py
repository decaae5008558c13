"""Per-revision counts over a rollout window: the only data the sequential tests look at.

Counts are exact integers computed from raw Prometheus samples (never `rate()`/`increase()`),
so the tests can treat them as what they are: numbers of requests, failures and requests per
latency bucket since the rollout started.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LatencyHistogram:
    """Cumulative bucket counts, as Prometheus histograms hold them.

    `upper_bounds` are the bucket `le` values in increasing order, ending with +inf;
    `cumulative[i]` is the number of requests with latency <= upper_bounds[i], in seconds.
    """

    upper_bounds: tuple[float, ...]
    cumulative: tuple[int, ...]

    @property
    def total(self) -> int:
        return self.cumulative[-1] if self.cumulative else 0


@dataclass(frozen=True)
class RevisionCounts:
    """What one revision served since the rollout started.

    `failures` is None when the source cannot count errors (the kserve template: the model
    server's histograms carry no status code); `latency` is None when it has no histogram.
    """

    requests: int
    failures: int | None
    latency: LatencyHistogram | None

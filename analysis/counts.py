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

    def plus(self, other: RevisionCounts) -> RevisionCounts:
        """The counts of two windows one after the other (histograms must share their bounds;
        a quantity either side lacks is lacking in the sum)."""
        failures = None
        if self.failures is not None and other.failures is not None:
            failures = self.failures + other.failures
        latency = None
        if self.latency is not None and other.latency is not None:
            if self.latency.upper_bounds != other.latency.upper_bounds:
                raise ValueError("cannot add latency histograms with different bucket bounds")
            latency = LatencyHistogram(
                self.latency.upper_bounds,
                tuple(
                    a + b
                    for a, b in zip(self.latency.cumulative, other.latency.cumulative, strict=True)
                ),
            )
        return RevisionCounts(self.requests + other.requests, failures, latency)

"""Turning per-`le` increases of histogram buckets into a `LatencyHistogram` in seconds.

Sources differ in units (Istio and Knative's queue-proxy export milliseconds, the KServe model
server and OpenTelemetry exporters seconds) and in how they spell `le` (`"5"`, `"5.0"`,
`"+Inf"`), so the bounds are parsed, scaled to seconds and merged by value.

The increases of one scrape group are cumulative by construction (`increase.fold_group` resets
buckets together), but a bucket series can still be missing a sample another one has, for
example when Prometheus drops part of a scrape over its sample limit. Prometheus' own
`histogram_quantile` repairs such a dip by carrying the lower bucket's count up; this does the
same, so the result is always cumulative and never loses a counted request.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from analysis.counts import LatencyHistogram


class BucketLabelError(ValueError):
    """A histogram whose `le` labels cannot be read as bucket bounds."""


def latency_histogram(bucket_increases: Mapping[str, int], *, unit_s: float) -> LatencyHistogram:
    """Build the cumulative histogram from what each `le` bucket counted.

    `unit_s` is the size of the source's unit in seconds (0.001 for milliseconds). Raises
    `BucketLabelError` when a bound is not a number or there is no `+Inf` bucket.
    """
    by_bound: dict[float, int] = {}
    for label, count in bucket_increases.items():
        try:
            bound = float(label)
        except ValueError:
            raise BucketLabelError(f"bucket label le={label!r} is not a number") from None
        if math.isnan(bound):
            raise BucketLabelError("bucket label le='NaN' is not a bound")
        scaled = bound if math.isinf(bound) else bound * unit_s
        by_bound[scaled] = by_bound.get(scaled, 0) + count
    if math.inf not in by_bound:
        raise BucketLabelError(
            'the buckets have no le="+Inf" bucket; select the whole histogram '
            "(every le) in the latency query"
        )
    bounds = tuple(sorted(by_bound))
    cumulative: list[int] = []
    running = 0
    for bound in bounds:
        running = max(running, by_bound[bound])
        cumulative.append(running)
    return LatencyHistogram(upper_bounds=bounds, cumulative=tuple(cumulative))

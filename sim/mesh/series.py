"""Counters and histograms kept the way Envoy and queue-proxy keep them.

prometheus-client's own Counter and Histogram add `_created` samples that Envoy and Knative's
queue-proxy never export; these collectors export exactly `<name>_total` or
`<name>_bucket/_sum/_count`, so a scrape of the simulated proxies looks like a scrape of the real
ones. Thread-safe: the gateway and the model servers observe from their loop thread while a scrape
may render from another.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterable, Sequence

from prometheus_client.metrics_core import HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

LabelValues = tuple[str, ...]


class CounterVec(Collector):
    """A counter family with fixed label names."""

    def __init__(self, name: str, documentation: str, labelnames: Sequence[str]) -> None:
        self.name = name
        self.documentation = documentation
        self.labelnames = tuple(labelnames)
        self._values: dict[LabelValues, float] = {}
        self._lock = threading.Lock()

    def inc(self, labels: LabelValues, amount: float = 1.0) -> None:
        with self._lock:
            self._values[labels] = self._values.get(labels, 0.0) + amount

    def value(self, labels: LabelValues) -> float:
        with self._lock:
            return self._values.get(labels, 0.0)

    def collect(self) -> Iterable[Metric]:
        # The sample name is exactly `name`: Envoy's end in `_total`, OpenCensus's
        # (queue-proxy's `revision_app_request_count`) do not.
        family = Metric(self.name, self.documentation, "counter")
        with self._lock:
            items = sorted(self._values.items())
        for labels, value in items:
            family.add_sample(self.name, dict(zip(self.labelnames, labels, strict=True)), value)
        yield family


class HistogramVec(Collector):
    """A histogram family with fixed label names and bucket bounds."""

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str],
        buckets: Sequence[float],
    ) -> None:
        self.name = name
        self.documentation = documentation
        self.labelnames = tuple(labelnames)
        self.bounds = tuple(float(b) for b in buckets)
        # labels -> (per-bucket counts with +Inf last, sum)
        self._values: dict[LabelValues, tuple[list[int], float]] = {}
        self._lock = threading.Lock()

    def observe(self, labels: LabelValues, value: float) -> None:
        index = bisect.bisect_left(self.bounds, value)
        with self._lock:
            counts, total = self._values.get(labels, ([0] * (len(self.bounds) + 1), 0.0))
            counts[index] += 1
            self._values[labels] = (counts, total + value)

    def count(self, labels: LabelValues) -> int:
        with self._lock:
            counts, _ = self._values.get(labels, ([0], 0.0))
            return sum(counts)

    def collect(self) -> Iterable[Metric]:
        family = HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)
        with self._lock:
            items = sorted((k, (list(c), s)) for k, (c, s) in self._values.items())
        for labels, (counts, total) in items:
            cumulative = 0
            buckets: list[tuple[str, float]] = []
            for bound, n in zip((*self.bounds, float("inf")), counts, strict=True):
                cumulative += n
                buckets.append((_bound_text(bound), float(cumulative)))
            family.add_metric(list(labels), buckets, total)
        yield family


def _bound_text(bound: float) -> str:
    # Go's strconv.FormatFloat(f, 'g', -1, 64), as Envoy and Prometheus write `le`.
    if bound == float("inf"):
        return "+Inf"
    text = repr(bound)
    if text.endswith(".0") and abs(bound) < 1e6:
        return text[:-2]
    if abs(bound) >= 1e6:
        mantissa, exponent = f"{bound:e}".split("e")
        mantissa = mantissa.rstrip("0").rstrip(".")
        return f"{mantissa}e+{int(exponent):02d}"
    return text

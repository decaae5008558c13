"""Counters and histograms kept, and written out, the way Envoy and queue-proxy do.

prometheus-client's own types add `_created` samples and rename counters in `# TYPE` lines; the
proxies do neither. These families render exactly `<name>` samples for counters (Envoy's end in
`_total`, OpenCensus's `revision_app_request_count` does not) and `<name>_bucket/_sum/_count` for
histograms with `le` bounds written as Go writes floats (`0.5`, `1`, `1.8e+06`). Thread-safe: the
proxies observe on their loop thread while a scrape may render from another.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterable, Sequence

LabelValues = tuple[str, ...]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels_text(names: Sequence[str], values: Sequence[str], extra: str = "") -> str:
    pairs = [f'{n}="{_escape(v)}"' for n, v in zip(names, values, strict=True)]
    if extra:
        pairs.append(extra)
    return "{" + ",".join(pairs) + "}"


def _number(value: float) -> str:
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def bound_text(bound: float) -> str:
    """A bucket bound as Go's strconv.FormatFloat(f, 'g', -1, 64) writes it."""
    if bound == float("inf"):
        return "+Inf"
    if abs(bound) >= 1e6:
        mantissa, exponent = f"{bound:e}".split("e")
        mantissa = mantissa.rstrip("0").rstrip(".")
        return f"{mantissa}e+{int(exponent):02d}"
    return _number(bound)


class CounterVec:
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

    def render(self) -> str:
        with self._lock:
            items = sorted(self._values.items())
        lines = [f"# HELP {self.name} {self.documentation}", f"# TYPE {self.name} counter"]
        lines += [
            f"{self.name}{_labels_text(self.labelnames, labels)} {_number(value)}"
            for labels, value in items
        ]
        return "\n".join(lines) + "\n"


class HistogramVec:
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

    def render(self) -> str:
        with self._lock:
            items = sorted((k, (list(c), s)) for k, (c, s) in self._values.items())
        lines = [f"# HELP {self.name} {self.documentation}", f"# TYPE {self.name} histogram"]
        bounds = [bound_text(b) for b in (*self.bounds, float("inf"))]
        for labels, (counts, total) in items:
            cumulative = 0
            for bound, n in zip(bounds, counts, strict=True):
                cumulative += n
                label_text = _labels_text(self.labelnames, labels, f'le="{bound}"')
                lines.append(f"{self.name}_bucket{label_text} {cumulative}")
            plain = _labels_text(self.labelnames, labels)
            lines.append(f"{self.name}_sum{plain} {_number(total)}")
            lines.append(f"{self.name}_count{plain} {cumulative}")
        return "\n".join(lines) + "\n"


Family = CounterVec | HistogramVec


def exposition(families: Iterable[Family]) -> bytes:
    """The Prometheus text format (0.0.4) of `families`."""
    return "".join(f.render() for f in families).encode()

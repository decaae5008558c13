"""Prometheus as the analysis queries it, answered from stored series (tests only)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from analysis.increase import Series
from analysis.query_result import NoData


@dataclass
class FakeQueries:
    """Range-vector queries answered from a dict of selector -> series, like Prometheus'
    `[window]` selector; or down, when `failure` is set. `drop_empty` leaves out series with no
    sample in the window, as Prometheus does."""

    series: dict[str, list[Series]] = field(default_factory=dict)
    failure: NoData | None = None
    asked: int = 0
    drop_empty: bool = False

    @property
    def queries_made(self) -> int:
        return self.asked

    def range_vector(
        self, selector: str, *, window_s: float, at: datetime
    ) -> list[Series] | NoData:
        self.asked += 1
        if self.failure is not None:
            return self.failure
        end = at.timestamp()
        found = [
            Series(one.labels, tuple((t, v) for t, v in one.samples if end - window_s <= t <= end))
            for one in self.series.get(selector, [])
        ]
        return [one for one in found if one.samples or not self.drop_empty]

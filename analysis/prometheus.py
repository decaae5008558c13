"""The Prometheus source of the analysis: exact per-revision counts since the rollout started.

For each quantity of a metric template (requests, failures, latency buckets) the source asks
Prometheus for the raw samples of the template's selector, as a range-vector selector evaluated
as an instant query (`selector[<window>ms]` at time `at`), and folds them with `analysis.increase`
into reset-aware increases per series, summed over series (and per `le` for buckets). The window
reaches `lookback_s` before the rollout start so that each series' last value before the start is
known; a series with no sample in that lookback but samples after the start is taken to be born
after the start and counts from zero (so `lookback_s` must exceed the scrape interval; Prometheus'
own staleness horizon, 5 minutes, is the default).

Cost per tick: one query per quantity per revision (three at most), whatever the number of pods,
series or buckets. Prometheus loads every sample in the window, and refuses queries over
`--query.max-samples` (50 million by default); with a 1 s scrape a window holds
`series x seconds` samples. So the source bounds each query's window:

- the first reading of a rollout reads the window in pieces of at most `max_range_s` seconds
  (one query per piece: a controller restarted after a long rollout pays a few extra queries once);
- later readings continue from the folded state of the previous one (kept in memory, keyed by
  selector and start time) and only ask for the samples since the previous reading, plus
  `lookback_s` of overlap for scrapes that landed late. The state is a cache: a restarted
  controller recomputes it from Prometheus, so nothing depends on it surviving.

A piece that still loads too many samples fails with Prometheus' 422 "too many samples", reported
as `bad_query` with that message: lower `max_range_s` (samples per piece are about
`series x max_range_s / scrape interval`; 1,000 series at a 1 s scrape and the default hour make
3.6 million).

Limits: a series that is replaced by one with the same labels and a *higher* value between two
scrapes cannot be told from growth (Prometheus adds `pod`/`instance` labels, so this needs the
same pod name); what a replaced pod counted after its last scrape is lost, as DESIGN.md says of
serving-pod counters; counts are as exact as the counter values (floats, exact below 2**53).

Failures never raise: a query that fails or matches nothing is `NoData` with its reason, and the
`on_query_error` hook is told its kind once per failed query.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from analysis.counts import LatencyHistogram, RevisionCounts
from analysis.increase import (
    GroupKey,
    GroupTally,
    Series,
    fold_series,
    member_totals,
    staleness,
)
from analysis.latency_buckets import BucketLabelError, latency_histogram
from analysis.prometheus_connection import PrometheusConnection
from analysis.prometheus_http import PrometheusHttp
from analysis.query_result import NoData, NoDataKind, QueryErrorHook
from analysis.templates import MetricTemplate, RevisionRef, TemplateError


class RangeVectorQueries(Protocol):
    """What the source needs from Prometheus; `PrometheusHttp` over HTTP, a fake in tests."""

    def range_vector(
        self, selector: str, *, window_s: float, at: datetime
    ) -> list[Series] | NoData: ...

    @property
    def queries_made(self) -> int: ...


@dataclass(frozen=True)
class RevisionReading:
    """Each quantity of one revision separately, so a check can run when another one has no data.

    `failures` and `latency` are None when the template has no query for them.
    """

    requests: int | NoData
    failures: int | NoData | None
    latency: LatencyHistogram | NoData | None

    def counts(self) -> RevisionCounts | NoData:
        """All three together, or the first quantity's NoData."""
        if isinstance(self.requests, NoData):
            return self.requests
        if isinstance(self.failures, NoData):
            return self.failures
        if isinstance(self.latency, NoData):
            return self.latency
        return RevisionCounts(self.requests, self.failures, self.latency)


@dataclass(frozen=True)
class _Folded:
    tallies: Mapping[GroupKey, GroupTally]
    until_ms: int


class PrometheusSource:
    """Per-revision counts from Prometheus; see the module docstring.

    Build it with `PrometheusSource.connect(connection)` for a real Prometheus, or directly over any
    `RangeVectorQueries`. Safe to share between threads.
    """

    def __init__(
        self,
        queries: RangeVectorQueries,
        *,
        lookback_s: float = 300.0,
        max_range_s: float = 3600.0,
        on_query_error: QueryErrorHook | None = None,
        cache_size: int = 1024,
    ) -> None:
        if not lookback_s > 0 or not max_range_s > 0:
            raise ValueError("lookback_s and max_range_s must be positive numbers of seconds")
        self._queries = queries
        self._lookback_ms = round(lookback_s * 1000)
        self._max_range_ms = round(max_range_s * 1000)
        self._on_query_error = on_query_error
        self._cache: OrderedDict[tuple[str, str | None, int], _Folded] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    @classmethod
    def connect(
        cls,
        connection: PrometheusConnection,
        *,
        lookback_s: float = 300.0,
        max_range_s: float = 3600.0,
        on_query_error: QueryErrorHook | None = None,
    ) -> PrometheusSource:
        """A source over the HTTP API of the Prometheus that `connection` reaches."""
        return cls(
            PrometheusHttp(connection),
            lookback_s=lookback_s,
            max_range_s=max_range_s,
            on_query_error=on_query_error,
        )

    @property
    def queries_made(self) -> int:
        """HTTP queries sent so far (for tests and benchmarks)."""
        return self._queries.queries_made

    def close(self) -> None:
        """Release the HTTP connections, if the query layer holds any."""
        close = getattr(self._queries, "close", None)
        if callable(close):
            close()

    def revision_counts(
        self,
        template: MetricTemplate,
        revision: RevisionRef,
        *,
        since: datetime,
        at: datetime,
        fresh: bool = True,
    ) -> RevisionCounts | NoData:
        """What the revision served after `since`, as seen at `at`, or why that is unknown.

        With `fresh`, counts whose newest sample is several scrape intervals older than `at`
        are stale (NoData); a window that ended in the past is read without that check: its
        last samples may fall in an outage that is long over, and what was not scraped before
        its end is counted in the next window."""
        return self.revision_reading(template, revision, since=since, at=at, fresh=fresh).counts()

    def revision_reading(
        self,
        template: MetricTemplate,
        revision: RevisionRef,
        *,
        since: datetime,
        at: datetime,
        fresh: bool = True,
    ) -> RevisionReading:
        """Each quantity separately; naive datetimes are read as UTC."""
        try:
            queries = template.render(revision)
        except TemplateError as error:
            no_data = self._report(NoData.because(NoDataKind.BAD_QUERY, str(error)))
            return RevisionReading(no_data, no_data, no_data)
        since_ms, at_ms = _millis(since), _millis(at)

        # Only the request counter speaks for freshness: every serving pod has it, while error
        # series exist only where errors happened (maybe on a pod long gone).
        requests = self._increases(queries.requests, None, since_ms, at_ms, fresh=fresh)
        if isinstance(requests, NoData):
            # Nothing else can work if this did not: do not wait out more timeouts.
            self._report(requests)
            return RevisionReading(requests, requests, requests)
        request_count = sum(requests.values())

        failures: int | NoData | None = None
        if queries.failures is not None:
            found = self._increases(queries.failures, None, since_ms, at_ms)
            if isinstance(found, NoData) and found.kind is NoDataKind.NO_DATA:
                # Error series appear with the first error: none means none were counted.
                failures = 0
            elif isinstance(found, NoData):
                failures = self._report(found)
            else:
                failures = sum(found.values())

        latency: LatencyHistogram | NoData | None = None
        if queries.latency_buckets is not None:
            buckets = self._increases(queries.latency_buckets, "le", since_ms, at_ms)
            if isinstance(buckets, NoData):
                latency = self._report(buckets)
            else:
                try:
                    latency = latency_histogram(buckets, unit_s=template.latency_unit_s)
                except BucketLabelError as error:
                    latency = self._report(
                        NoData.because(NoDataKind.BAD_QUERY, f"{queries.latency_buckets}: {error}")
                    )
        return RevisionReading(request_count, failures, latency)

    def _report(self, no_data: NoData) -> NoData:
        if self._on_query_error is not None:
            self._on_query_error(no_data.kind)
        return no_data

    def _increases(
        self,
        selector: str,
        member_label: str | None,
        since_ms: int,
        at_ms: int,
        *,
        fresh: bool = False,
    ) -> dict[str, int] | NoData:
        """What each member counted in (since, at]; with `fresh`, NoData (stale) when the
        newest sample is several scrape intervals older than `at`."""
        key = (selector, member_label, since_ms)
        with self._lock:
            cached = self._cache.get(key)
        tallies: Mapping[GroupKey, GroupTally] = {}
        start_ms = since_ms - self._lookback_ms
        if cached is not None and cached.until_ms <= at_ms:
            tallies = cached.tallies
            start_ms = max(start_ms, cached.until_ms - self._lookback_ms)
        for window_ms, end_ms in _pieces(start_ms, at_ms, self._max_range_ms):
            result = self._queries.range_vector(
                selector, window_s=window_ms / 1000, at=datetime.fromtimestamp(end_ms / 1000, UTC)
            )
            if isinstance(result, NoData):
                return result
            tallies = fold_series(tallies, result, since=since_ms / 1000, member_label=member_label)
        if not tallies:
            return NoData.because(
                NoDataKind.NO_DATA,
                f"no series match {selector} between {_iso(since_ms - self._lookback_ms)} "
                f"and {_iso(at_ms)}",
            )
        stale = _stale(tallies.values(), at_ms) if fresh else None
        if stale is not None:
            return NoData.because(NoDataKind.STALE, f"{selector}: {stale}")
        with self._lock:
            self._cache[key] = _Folded(tallies, at_ms)
            self._cache.move_to_end(key)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return member_totals(tallies.values())


STALE_SCRAPES = 3
"""A revision's counts are stale once its newest sample is this many scrape intervals old..."""
STALE_FLOOR_S = 5.0
"""...and at least this many seconds (a scrape a little late on a busy node is not stale)."""


def _stale(tallies: Iterable[GroupTally], at_ms: int) -> str | None:
    """Why the newest sample is too old to count up to `at_ms`, or None.

    Counts that stopped growing because scrapes failed would read as "no more requests" and
    let a rollout advance on evidence it never saw; Prometheus still answers, so only the age
    of the samples tells."""
    found = staleness(tallies, at_ms / 1000)
    if found is None:
        return None
    age, interval = found
    if age <= max(STALE_SCRAPES * interval, STALE_FLOOR_S):
        return None
    return f"newest sample {age:.0f}s old, scraped every {interval:.0f}s"


def _pieces(start_ms: int, end_ms: int, max_ms: int) -> list[tuple[int, int]]:
    """(window, end) pairs covering (start, end] in windows of at most `max_ms`."""
    pieces = []
    while start_ms < end_ms:
        piece_end = min(start_ms + max_ms, end_ms)
        pieces.append((piece_end - start_ms, piece_end))
        start_ms = piece_end
    return pieces


def _millis(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return round(moment.timestamp() * 1000)


def _iso(millis: int) -> str:
    return datetime.fromtimestamp(millis / 1000, UTC).isoformat(timespec="seconds")

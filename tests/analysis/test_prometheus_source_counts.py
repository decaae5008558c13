"""Per-revision counts from a Prometheus that holds known samples, through a fake query layer."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from analysis.counts import LatencyHistogram, RevisionCounts
from analysis.increase import Series
from analysis.prometheus import PrometheusSource
from analysis.query_result import NoData, NoDataKind
from analysis.templates import RevisionRef, builtin_template

START = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
T0 = START.timestamp()
CANARY = RevisionRef(namespace="models", isvc="iris", workload="iris-predictor")
ISTIO = builtin_template("istio")
RENDERED = ISTIO.render(CANARY)


@dataclass
class FakePrometheus:
    """Answers range-vector queries from stored series, like Prometheus' [window] selector."""

    series: dict[str, list[Series]] = field(default_factory=dict)
    asked: list[tuple[str, float, float]] = field(default_factory=list)
    failure: NoData | None = None

    @property
    def queries_made(self) -> int:
        return len(self.asked)

    def range_vector(
        self, selector: str, *, window_s: float, at: datetime
    ) -> list[Series] | NoData:
        self.asked.append((selector, window_s, at.timestamp()))
        if self.failure is not None:
            return self.failure
        end = at.timestamp()
        found = []
        for one in self.series.get(selector, []):
            samples = tuple((t, v) for t, v in one.samples if end - window_s <= t <= end)
            if samples:
                found.append(Series(one.labels, samples))
        return found


def series(pod: str, samples: list[tuple[float, float]], **labels: str) -> Series:
    return Series({"pod": pod, **labels}, tuple((T0 + t, v) for t, v in samples))


def buckets(pod: str, samples: list[tuple[float, dict[str, float]]]) -> list[Series]:
    bounds = samples[0][1].keys()
    return [series(pod, [(t, values[le]) for t, values in samples], le=le) for le in bounds]


def istio_prometheus() -> FakePrometheus:
    return FakePrometheus(
        {
            RENDERED.requests: [
                series("a", [(-10, 100), (10, 150), (20, 3)], response_code="200"),
                series("a", [(-10, 4), (10, 6), (20, 1)], response_code="503"),
                series("b", [(15, 7)], response_code="200"),
            ],
            RENDERED.failures or "": [
                series("a", [(-10, 4), (10, 6), (20, 1)], response_code="503"),
            ],
            RENDERED.latency_buckets or "": buckets(
                "a",
                [
                    (-10, {"10": 50, "100": 100, "+Inf": 104}),
                    (10, {"10": 70, "100": 150, "+Inf": 156}),
                    (20, {"10": 2, "100": 4, "+Inf": 4}),
                ],
            ),
        }
    )


def test_counts_are_exact_increases_since_the_start_in_seconds() -> None:
    source = PrometheusSource(istio_prometheus())
    counts = source.revision_counts(ISTIO, CANARY, since=START, at=START + timedelta(seconds=30))
    assert counts == RevisionCounts(
        requests=(50 + 3) + (2 + 1) + 7,
        failures=2 + 1,
        latency=LatencyHistogram(
            upper_bounds=(0.01, 0.1, math.inf), cumulative=(20 + 2, 50 + 4, 52 + 4)
        ),
    )


def test_one_query_per_quantity_with_the_window_reaching_before_the_start() -> None:
    fake = istio_prometheus()
    source = PrometheusSource(fake, lookback_s=300)
    source.revision_counts(ISTIO, CANARY, since=START, at=START + timedelta(seconds=30))
    assert [(selector, window) for selector, window, _ in fake.asked] == [
        (RENDERED.requests, 330.0),
        (RENDERED.failures, 330.0),
        (RENDERED.latency_buckets, 330.0),
    ]
    assert source.queries_made == 3


def test_a_revision_without_error_series_has_zero_failures() -> None:
    fake = istio_prometheus()
    del fake.series[RENDERED.failures or ""]
    reasons: list[NoDataKind] = []
    source = PrometheusSource(fake, on_query_error=reasons.append)
    counts = source.revision_counts(ISTIO, CANARY, since=START, at=START + timedelta(seconds=30))
    assert isinstance(counts, RevisionCounts) and counts.failures == 0
    assert reasons == []


def test_no_series_at_all_is_no_data_and_is_counted() -> None:
    reasons: list[NoDataKind] = []
    source = PrometheusSource(FakePrometheus(), on_query_error=reasons.append)
    counts = source.revision_counts(ISTIO, CANARY, since=START, at=START + timedelta(seconds=30))
    assert isinstance(counts, NoData) and counts.kind is NoDataKind.NO_DATA
    assert RENDERED.requests in counts.reason
    assert reasons == [NoDataKind.NO_DATA]
    assert source.queries_made == 1


def test_a_missing_histogram_is_no_data_for_latency_only() -> None:
    fake = istio_prometheus()
    del fake.series[RENDERED.latency_buckets or ""]
    reasons: list[NoDataKind] = []
    source = PrometheusSource(fake, on_query_error=reasons.append)
    reading = source.revision_reading(ISTIO, CANARY, since=START, at=START + timedelta(seconds=30))
    assert reading.requests == 63 and reading.failures == 3
    assert isinstance(reading.latency, NoData) and reading.latency.kind is NoDataKind.NO_DATA
    assert reading.counts() == reading.latency
    assert reasons == [NoDataKind.NO_DATA]


def test_a_failed_query_becomes_no_data_for_every_quantity_after_one_query() -> None:
    fake = istio_prometheus()
    fake.failure = NoData.because(NoDataKind.HTTP_5XX, "HTTP 503")
    reasons: list[NoDataKind] = []
    source = PrometheusSource(fake, on_query_error=reasons.append)
    reading = source.revision_reading(ISTIO, CANARY, since=START, at=START + timedelta(seconds=30))
    assert reading.requests == reading.failures == reading.latency == fake.failure
    assert fake.queries_made == 1
    assert reasons == [NoDataKind.HTTP_5XX]


def test_a_template_the_revision_cannot_fill_is_a_bad_query_not_an_exception() -> None:
    reasons: list[NoDataKind] = []
    source = PrometheusSource(FakePrometheus(), on_query_error=reasons.append)
    counts = source.revision_counts(
        builtin_template("knative"), CANARY, since=START, at=START + timedelta(seconds=30)
    )
    assert isinstance(counts, NoData) and counts.kind is NoDataKind.BAD_QUERY
    assert "revision" in counts.reason
    assert reasons == [NoDataKind.BAD_QUERY] and source.queries_made == 0


def test_kserve_counts_have_no_failures() -> None:
    template = builtin_template("kserve")
    rendered = template.render(CANARY)
    fake = FakePrometheus(
        {
            rendered.requests: [series("a", [(-5, 10), (5, 14)])],
            rendered.latency_buckets or "": buckets(
                "a", [(-5, {"0.5": 8, "+Inf": 10}), (5, {"0.5": 11, "+Inf": 14})]
            ),
        }
    )
    counts = PrometheusSource(fake).revision_counts(
        template, CANARY, since=START, at=START + timedelta(seconds=10)
    )
    assert counts == RevisionCounts(
        requests=4, failures=None, latency=LatencyHistogram((0.5, math.inf), (3, 4))
    )


def test_later_readings_only_ask_for_the_samples_since_the_previous_one() -> None:
    fake = istio_prometheus()
    source = PrometheusSource(fake, lookback_s=60)
    first = source.revision_counts(ISTIO, CANARY, since=START, at=START + timedelta(seconds=12))
    fake.asked.clear()
    later = source.revision_counts(ISTIO, CANARY, since=START, at=START + timedelta(seconds=30))
    assert [window for _, window, _ in fake.asked] == [18 + 60] * 3
    fresh = PrometheusSource(istio_prometheus()).revision_counts(
        ISTIO, CANARY, since=START, at=START + timedelta(seconds=30)
    )
    assert later == fresh
    assert isinstance(first, RevisionCounts) and first.requests == 50 + 2


def test_a_long_window_is_read_in_bounded_pieces_with_the_same_result() -> None:
    whole = PrometheusSource(istio_prometheus(), lookback_s=60).revision_counts(
        ISTIO, CANARY, since=START, at=START + timedelta(seconds=30)
    )
    fake = istio_prometheus()
    pieces = PrometheusSource(fake, lookback_s=60, max_range_s=10).revision_counts(
        ISTIO, CANARY, since=START, at=START + timedelta(seconds=30)
    )
    assert pieces == whole
    assert [window for selector, window, _ in fake.asked if selector == RENDERED.requests] == [
        10.0
    ] * 9


def _scraped_every(interval_s: float, until_s: float) -> FakePrometheus:
    """A canary whose request counter was scraped every `interval_s` up to `until_s` only."""
    samples = [(t, 10.0 * t) for t in range(0, int(until_s) + 1, int(interval_s))]
    return FakePrometheus(
        {RENDERED.requests: [series("a", [(-5, 0.0), *samples], response_code="200")]}
    )


def test_counts_whose_scrapes_stopped_are_stale_not_a_quiet_canary() -> None:
    # Scraped every 15 s until +60 s; at +120 s the newest sample is four intervals old.
    source = PrometheusSource(_scraped_every(15, 60))
    counts = source.revision_counts(ISTIO, CANARY, since=START, at=START + timedelta(seconds=120))
    assert isinstance(counts, NoData) and counts.kind is NoDataKind.STALE, counts
    assert "60s old, scraped every 15s" in counts.reason


def test_a_sample_a_little_late_is_not_stale() -> None:
    source = PrometheusSource(_scraped_every(15, 60))
    counts = source.revision_reading(ISTIO, CANARY, since=START, at=START + timedelta(seconds=100))
    assert counts.requests == 600


def test_a_fast_scrape_interval_gets_a_floor_of_a_few_seconds() -> None:
    source = PrometheusSource(_scraped_every(1, 30))
    late = source.revision_reading(ISTIO, CANARY, since=START, at=START + timedelta(seconds=34))
    assert late.requests == 300, late
    stopped = source.revision_reading(ISTIO, CANARY, since=START, at=START + timedelta(seconds=40))
    assert isinstance(stopped.requests, NoData) and stopped.requests.kind is NoDataKind.STALE


def test_an_error_series_from_a_pod_long_gone_does_not_make_the_counts_stale() -> None:
    prometheus = _scraped_every(15, 120)
    assert RENDERED.failures is not None
    prometheus.series[RENDERED.failures] = [series("old", [(-5, 0.0), (15, 2.0)])]
    source = PrometheusSource(prometheus)
    counts = source.revision_reading(ISTIO, CANARY, since=START, at=START + timedelta(seconds=120))
    assert counts.requests == 1200 and counts.failures == 2


def test_a_window_that_ended_in_the_past_is_read_without_the_freshness_check() -> None:
    # Scrapes stopped at +30 s (an outage); a period that ended at +40 s is final all the same.
    source = PrometheusSource(_scraped_every(1, 30))
    at = START + timedelta(seconds=40)
    closed = source.revision_reading(ISTIO, CANARY, since=START, at=at, fresh=False)
    assert closed.requests == 300
    current = source.revision_reading(ISTIO, CANARY, since=START, at=at)
    assert isinstance(current.requests, NoData) and current.requests.kind is NoDataKind.STALE

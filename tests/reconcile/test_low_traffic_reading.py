"""The traffic the LowTraffic check reads from Prometheus: both revisions' requests over the
five minutes before the start, stable's error rate, and nothing when the rate is unknown."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fake_queries import FakeQueries

from analysis.increase import Series
from analysis.prometheus import PrometheusSource
from analysis.query_result import NoData, NoDataKind
from analysis.templates import RevisionRef, builtin_template
from reconcile.low_traffic import LOOKBACK, ObservedTraffic, PrometheusTraffic

START = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
ISTIO = builtin_template("istio")
STABLE = RevisionRef(namespace="models", isvc="iris", workload="iris-primary-predictor")
CANARY = RevisionRef(namespace="models", isvc="iris", workload="iris-predictor")


def FakePrometheus(
    series: dict[str, list[Series]] | None = None, failure: NoData | None = None
) -> FakeQueries:
    return FakeQueries(series or {}, failure, drop_empty=True)


def counter(per_second: float, *, code: str, pod: str = "a") -> Series:
    """A counter scraped every 10 s for the ten minutes before the start."""
    start = START.timestamp()
    samples = tuple((start - s, per_second * (600 - s)) for s in range(600, -1, -10))
    return Series({"pod": pod, "response_code": code}, samples)


def prometheus(*, stable_rps: float, failing_rps: float, canary_rps: float) -> FakePrometheus:
    stable, canary = ISTIO.render(STABLE), ISTIO.render(CANARY)
    found = {
        stable.requests: [counter(stable_rps, code="200"), counter(failing_rps, code="503")],
        stable.failures or "": [counter(failing_rps, code="503")],
    }
    if canary_rps:
        found[canary.requests] = [counter(canary_rps, code="200", pod="c")]
    return FakePrometheus(found)


def observe(fake: FakePrometheus) -> ObservedTraffic | None:
    traffic = PrometheusTraffic(PrometheusSource(fake))
    return traffic.observed_traffic(ISTIO, STABLE, CANARY, since=START - LOOKBACK, at=START)


def test_the_rate_is_both_revisions_requests_over_the_lookback() -> None:
    observed = observe(prometheus(stable_rps=3.0, failing_rps=1.0, canary_rps=0.5))

    assert observed is not None
    assert abs(observed.requests_per_second - 4.5) < 1e-9
    assert observed.stable_error_rate is not None
    assert abs(observed.stable_error_rate - 0.25) < 1e-9


def test_a_canary_without_series_counts_as_none_and_no_errors_leave_the_rate_unknown() -> None:
    observed = observe(prometheus(stable_rps=2.0, failing_rps=0.0, canary_rps=0.0))

    assert observed == ObservedTraffic(requests_per_second=2.0, stable_error_rate=None)


def test_an_unreachable_prometheus_or_a_stable_without_series_gives_nothing() -> None:
    down = FakePrometheus(failure=NoData.because(NoDataKind.UNREACHABLE, "connection refused"))
    assert observe(down) is None
    assert observe(FakePrometheus()) is None
    # Samples that stopped long before the start are stale: the rate is unknown, not zero.
    late = prometheus(stable_rps=2.0, failing_rps=0.0, canary_rps=0.0)
    traffic = PrometheusTraffic(PrometheusSource(late))
    at = START + timedelta(minutes=4)
    assert traffic.observed_traffic(ISTIO, STABLE, CANARY, since=at - LOOKBACK, at=at) is None

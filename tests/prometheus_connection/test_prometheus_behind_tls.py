"""The local cluster's real Prometheus behind a TLS proxy with a private CA that wants a bearer
token and a tenant header: the controller's analysis source and `kcanary report`'s range query
both read it with the CA, the token and the header, and each says what is wrong when one of the
three is missing."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tls_proxy import TENANT_HEADER, TlsProxy, tls_proxy

from analysis.prometheus import PrometheusSource
from analysis.prometheus_connection import PrometheusConnection
from analysis.prometheus_http import PrometheusHttp
from analysis.query_result import NoData, NoDataKind
from analysis.templates import RevisionRef, builtin_template
from kcanary.report.prometheus_range import Missing, PrometheusRange, PrometheusUnreachable
from sim.cluster import LocalCluster

# Every target the cluster's Prometheus scrapes has an `up` series.
SCRAPED = "up"
NEVER_SERVED = RevisionRef("tls-nowhere", "iris", workload="iris-predictor-0001")


@pytest.fixture
def proxy(local_cluster: LocalCluster, tmp_path: Path) -> Iterator[TlsProxy]:
    assert local_cluster.prometheus is not None, "the test needs the cluster's Prometheus"
    with tls_proxy(
        local_cluster.prometheus.url, tmp_path, token="t0ken", tenant="tenant-a"
    ) as serving:
        yield serving
    port = int(serving.url.rsplit(":", 1)[1])
    with socket.socket() as probe:  # nothing listens on the port any more
        # Connections the proxy closed may linger in TIME_WAIT; only a listener blocks this.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))


@pytest.fixture
def reach(proxy: TlsProxy, tmp_path: Path) -> PrometheusConnection:
    """The CA, the token (as a file) and the tenant header: everything the proxy wants."""
    token_file = tmp_path / "token"
    token_file.write_text(proxy.token + "\n")
    return PrometheusConnection(
        proxy.url,
        timeout_s=10,
        ca_file=proxy.ca_file,
        bearer_token_file=token_file,
        headers={TENANT_HEADER: proxy.tenant},
    )


def without(reach: PrometheusConnection, missing: str) -> PrometheusConnection:
    match missing:
        case "ca":
            return replace(reach, ca_file=None)
        case "token":
            return replace(reach, bearer_token_file=None)
        case _:
            return replace(reach, headers={})


def test_the_analysis_source_reads_through_tls_with_token_and_header(
    reach: PrometheusConnection,
) -> None:
    now = datetime.now(UTC)
    http = PrometheusHttp(reach)
    try:
        series = http.range_vector(SCRAPED, window_s=60, at=now)
    finally:
        http.close()
    assert isinstance(series, list) and series and all(s.samples for s in series), series
    source = PrometheusSource.connect(reach)
    try:
        counts = source.revision_counts(
            builtin_template("istio"), NEVER_SERVED, since=now - timedelta(minutes=1), at=now
        )
    finally:
        source.close()
    # The query is answered, and holds nothing for a revision that never served.
    assert isinstance(counts, NoData) and counts.kind is NoDataKind.NO_DATA, counts


@pytest.mark.parametrize(
    ("missing", "kind", "reason"),
    [
        ("ca", NoDataKind.UNREACHABLE, "certificate verify failed"),
        ("token", NoDataKind.AUTH, "HTTP 401 for up[60000ms]: missing or wrong bearer token"),
        ("header", NoDataKind.AUTH, "HTTP 403 for up[60000ms]: no X-Scope-OrgID header"),
    ],
)
def test_the_analysis_source_says_what_is_missing(
    reach: PrometheusConnection, missing: str, kind: NoDataKind, reason: str
) -> None:
    reasons: list[NoDataKind] = []
    http = PrometheusHttp(without(reach, missing))
    source = PrometheusSource.connect(without(reach, missing), on_query_error=reasons.append)
    now = datetime.now(UTC)
    try:
        failed = http.range_vector(SCRAPED, window_s=60, at=now)
        counted = source.revision_counts(
            builtin_template("istio"), NEVER_SERVED, since=now - timedelta(minutes=1), at=now
        )
    finally:
        http.close()
        source.close()
    assert isinstance(failed, NoData) and failed.kind is kind and reason in failed.reason, failed
    assert isinstance(counted, NoData) and counted.kind is kind
    assert reasons and set(reasons) == {kind}


def test_the_reports_range_query_reads_through_tls_with_token_and_header(
    reach: PrometheusConnection,
) -> None:
    end = datetime.now(UTC)
    prometheus = PrometheusRange(reach)
    try:
        found = prometheus.query(SCRAPED, end - timedelta(seconds=30), end, 1.0)
    finally:
        prometheus.close()
    assert isinstance(found, list) and found and all(s.points for s in found), found


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("token", "Prometheus refused up: missing or wrong bearer token"),
        ("header", "Prometheus refused up: no X-Scope-OrgID header for a known tenant"),
    ],
)
def test_the_reports_range_query_says_what_is_missing(
    reach: PrometheusConnection, missing: str, message: str
) -> None:
    end = datetime.now(UTC)
    prometheus = PrometheusRange(without(reach, missing))
    try:
        refused = prometheus.query(SCRAPED, end - timedelta(seconds=30), end, 1.0)
    finally:
        prometheus.close()
    assert refused == Missing(message)


def test_the_reports_range_query_without_the_ca_cannot_reach_prometheus(
    reach: PrometheusConnection,
) -> None:
    end = datetime.now(UTC)
    prometheus = PrometheusRange(without(reach, "ca"))
    try:
        with pytest.raises(PrometheusUnreachable) as unreachable:
            prometheus.query(SCRAPED, end - timedelta(seconds=30), end, 1.0)
    finally:
        prometheus.close()
    assert f"cannot reach Prometheus at {reach.url}" in str(unreachable.value)
    assert "certificate verify failed" in str(unreachable.value)

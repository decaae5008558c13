"""The HTTP side of the Prometheus source: one request per query, failures as data, auth and TLS."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from stub_prometheus import StubPrometheus, TlsFiles

from analysis.increase import Series
from analysis.prometheus import PrometheusSource
from analysis.prometheus_connection import PrometheusConnection
from analysis.prometheus_http import PrometheusHttp
from analysis.query_result import NoData, NoDataKind
from analysis.templates import RevisionRef, builtin_template

AT = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
REVISION = RevisionRef(namespace="models", isvc="iris", workload="iris-predictor")


def matrix(*series: tuple[dict[str, str], list[tuple[float, str]]]) -> dict[str, object]:
    return {
        "status": "success",
        "data": {
            "resultType": "matrix",
            "result": [{"metric": labels, "values": values} for labels, values in series],
        },
    }


def query(http: PrometheusHttp) -> list[Series] | NoData:
    return http.range_vector('up{job="x"}', window_s=60, at=AT)


@pytest.mark.parametrize("status", [503, 502, 500, 504, 429])
def test_a_failing_answer_is_asked_exactly_once(
    stub_prometheus: StubPrometheus, status: int
) -> None:
    stub_prometheus.answer(status, {"status": "error", "error": "overloaded"})
    http = PrometheusHttp(PrometheusConnection(stub_prometheus.url, timeout_s=2))
    result = query(http)
    assert isinstance(result, NoData)
    assert result.kind is (NoDataKind.HTTP_5XX if status >= 500 else NoDataKind.HTTP_4XX)
    assert len(stub_prometheus.requests) == 1
    assert http.queries_made == 1


def test_a_server_that_never_answers_is_a_timeout_within_the_timeout(silent_server: str) -> None:
    http = PrometheusHttp(PrometheusConnection(silent_server, timeout_s=0.3))
    began = time.monotonic()
    result = query(http)
    assert isinstance(result, NoData) and result.kind is NoDataKind.TIMEOUT
    assert time.monotonic() - began < 1.5


def test_a_refused_connection_is_unreachable(closed_port_url: str) -> None:
    result = query(PrometheusHttp(PrometheusConnection(closed_port_url, timeout_s=2)))
    assert isinstance(result, NoData) and result.kind is NoDataKind.UNREACHABLE
    assert "refused" in result.reason.lower()


def test_bad_promql_is_a_bad_query_with_prometheus_message(stub_prometheus: StubPrometheus) -> None:
    stub_prometheus.answer(
        400, {"status": "error", "errorType": "bad_data", "error": "parse error: unexpected }"}
    )
    result = query(PrometheusHttp(PrometheusConnection(stub_prometheus.url, timeout_s=2)))
    assert isinstance(result, NoData) and result.kind is NoDataKind.BAD_QUERY
    assert "parse error: unexpected }" in result.reason
    assert result.reason.startswith("bad_query: HTTP 400")


@pytest.mark.parametrize(
    ("status", "error_type", "kind"),
    [
        (422, "execution", NoDataKind.BAD_QUERY),
        (503, "timeout", NoDataKind.TIMEOUT),
        (401, None, NoDataKind.AUTH),
        (403, None, NoDataKind.AUTH),
        (404, None, NoDataKind.HTTP_4XX),
    ],
)
def test_http_errors_get_their_reason(
    stub_prometheus: StubPrometheus, status: int, error_type: str | None, kind: NoDataKind
) -> None:
    stub_prometheus.answer(status, {"status": "error", "errorType": error_type, "error": "x"})
    result = query(PrometheusHttp(PrometheusConnection(stub_prometheus.url, timeout_s=2)))
    assert isinstance(result, NoData) and result.kind is kind


def test_an_answer_that_is_not_json_is_a_bad_response(stub_prometheus: StubPrometheus) -> None:
    stub_prometheus.answer(200, b"<html>login</html>")
    result = query(PrometheusHttp(PrometheusConnection(stub_prometheus.url, timeout_s=2)))
    assert isinstance(result, NoData) and result.kind is NoDataKind.BAD_RESPONSE


def test_an_instant_vector_instead_of_a_matrix_is_a_bad_response(
    stub_prometheus: StubPrometheus,
) -> None:
    stub_prometheus.answer(
        200,
        {
            "status": "success",
            "data": {"resultType": "vector", "result": [{"metric": {}, "value": [1, "2"]}]},
        },
    )
    result = query(PrometheusHttp(PrometheusConnection(stub_prometheus.url, timeout_s=2)))
    assert isinstance(result, NoData) and result.kind is NoDataKind.BAD_RESPONSE


def test_the_query_is_a_range_selector_at_the_evaluation_time(
    stub_prometheus: StubPrometheus,
) -> None:
    stub_prometheus.answer(200, matrix(({"pod": "a"}, [(1.5, "3"), (2.5, "4")])))
    http = PrometheusHttp(PrometheusConnection(stub_prometheus.url, timeout_s=2.5))
    result = http.range_vector('up{job="x"}', window_s=90.25, at=AT)
    assert result == [Series(labels={"pod": "a"}, samples=((1.5, 3.0), (2.5, 4.0)))]
    (request,) = stub_prometheus.requests
    assert request.path == "/api/v1/query"
    assert request.params["query"] == ['up{job="x"}[90250ms]']
    assert request.params["time"] == [f"{AT.timestamp():.3f}"]
    # Prometheus takes float seconds; "2.5s" would be a 400 (durations have no fractions).
    assert request.params["timeout"] == ["2.5"]


def test_the_bearer_token_and_extra_headers_are_sent(stub_prometheus: StubPrometheus) -> None:
    http = PrometheusHttp(
        PrometheusConnection(
            stub_prometheus.url,
            timeout_s=2,
            bearer_token="s3cret",
            headers={"X-Scope-OrgID": "team-a"},
        )
    )
    query(http)
    headers = stub_prometheus.requests[0].headers
    assert headers["Authorization"] == "Bearer s3cret"
    assert headers["X-Scope-OrgID"] == "team-a"


def test_the_token_file_is_read_again_for_each_query(
    stub_prometheus: StubPrometheus, tmp_path: Path
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("first\n")
    http = PrometheusHttp(
        PrometheusConnection(stub_prometheus.url, timeout_s=2, bearer_token_file=token_file)
    )
    query(http)
    token_file.write_text("rotated\n")
    query(http)
    assert [r.headers["Authorization"] for r in stub_prometheus.requests] == [
        "Bearer first",
        "Bearer rotated",
    ]


def test_basic_auth_files_are_read_again_for_each_query(
    stub_prometheus: StubPrometheus, tmp_path: Path
) -> None:
    username, password = tmp_path / "username", tmp_path / "password"
    username.write_text("kcanary\n")
    password.write_text("first\n")
    http = PrometheusHttp(
        PrometheusConnection(
            stub_prometheus.url,
            timeout_s=2,
            basic_auth_username_file=username,
            basic_auth_password_file=password,
        )
    )
    query(http)
    password.write_text("rotated\n")
    query(http)
    sent = [r.headers["Authorization"] for r in stub_prometheus.requests]
    assert sent == [
        "Basic " + base64.b64encode(b"kcanary:first").decode(),
        "Basic " + base64.b64encode(b"kcanary:rotated").decode(),
    ]


def test_a_token_file_that_disappears_is_an_auth_failure(
    stub_prometheus: StubPrometheus, tmp_path: Path
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("t")
    http = PrometheusHttp(
        PrometheusConnection(stub_prometheus.url, timeout_s=2, bearer_token_file=token_file)
    )
    token_file.unlink()
    result = query(http)
    assert isinstance(result, NoData) and result.kind is NoDataKind.AUTH
    assert stub_prometheus.requests == []


def test_tls_is_verified_against_the_given_ca(
    stub_prometheus_tls: StubPrometheus, tls_files: TlsFiles
) -> None:
    trusting = PrometheusHttp(
        PrometheusConnection(stub_prometheus_tls.url, timeout_s=2, ca_file=tls_files.ca_file)
    )
    assert query(trusting) == []
    default = query(PrometheusHttp(PrometheusConnection(stub_prometheus_tls.url, timeout_s=2)))
    assert isinstance(default, NoData) and default.kind is NoDataKind.UNREACHABLE
    assert "certificate" in default.reason.lower()


def test_tls_verification_can_be_turned_off(stub_prometheus_tls: StubPrometheus) -> None:
    # pytest turns warnings into errors here, so this also shows no InsecureRequestWarning leaks.
    assert (
        query(
            PrometheusHttp(
                PrometheusConnection(
                    stub_prometheus_tls.url, timeout_s=2, insecure_skip_verify=True
                )
            )
        )
        == []
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"url": "prometheus:9090"}, "must start with http:// or https://"),
        ({"timeout_s": 0}, "timeout must be a positive"),
        ({"bearer_token": "a", "bearer_token_file": Path("b")}, "not both"),
        (
            {"bearer_token_file": Path("/nonexistent/token")},
            "token file '/nonexistent/token' does not exist",
        ),
        ({"ca_file": Path("/nonexistent/ca.pem")}, "CA file '/nonexistent/ca.pem' does not exist"),
        ({"ca_file": Path("x"), "insecure_skip_verify": True}, "not both"),
    ],
)
def test_settings_that_cannot_work_are_refused_at_construction(
    kwargs: dict[str, object], message: str
) -> None:
    settings: dict[str, object] = {"url": "http://prometheus:9090", "timeout_s": 5, **kwargs}
    with pytest.raises(ValueError, match=message):
        PrometheusConnection(**settings)  # type: ignore[arg-type]


def test_an_unreachable_prometheus_costs_one_query_per_revision_and_is_counted(
    closed_port_url: str,
) -> None:
    reasons: list[NoDataKind] = []
    source = PrometheusSource.connect(
        PrometheusConnection(closed_port_url, timeout_s=2), on_query_error=reasons.append
    )
    result = source.revision_counts(
        builtin_template("istio"), REVISION, since=AT, at=AT.replace(minute=5)
    )
    assert isinstance(result, NoData) and result.kind is NoDataKind.UNREACHABLE
    assert source.queries_made == 1
    assert reasons == [NoDataKind.UNREACHABLE]


def test_a_hung_prometheus_yields_no_data_within_one_timeout(silent_server: str) -> None:
    source = PrometheusSource.connect(PrometheusConnection(silent_server, timeout_s=0.3))
    began = time.monotonic()
    result = source.revision_counts(
        builtin_template("istio"), REVISION, since=AT, at=AT.replace(minute=5)
    )
    assert isinstance(result, NoData) and result.kind is NoDataKind.TIMEOUT
    assert time.monotonic() - began < 1.5

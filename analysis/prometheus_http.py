"""Talking to Prometheus' HTTP API: one request per query, failures turned into `NoData`.

Built on prometheus-api-client's `PrometheusConnect` as `PrometheusConnection` sets it up (TLS,
authentication, headers, no retries: inside an analysis tick a retry would hide an outage and
stretch the tick; the next tick is the retry). Every request has an explicit timeout (connect and
each read), also sent to Prometheus as the query's `timeout` parameter so that it stops evaluating
a query nobody waits for. The timeout is per socket operation, as in `requests`: a server that
trickles bytes can take longer.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

import requests
from prometheus_api_client.exceptions import PrometheusApiClientException

from analysis.increase import Series
from analysis.prometheus_connection import PrometheusConnection, refusal, root_cause
from analysis.query_result import NoData, NoDataKind


class PrometheusHttp:
    """Instant queries against one Prometheus, returning raw series or `NoData`."""

    def __init__(self, connection: PrometheusConnection) -> None:
        self.url = connection.url.rstrip("/")
        self.timeout_s = connection.timeout_s
        self._queries = 0
        self._count_lock = threading.Lock()
        self._connect = connection.client()

    @property
    def queries_made(self) -> int:
        """HTTP requests sent so far: one per query, whatever the outcome."""
        return self._queries

    def close(self) -> None:
        self._connect.close()

    def range_vector(
        self, selector: str, *, window_s: float, at: datetime
    ) -> list[Series] | NoData:
        """The raw samples of `selector` in the `window_s` seconds up to `at`."""
        query = f"{selector}[{max(1, round(window_s * 1000))}ms]"
        with self._count_lock:
            self._queries += 1
        try:
            result = self._connect.custom_query(
                query, params={"time": f"{at.timestamp():.3f}", "timeout": f"{self.timeout_s:g}"}
            )
        except requests.exceptions.Timeout as error:
            return NoData.because(
                NoDataKind.TIMEOUT,
                f"no answer within {self.timeout_s}s from {self.url} ({type(error).__name__})",
            )
        except requests.exceptions.JSONDecodeError as error:
            return NoData.because(
                NoDataKind.BAD_RESPONSE, f"{self.url} answered with non-JSON: {error}"
            )
        except requests.exceptions.ConnectionError as error:
            return NoData.because(NoDataKind.UNREACHABLE, f"{self.url}: {root_cause(error)}")
        except requests.exceptions.RequestException as error:
            return NoData.because(NoDataKind.UNREACHABLE, f"{self.url}: {error}")
        except OSError as error:  # a secret's file, read by the auth hook
            return NoData.because(
                NoDataKind.AUTH, f"cannot read a Prometheus credentials file: {error}"
            )
        except PrometheusApiClientException as error:
            return _http_error(str(error), query)
        return _parse_matrix(result, query)


def _http_error(message: str, query: str) -> NoData:
    answer = refusal(message)
    if answer is None:
        return NoData.because(NoDataKind.BAD_RESPONSE, message)
    status = answer.status
    detail = f"HTTP {status} for {query}: {answer.error or answer.body[:200]}"
    if answer.error_type == "timeout":
        return NoData.because(NoDataKind.TIMEOUT, detail)
    if status in (400, 422) or answer.error_type == "bad_data":
        return NoData.because(NoDataKind.BAD_QUERY, detail)
    if status in (401, 403):
        return NoData.because(NoDataKind.AUTH, detail)
    if status >= 500:
        return NoData.because(NoDataKind.HTTP_5XX, detail)
    return NoData.because(NoDataKind.HTTP_4XX, detail)


def _parse_matrix(result: Any, query: str) -> list[Series] | NoData:
    try:
        series = [
            Series(
                labels={str(k): str(v) for k, v in item["metric"].items()},
                samples=tuple((float(t), float(v)) for t, v in item["values"]),
            )
            for item in result
        ]
    except (KeyError, TypeError, ValueError, AttributeError):
        return NoData.because(
            NoDataKind.BAD_RESPONSE,
            f"{query} did not return a range vector (series with samples)",
        )
    return series

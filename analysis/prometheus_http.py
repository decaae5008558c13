"""Talking to Prometheus' HTTP API: one request per query, failures turned into `NoData`.

Built on prometheus-api-client's `PrometheusConnect`, with three things changed from its defaults:

- no retries: the library mounts a urllib3 `Retry` that tries three more times with backoff on
  408/429/5xx and on connection errors. Inside an analysis tick that hides an outage and stretches
  the tick by seconds; the next tick is the retry. So a `Retry` that retries nothing is mounted;
- an explicit timeout on every request (connect and each read), also sent to Prometheus as the
  query's `timeout` parameter so that it stops evaluating a query nobody waits for. The timeout is
  per socket operation, as in `requests`: a server that trickles bytes can take longer;
- authentication and TLS from a session of our own: a bearer token (read from its file on every
  query, because projected service-account tokens rotate), extra headers, a CA bundle or no
  verification at all.
"""

from __future__ import annotations

import ast
import json
import re
import threading
import warnings
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import requests
import urllib3
from prometheus_api_client import PrometheusConnect
from prometheus_api_client.exceptions import PrometheusApiClientException
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from analysis.increase import Series
from analysis.query_result import NoData, NoDataKind

_STATUS = re.compile(r"HTTP Status Code (\d+) \((.*)\)\Z", re.DOTALL)


class _BearerToken(requests.auth.AuthBase):
    """Adds `Authorization: Bearer ...`, re-reading the token file on each request."""

    def __init__(self, token: str | None, token_file: Path | None) -> None:
        self._token = token
        self._token_file = token_file

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        token = self._token
        if self._token_file is not None:
            token = self._token_file.read_text().strip()
        request.headers["Authorization"] = f"Bearer {token}"
        return request


class PrometheusHttp:
    """Instant queries against one Prometheus, returning raw series or `NoData`.

    Raises ValueError at construction for settings that can never work (no URL scheme, both a
    token and a token file, a missing CA file), so a misconfigured controller fails at start-up.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float,
        token: str | None = None,
        token_file: str | Path | None = None,
        headers: Mapping[str, str] | None = None,
        ca_file: str | Path | None = None,
        insecure: bool = False,
    ) -> None:
        if not re.match(r"https?://[^/]", url):
            raise ValueError(
                f"Prometheus URL {url!r} must start with http:// or https:// and name a host"
            )
        if not timeout_s > 0:
            raise ValueError(
                f"Prometheus timeout must be a positive number of seconds, got {timeout_s}"
            )
        if token is not None and token_file is not None:
            raise ValueError("give either a Prometheus bearer token or a token file, not both")
        token_path = Path(token_file) if token_file is not None else None
        if token_path is not None and not token_path.is_file():
            raise ValueError(f"Prometheus token file {str(token_path)!r} does not exist")
        if ca_file is not None and insecure:
            raise ValueError("give either a CA file or insecure (no TLS verification), not both")
        if ca_file is not None and not Path(ca_file).is_file():
            raise ValueError(f"Prometheus CA file {str(ca_file)!r} does not exist")

        self.url = url.rstrip("/")
        self.timeout_s = timeout_s
        self._queries = 0
        self._count_lock = threading.Lock()
        session = requests.Session()
        session.verify = str(ca_file) if ca_file is not None else not insecure
        if insecure:
            # The user turned verification off on purpose; urllib3 would warn on every query.
            warnings.filterwarnings("ignore", category=urllib3.exceptions.InsecureRequestWarning)
        auth = _BearerToken(token, token_path) if token or token_path else None
        no_retry = Retry(
            total=0, connect=0, read=False, redirect=0, status=0, other=0, raise_on_status=False
        )
        self._connect = PrometheusConnect(
            url=self.url,
            headers=dict(headers) if headers else None,
            retry=no_retry,
            auth=auth,
            session=session,
            timeout=timeout_s,
        )
        # PrometheusConnect mounts its adapter for its URL prefix only; mount the same no-retry
        # adapter for the scheme too, so nothing falls back to requests' defaults.
        session.mount(self.url.split("://")[0] + "://", HTTPAdapter(max_retries=no_retry))

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
            return NoData.because(NoDataKind.UNREACHABLE, f"{self.url}: {_root_cause(error)}")
        except requests.exceptions.RequestException as error:
            return NoData.because(NoDataKind.UNREACHABLE, f"{self.url}: {error}")
        except OSError as error:  # the token file, read by the auth hook
            return NoData.because(
                NoDataKind.AUTH, f"cannot read the Prometheus token file: {error}"
            )
        except PrometheusApiClientException as error:
            return _http_error(str(error), query)
        return _parse_matrix(result, query)


def _root_cause(error: BaseException) -> str:
    """The innermost reason of a connection error, which is the part worth reading."""
    cause: BaseException = error
    for _ in range(10):  # urllib3 wraps a few levels deep; never follow a cycle forever
        inner = getattr(cause, "reason", None) or cause.__context__
        if not isinstance(inner, BaseException) or inner is cause:
            break
        cause = inner
    return str(cause)


def _http_error(message: str, query: str) -> NoData:
    match = _STATUS.match(message)
    if match is None:
        return NoData.because(NoDataKind.BAD_RESPONSE, message)
    status = int(match.group(1))
    body = match.group(2)
    error_type, text = _prometheus_error(body)
    detail = f"HTTP {status} for {query}: {text}"
    if error_type == "timeout":
        return NoData.because(NoDataKind.TIMEOUT, detail)
    if status in (400, 422) or error_type == "bad_data":
        return NoData.because(NoDataKind.BAD_QUERY, detail)
    if status in (401, 403):
        return NoData.because(NoDataKind.AUTH, detail)
    if status >= 500:
        return NoData.because(NoDataKind.HTTP_5XX, detail)
    return NoData.because(NoDataKind.HTTP_4XX, detail)


def _prometheus_error(body_repr: str) -> tuple[str | None, str]:
    """Prometheus' `{"errorType", "error"}` from the library's repr() of the response body."""
    try:
        body = ast.literal_eval(body_repr)
        document = json.loads(body)
        return str(document.get("errorType")), str(document.get("error"))
    except (ValueError, SyntaxError, TypeError, AttributeError):
        return None, body_repr[:200]


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

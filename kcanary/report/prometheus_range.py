"""Range queries against Prometheus for the report's plots.

Unlike the analysis, which reads raw samples to count exactly, a picture of a rollout is served
well by Prometheus's own `query_range`: rates and quantiles evaluated at evenly spaced times. A
query that cannot be answered is not an exception but a `Missing` with a one-line reason, so the
report can still draw everything else and say what it could not. The queries go through
prometheus-api-client with the same `PrometheusConnection` (TLS, authentication, headers, timeout)
as the controller's analysis.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import requests
from prometheus_api_client.exceptions import PrometheusApiClientException

from analysis.prometheus_connection import PrometheusConnection, refusal


@dataclass(frozen=True)
class Series:
    """One series of a range query: its labels and (time, value) points, NaNs dropped."""

    labels: dict[str, str]
    points: tuple[tuple[datetime, float], ...]


@dataclass(frozen=True)
class Missing:
    """Why a query gave nothing to draw."""

    reason: str


class PrometheusUnreachable(Exception):
    """Prometheus did not answer at all: every further query would fail the same way."""


class RangeQueries(Protocol):
    """What the report asks of Prometheus (a test can stand in for it)."""

    def query(
        self, expr: str, start: datetime, end: datetime, step_s: float
    ) -> list[Series] | Missing: ...


class PrometheusRange:
    """`query_range` over HTTP, with one step for the whole report."""

    def __init__(self, connection: PrometheusConnection) -> None:
        self._url = connection.url.rstrip("/")
        self._connect = connection.client()

    @property
    def url(self) -> str:
        return self._url

    def close(self) -> None:
        self._connect.close()

    def query(
        self, expr: str, start: datetime, end: datetime, step_s: float
    ) -> list[Series] | Missing:
        """Every series `expr` gives between `start` and `end`; raises PrometheusUnreachable
        when there is no Prometheus to ask."""
        # The library rounds start and end to whole seconds; these parameters override that.
        exact = {
            "start": f"{start.timestamp():.3f}",
            "end": f"{end.timestamp():.3f}",
            "step": f"{max(step_s, 0.001):.3f}",
        }
        try:
            result: Any = self._connect.custom_query_range(
                expr, start, end, exact["step"], params=exact
            )
        except requests.exceptions.JSONDecodeError:
            return Missing(f"Prometheus answered 200 without JSON for {expr}")
        except requests.RequestException as error:
            raise PrometheusUnreachable(
                f"cannot reach Prometheus at {self._url} ({_root_cause(error)})"
            ) from None
        except OSError as error:  # a credentials file, read by the auth hook
            raise PrometheusUnreachable(
                f"cannot read a Prometheus credentials file ({error})"
            ) from None
        except PrometheusApiClientException as error:
            answer = refusal(str(error))
            if answer is None:
                return Missing(f"Prometheus refused {expr}: {error}")
            if not answer.json:
                return Missing(f"Prometheus answered {answer.status} without JSON for {expr}")
            return Missing(f"Prometheus refused {expr}: {answer.error or answer.status}")
        except (KeyError, TypeError):
            return Missing(f"Prometheus answered without a result for {expr}")
        found = [_series(item) for item in result or []]
        found = [series for series in found if series.points]
        return found if found else Missing(f"no data for {expr}")


def _series(item: Any) -> Series:
    points = []
    for moment, text in item.get("values") or []:
        value = float(text)
        if value == value and abs(value) != float("inf"):  # NaN and Inf are not drawn
            points.append((datetime.fromtimestamp(float(moment), UTC), value))
    return Series(labels=dict(item.get("metric") or {}), points=tuple(points))


def _root_cause(error: BaseException) -> str:
    while error.__context__ is not None and error.__context__ is not error:
        error = error.__context__
    return type(error).__name__ + (f": {error}" if str(error) else "")

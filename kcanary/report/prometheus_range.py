"""Range queries against Prometheus for the report's plots.

Unlike the analysis, which reads raw samples to count exactly, a picture of a rollout is served
well by Prometheus's own `query_range`: rates and quantiles evaluated at evenly spaced times. A
query that cannot be answered is not an exception but a `Missing` with a one-line reason, so the
report can still draw everything else and say what it could not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import requests


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

    def __init__(self, url: str, *, timeout_s: float = 10.0) -> None:
        self._url = url.rstrip("/")
        self._timeout_s = timeout_s
        self._session = requests.Session()

    @property
    def url(self) -> str:
        return self._url

    def close(self) -> None:
        self._session.close()

    def query(
        self, expr: str, start: datetime, end: datetime, step_s: float
    ) -> list[Series] | Missing:
        """Every series `expr` gives between `start` and `end`; raises PrometheusUnreachable
        when there is no Prometheus to ask."""
        params = {
            "query": expr,
            "start": f"{start.timestamp():.3f}",
            "end": f"{end.timestamp():.3f}",
            "step": f"{max(step_s, 0.001):.3f}",
        }
        try:
            response = self._session.get(
                f"{self._url}/api/v1/query_range", params=params, timeout=self._timeout_s
            )
        except requests.RequestException as error:
            raise PrometheusUnreachable(
                f"cannot reach Prometheus at {self._url} ({_root_cause(error)})"
            ) from None
        try:
            body: Any = response.json()
        except ValueError:
            return Missing(f"Prometheus answered {response.status_code} without JSON for {expr}")
        if response.status_code != 200 or body.get("status") != "success":
            return Missing(f"Prometheus refused {expr}: {body.get('error', response.status_code)}")
        found = [_series(item) for item in (body.get("data") or {}).get("result") or []]
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

"""What a Prometheus query gives back when it gives back no counts.

A query that fails or finds nothing is not an exception: the caller (one analysis tick) must decide
what to do with it under the rollout's no-data policy, and the controller counts it in
`kcanary_prometheus_query_errors_total{reason}`. So failures are values, `NoData`, whose `kind` is
one of a small fixed set suitable as a metric label and whose `detail` is for people.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum


class NoDataKind(StrEnum):
    """Why a query produced no counts; the values are the `reason` label of the error counter."""

    TIMEOUT = "timeout"
    """Prometheus did not answer within the timeout, or reported that the query timed out."""
    UNREACHABLE = "unreachable"
    """Connection refused or reset, DNS or TLS failure: Prometheus could not be talked to."""
    HTTP_5XX = "http_5xx"
    """Prometheus (or a proxy in front of it) answered with a server error."""
    AUTH = "auth"
    """401 or 403, or the bearer token file could not be read."""
    HTTP_4XX = "http_4xx"
    """Any other client error, such as 404 from a wrong URL path prefix."""
    BAD_QUERY = "bad_query"
    """Prometheus rejected the PromQL (400 or 422): a template or custom query needs fixing."""
    BAD_RESPONSE = "bad_response"
    """The answer was not the JSON a range-vector query returns."""
    NO_DATA = "no_data"
    """The query worked but no series matched."""
    STALE = "stale"
    """Series matched, but none has a sample for several scrape intervals: the targets are not
    being scraped (a pod's metrics endpoint down, a starved node), so the counts stopped short."""


@dataclass(frozen=True)
class NoData:
    """A query that produced no counts, with the reason.

    `reason` is for people and reads like `unreachable: connection refused (http://...)`;
    `kind` is for the error counter. `NoData.because(kind, detail)` builds both.
    """

    reason: str
    kind: NoDataKind = NoDataKind.NO_DATA

    @classmethod
    def because(cls, kind: NoDataKind, detail: str) -> NoData:
        return cls(f"{kind.value}: {detail}", kind)

    def __str__(self) -> str:
        return self.reason


QueryErrorHook = Callable[[NoDataKind], None]
"""Called once per failed or empty query, so the controller can count it by reason."""

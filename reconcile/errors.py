"""The controller's exceptions for Kubernetes API failures, wrapping the client's.

Only ``reconcile`` talks to the ``kubernetes`` client; whatever it raises (``ApiException``,
urllib3 and socket errors) is turned into one of these at that boundary, so the rest of the
controller catches ``APINotFound`` or ``APIConflict`` rather than inspecting HTTP codes. Each
class is also the matching :mod:`traffic.store` error, so routers handle them through the store
protocol without knowing this module.

=================  =======================================  ===========================
class              when                                     store error it also is
=================  =======================================  ===========================
APINotFound        404                                      traffic.store.NotFound
APIAlreadyExists   409, reason AlreadyExists                traffic.store.AlreadyExists
APIConflict        409, any other reason (stale version)    traffic.store.Conflict
APIGone            410 (a watch's resourceVersion is gone)  -
APIInvalid         400, 415, 422                            traffic.store.Invalid
APIForbidden       401, 403                                 traffic.store.Forbidden
APIUnavailable     429, 5xx, no connection, timeouts, TLS   traffic.store.StoreUnavailable
APIError           anything else                            traffic.store.StoreError
=================  =======================================  ===========================
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import urllib3
from kubernetes.client.exceptions import ApiException

from traffic.store import (
    AlreadyExists,
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    ObjectRef,
    StoreError,
    StoreUnavailable,
)

__all__ = [
    "APIAlreadyExists",
    "APIConflict",
    "APIError",
    "APIForbidden",
    "APIGone",
    "APIInvalid",
    "APINotFound",
    "APIUnavailable",
    "api_error",
    "from_api_exception",
    "from_status",
    "translated_api_errors",
]


class APIError(StoreError):
    """A Kubernetes API request failed; ``status`` and ``reason`` come from the server."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        reason: str = "",
        ref: ObjectRef | None = None,
    ) -> None:
        super().__init__(message, ref=ref)
        self.status = status
        self.reason = reason


class APINotFound(APIError, NotFound):
    """The object (or its namespace, or its resource type) does not exist."""


class APIAlreadyExists(APIError, AlreadyExists):
    """A create found the name taken."""


class APIConflict(APIError, Conflict):
    """A write carried a resourceVersion older than the stored one: re-read and retry."""


class APIGone(APIError):
    """The requested resourceVersion is no longer in the server's history: list again."""


class APIInvalid(APIError, Invalid):
    """The server refused the request body (validation, patch format, media type)."""


class APIForbidden(APIError, Forbidden):
    """Authentication failed or RBAC does not allow the request."""


class APIUnavailable(APIError, StoreUnavailable):
    """The server could not be reached or could not answer now; retrying later may work."""


def api_error(
    status: int, body: bytes | str | None, *, ref: ObjectRef | None = None, fallback: str = ""
) -> APIError:
    """The error for an HTTP ``status`` whose body is (usually) a ``Status`` object."""
    details = _decode_status(body)
    reason = str(details.get("reason") or "")
    message = str(details.get("message") or fallback or _text(body) or f"HTTP {status}")
    if ref is not None and str(ref) not in message:
        message = f"{ref}: {message}"
    return _error_class(status, reason)(message, status=status, reason=reason, ref=ref)


def from_status(status: Mapping[str, Any], *, ref: ObjectRef | None = None) -> APIError:
    """The error a ``Status`` object describes (as in a watch stream's ERROR event)."""
    code = status.get("code")
    return api_error(int(code) if isinstance(code, int) else 500, json.dumps(dict(status)), ref=ref)


def from_api_exception(error: ApiException, *, ref: ObjectRef | None = None) -> APIError:
    """Our error for the client's ``ApiException`` (status 0 means no HTTP answer at all)."""
    status = int(error.status or 0)
    if status == 0:
        return APIUnavailable(
            f"{ref}: cannot reach the API server: {error.reason}"
            if ref
            else f"cannot reach the API server: {error.reason}",
            reason=str(error.reason or ""),
            ref=ref,
        )
    return api_error(status, error.body, ref=ref, fallback=str(error.reason or ""))


@contextmanager
def translated_api_errors(ref: ObjectRef | None = None) -> Iterator[None]:
    """Run a client call, raising our errors for the client's and the network's."""
    try:
        yield
    except ApiException as error:
        raise from_api_exception(error, ref=ref) from error
    except (urllib3.exceptions.HTTPError, OSError) as error:
        where = f"{ref}: " if ref else ""
        raise APIUnavailable(f"{where}cannot reach the API server: {error}", ref=ref) from error


def _error_class(status: int, reason: str) -> type[APIError]:
    if status == 404:
        return APINotFound
    if status == 409:
        return APIAlreadyExists if reason == "AlreadyExists" else APIConflict
    if status == 410:
        return APIGone
    if status in (400, 415, 422):
        return APIInvalid
    if status in (401, 403):
        return APIForbidden
    if status == 429 or status >= 500:
        return APIUnavailable
    return APIError


def _decode_status(body: bytes | str | None) -> dict[str, Any]:
    if not body:
        return {}
    try:
        decoded = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return {}
    return decoded if isinstance(decoded, dict) else {}


def _text(body: bytes | str | None) -> str:
    if isinstance(body, bytes):
        return body.decode("utf-8", "replace").strip()[:500]
    return (body or "").strip()[:500]

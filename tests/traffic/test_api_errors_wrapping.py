"""The client's exceptions become the controller's, which are also the routers' store errors."""

from __future__ import annotations

import json

import pytest
import urllib3
from kubernetes.client.exceptions import ApiException

from reconcile import errors
from traffic import store
from traffic.istio import VIRTUAL_SERVICE

REF = store.ObjectRef(VIRTUAL_SERVICE, "models", "iris-kcanary")


def status_body(code: int, reason: str, message: str) -> str:
    return json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                       "code": code, "reason": reason, "message": message})  # fmt: skip


@pytest.mark.parametrize(
    ("code", "reason", "api_class", "store_class"),
    [
        (404, "NotFound", errors.APINotFound, store.NotFound),
        (409, "AlreadyExists", errors.APIAlreadyExists, store.AlreadyExists),
        (409, "Conflict", errors.APIConflict, store.Conflict),
        (422, "Invalid", errors.APIInvalid, store.Invalid),
        (415, "UnsupportedMediaType", errors.APIInvalid, store.Invalid),
        (403, "Forbidden", errors.APIForbidden, store.Forbidden),
        (503, "ServiceUnavailable", errors.APIUnavailable, store.StoreUnavailable),
        (429, "TooManyRequests", errors.APIUnavailable, store.StoreUnavailable),
        (410, "Expired", errors.APIGone, errors.APIError),
        (418, "Teapot", errors.APIError, store.StoreError),
    ],
)  # fmt: skip
def test_http_statuses_map_to_one_error_class_each(
    code: int, reason: str, api_class: type[errors.APIError], store_class: type[Exception]
) -> None:
    error = errors.from_api_exception(
        ApiException(status=code, reason=reason, body=status_body(code, reason, "it failed")),
        ref=REF,
    )
    assert type(error) is api_class
    assert isinstance(error, store_class) and isinstance(error, errors.APIError)
    assert (error.status, error.reason, error.ref) == (code, reason, REF)
    assert str(error) == "VirtualService models/iris-kcanary: it failed"


def test_conflict_and_already_exists_stay_apart() -> None:
    conflict = errors.api_error(409, status_body(409, "Conflict", "modified"))
    assert not isinstance(conflict, store.AlreadyExists)
    exists = errors.api_error(409, status_body(409, "AlreadyExists", "exists"))
    assert not isinstance(exists, store.Conflict)


def test_a_body_that_is_not_a_status_still_gives_a_message() -> None:
    error = errors.api_error(502, b"<html>bad gateway</html>")
    assert isinstance(error, errors.APIUnavailable)
    assert str(error) == "<html>bad gateway</html>"
    assert str(errors.api_error(500, None)) == "HTTP 500"


def test_watch_error_statuses_convert() -> None:
    gone = errors.from_status(
        {"code": 410, "reason": "Expired", "message": "too old resource version"}
    )
    assert isinstance(gone, errors.APIGone) and str(gone) == "too old resource version"


def test_network_failures_become_unavailable() -> None:
    refused = urllib3.exceptions.MaxRetryError(None, "/x", reason=ConnectionRefusedError())  # type: ignore[arg-type]
    match = "VirtualService models/iris-kcanary: cannot reach the API server"
    with pytest.raises(errors.APIUnavailable, match=match), errors.translated_api_errors(REF):
        raise refused
    ssl = ApiException(status=0, reason="SSL: CERTIFICATE_VERIFY_FAILED")
    ssl_match = "cannot reach the API server: SSL"
    with pytest.raises(errors.APIUnavailable, match=ssl_match), errors.translated_api_errors():
        raise ssl
    missing = ApiException(status=404, reason="Not Found", body=status_body(404, "NotFound", "x"))
    with pytest.raises(errors.APINotFound), errors.translated_api_errors():
        raise missing


def test_errors_build_from_a_message_alone() -> None:
    assert str(errors.APIUnavailable("connection refused")) == "connection refused"
    assert errors.APIGone("too old").status is None

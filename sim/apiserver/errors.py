"""Failures as a real kube-apiserver reports them: a `Status` object with the same code, reason,
message and details, so clients (kubectl's messages, the Python client's `ApiException`) see what
they would see against a real cluster.

Handlers raise `StatusError`; the HTTP layer turns it into the response body.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sim.apiserver.resources import ResourceType


class CauseLike(Protocol):
    """One `details.causes[]` entry; `schema.FieldCause` is the usual one."""

    @property
    def reason(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def field(self) -> str: ...


@dataclass(frozen=True)
class Cause:
    """A field-level reason the server itself finds (outside schema validation)."""

    reason: str
    message: str
    field: str = ""


def cause_json(cause: CauseLike) -> dict[str, str]:
    body = {"reason": cause.reason, "message": cause.message}
    if cause.field:
        body["field"] = cause.field
    return body


class StatusError(Exception):
    """A request failed in a way the client should see as a `Status` body."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        *,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.headers = headers or {}

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
        }
        if self.details is not None:
            body["details"] = self.details
        body["code"] = self.code
        return body


def qualified_resource(rtype: ResourceType) -> str:
    """`inferenceservices.serving.kserve.io`, or `configmaps` for the core group."""
    return f"{rtype.plural}.{rtype.group}" if rtype.group else rtype.plural


def qualified_kind(rtype: ResourceType) -> str:
    """`InferenceService.serving.kserve.io`, or `ConfigMap` for the core group."""
    return f"{rtype.kind}.{rtype.group}" if rtype.group else rtype.kind


def _resource_details(rtype: ResourceType, name: str) -> dict[str, Any]:
    details: dict[str, Any] = {"name": name}
    if rtype.group:
        details["group"] = rtype.group
    details["kind"] = rtype.plural
    return details


def not_found(rtype: ResourceType, name: str) -> StatusError:
    return StatusError(
        404,
        "NotFound",
        f'{qualified_resource(rtype)} "{name}" not found',
        details=_resource_details(rtype, name),
    )


def namespace_not_found(namespace: str) -> StatusError:
    return StatusError(
        404,
        "NotFound",
        f'namespaces "{namespace}" not found',
        details={"name": namespace, "kind": "namespaces"},
    )


def namespace_terminating(namespace: str) -> StatusError:
    message = (
        f"unable to create new content in namespace {namespace} because it is being terminated"
    )
    return StatusError(
        403,
        "Forbidden",
        f'namespaces "{namespace}" is forbidden: {message}',
        details={
            "name": namespace,
            "kind": "namespaces",
            "causes": [
                {
                    "reason": "NamespaceTerminating",
                    "message": message,
                    "field": "metadata.namespace",
                }
            ],
        },
    )


def unknown_resource() -> StatusError:
    return StatusError(
        404, "NotFound", "the server could not find the requested resource", details={}
    )


def already_exists(rtype: ResourceType, name: str) -> StatusError:
    return StatusError(
        409,
        "AlreadyExists",
        f'{qualified_resource(rtype)} "{name}" already exists',
        details=_resource_details(rtype, name),
    )


def conflict(rtype: ResourceType, name: str, why: str | None = None) -> StatusError:
    why = why or (
        "the object has been modified; please apply your changes to the latest version "
        "and try again"
    )
    return StatusError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {qualified_resource(rtype)} "{name}": {why}',
        details=_resource_details(rtype, name),
    )


def invalid(rtype: ResourceType, name: str, causes: Sequence[CauseLike]) -> StatusError:
    """422 Invalid; the message lists every cause as the real server's aggregate error does."""
    parts = [_cause_text(cause) for cause in causes]
    summary = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
    details: dict[str, Any] = {"name": name}
    if rtype.group:
        details["group"] = rtype.group
    details["kind"] = rtype.kind
    details["causes"] = [cause_json(cause) for cause in causes]
    return StatusError(
        422,
        "Invalid",
        f'{qualified_kind(rtype)} "{name}" is invalid: {summary}',
        details=details,
    )


def _cause_text(cause: CauseLike) -> str:
    return f"{cause.field}: {cause.message}" if cause.field else cause.message


def bad_request(message: str) -> StatusError:
    return StatusError(400, "BadRequest", message)


def method_not_allowed() -> StatusError:
    return StatusError(
        405,
        "MethodNotAllowed",
        "the server does not allow this method on the requested resource",
        details={},
    )


def unsupported_media_type(accepted: Sequence[str]) -> StatusError:
    return StatusError(
        415,
        "UnsupportedMediaType",
        "the body of the request was in an unknown format - accepted media types include: "
        + ", ".join(accepted),
    )


def not_acceptable(accepted: Sequence[str]) -> StatusError:
    return StatusError(
        406,
        "NotAcceptable",
        "only the following media types are accepted: " + ", ".join(accepted),
    )


def expired(message: str) -> StatusError:
    return StatusError(410, "Expired", message)


def unauthorized() -> StatusError:
    return StatusError(401, "Unauthorized", "Unauthorized")


def too_many_requests(retry_after: int) -> StatusError:
    return StatusError(
        429,
        "TooManyRequests",
        "the server has received too many requests and has asked us to try again later",
        details={"causes": [{"reason": "RetryAfter"}], "retryAfterSeconds": retry_after},
        headers={"Retry-After": str(retry_after)},
    )


def internal_error(message: str) -> StatusError:
    return StatusError(
        500,
        "InternalError",
        f"Internal error occurred: {message}",
        details={"causes": [{"message": message}]},
    )


def invalid_options(causes: Sequence[CauseLike], kind: str = "DeleteOptions") -> StatusError:
    """422 for bad request options (DeleteOptions, ListOptions), named as the real server names
    them: `DeleteOptions.meta.k8s.io "" is invalid: ...`."""
    parts = [_cause_text(cause) for cause in causes]
    summary = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
    return StatusError(
        422,
        "Invalid",
        f'{kind}.meta.k8s.io "" is invalid: {summary}',
        details={
            "group": "meta.k8s.io",
            "kind": kind,
            "causes": [cause_json(cause) for cause in causes],
        },
    )

"""A request on a resource and its answer, as the REST verbs see them.

Handlers are independent of the HTTP framework: they take an `APICall` and return a `Reply`
(or raise `StatusError`). Every verb, watches included, first resolves the request's path to
the served type, with the 404 a real server gives for a path it does not serve.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sim.apiserver import errors
from sim.apiserver.identity import UserInfo
from sim.apiserver.registry import TypeRegistry, storage_key
from sim.apiserver.request_info import Representation, ResourceRequest, negotiate
from sim.apiserver.resources import ResourceType


@dataclass(frozen=True)
class APICall:
    """A request on a resource, as the handlers need it."""

    request: ResourceRequest
    query: Mapping[str, str]
    accept: str = ""
    content_type: str = ""
    body: bytes = b""
    user: UserInfo | None = None  # None: the control plane itself
    user_agent: str = ""


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    warnings: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class Target:
    """The resolved resource of a request."""

    rtype: ResourceType
    resource: str  # storage key
    namespace: str  # "" for cluster-scoped kinds


def resolve(registry: TypeRegistry, request: ResourceRequest) -> Target:
    """The served type for a request, or the 404 a real server gives for an unknown path."""
    rtype = registry.resolve(request.group, request.version, request.resource)
    if rtype is None:
        raise errors.unknown_resource()
    if not rtype.namespaced and request.namespace is not None:
        raise errors.unknown_resource()
    if rtype.namespaced and request.namespace is None and request.verb not in ("list", "watch"):
        raise errors.unknown_resource()
    sub = request.subresource
    if sub and not (
        (sub == "status" and rtype.has_status)
        or (sub == "scale" and rtype.scale is not None)
        or (sub == "finalize" and rtype.kind == "Namespace" and not rtype.group)
    ):
        raise errors.unknown_resource()
    return Target(rtype, storage_key(rtype), request.namespace or "")


def wanted_representation(call: APICall) -> Representation:
    """The representation the client's Accept header asks for, or 406."""
    wanted = negotiate(call.accept)
    if wanted is None:
        raise errors.not_acceptable(
            ["application/json", "application/yaml", "application/vnd.kubernetes.protobuf"]
        )
    return wanted

"""What a request asks for: its verb, resource, namespace, name and subresource, and the
representation it wants back, read from the path and headers as kube-apiserver reads them.
"""

from __future__ import annotations

from dataclasses import dataclass

# A namespace's own subresources: `/api/v1/namespaces/NAME/status` is not a resource "status".
_NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})
_TRUE = frozenset({"true", "1"})


@dataclass(frozen=True)
class ResourceRequest:
    """A request on a resource path (`/api/v1/...` or `/apis/GROUP/VERSION/...`)."""

    verb: str  # get list watch create update patch delete deletecollection
    group: str
    version: str
    resource: str
    namespace: str | None  # None: cluster-wide (a cluster-scoped kind, or all namespaces)
    name: str
    subresource: str

    @property
    def is_collection(self) -> bool:
        return not self.name


def parse_resource_path(
    method: str, path: str, *, watch_param: str | None
) -> ResourceRequest | None:
    """Split a resource path; None when it is not one (discovery, OpenAPI, anything else)."""
    parts = [part for part in path.split("/") if part]
    if len(parts) >= 2 and parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    if not rest:
        return None
    watching = (watch_param or "").lower() in _TRUE
    if rest[0] == "watch":  # the deprecated /watch/ path prefix
        watching = True
        rest = rest[1:]
        if not rest:
            return None
    namespace: str | None = None
    if rest[0] == "namespaces" and len(rest) > 1:
        namespace = rest[1]
        if len(rest) > 2 and rest[2] not in _NAMESPACE_SUBRESOURCES:
            rest = rest[2:]
        else:
            # a namespace object itself: /namespaces/NAME[/status]
            rest = ["namespaces", namespace, *rest[2:]]
            namespace = None
    if len(rest) > 3:
        return None
    resource = rest[0]
    name = rest[1] if len(rest) > 1 else ""
    subresource = rest[2] if len(rest) > 2 else ""
    verb = _verb(method, collection=not name, watching=watching)
    if verb is None:
        return None
    return ResourceRequest(
        verb=verb,
        group=group,
        version=version,
        resource=resource,
        namespace=namespace,
        name=name,
        subresource=subresource,
    )


def _verb(method: str, *, collection: bool, watching: bool) -> str | None:
    if method == "GET":
        if watching:
            return "watch"
        return "list" if collection else "get"
    if method == "POST":
        return "create"
    if method == "PUT":
        return "update"
    if method == "PATCH":
        return "patch"
    if method == "DELETE":
        return "deletecollection" if collection else "delete"
    return None


@dataclass(frozen=True)
class MediaType:
    """One entry of an Accept or Content-Type header, with its parameters."""

    type: str
    params: tuple[tuple[str, str], ...]

    def param(self, key: str) -> str:
        for name, value in self.params:
            if name == key:
                return value
        return ""


def parse_media_types(header: str) -> list[MediaType]:
    """`application/json;as=Table;v=v1;g=meta.k8s.io, application/json` -> two entries."""
    entries: list[MediaType] = []
    for item in header.split(","):
        pieces = [piece.strip() for piece in item.split(";")]
        if not pieces[0]:
            continue
        params: list[tuple[str, str]] = []
        for piece in pieces[1:]:
            key, _, value = piece.partition("=")
            params.append((key.strip().lower(), value.strip().strip('"')))
        entries.append(MediaType(pieces[0].lower(), tuple(params)))
    return entries


@dataclass(frozen=True)
class Representation:
    """What the response body should be: the object(s), a Table, or metadata only."""

    table: bool = False
    partial_metadata: bool = False


_JSON_TYPES = frozenset({"application/json", "*/*", "application/*", "application/yaml"})


def negotiate(accept: str) -> Representation | None:
    """The first acceptable representation in the client's order; None if none is."""
    if not accept.strip():
        return Representation()
    for media in parse_media_types(accept):
        if media.type not in _JSON_TYPES:
            continue
        as_ = media.param("as")
        if not as_:
            return Representation()
        if media.param("g") != "meta.k8s.io" or media.param("v") not in ("v1", "v1beta1"):
            continue
        if as_ == "Table":
            return Representation(table=True)
        if as_ in ("PartialObjectMetadata", "PartialObjectMetadataList"):
            return Representation(partial_metadata=True)
    return None


def wants_aggregated_discovery(accept: str) -> str | None:
    """The aggregated discovery version (v2 or v2beta1) the client prefers, if any."""
    for media in parse_media_types(accept):
        if media.type in ("application/json", "*/*") and not media.param("as"):
            return None
        if (
            media.param("as") == "APIGroupDiscoveryList"
            and media.param("g") == "apidiscovery.k8s.io"
            and media.param("v") in ("v2", "v2beta1")
        ):
            return media.param("v")
    return None


def is_true(value: str | None) -> bool:
    return (value or "").lower() in _TRUE

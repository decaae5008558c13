"""The HTTP front of the local API server: authentication, routing, faults and counting.

Every path goes through one dispatcher, because resource paths (`/api/v1/namespaces/NS/...`,
`/apis/G/V/...`) are routed the way kube-apiserver's request-info parser splits them rather
than by a fixed route table. Errors always leave as a `Status` body.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web

from sim.apiserver import discovery, errors, openapi
from sim.apiserver.access_review import review
from sim.apiserver.calls import APICall
from sim.apiserver.control_plane import ControlPlane
from sim.apiserver.counters import RequestCounters, RequestKey
from sim.apiserver.errors import StatusError
from sim.apiserver.faults import Faults
from sim.apiserver.identity import TokenIssuer, UserInfo
from sim.apiserver.rbac import Attributes, request_forbidden
from sim.apiserver.rbac_kinds import AUTHORIZATION_GROUP
from sim.apiserver.request_info import (
    ResourceRequest,
    parse_resource_path,
    wants_aggregated_discovery,
)
from sim.apiserver.store import encode_json
from sim.apiserver.watch_stream import WatchSettings, serve_watch

_log = logging.getLogger(__name__)

MAX_BODY = 3 * 1024 * 1024  # the real server's request size limit

SERVER_VERSION = {
    "major": "1",
    "minor": "36",
    "emulationMajor": "1",
    "emulationMinor": "36",
    "gitVersion": "v1.36.0-kcanary-local",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z",
    "goVersion": "go1.25.0",
    "compiler": "gc",
    "platform": "linux/amd64",
}

_HEALTH = ("/healthz", "/livez", "/readyz")


def _json(body: Any, *, status: int = 200, content_type: str = "application/json") -> web.Response:
    return web.Response(
        body=encode_json(body), status=status, headers={"Content-Type": content_type}
    )


def status_response(error: StatusError) -> web.Response:
    headers = {"Content-Type": "application/json", **error.headers}
    return web.Response(body=encode_json(error.status()), status=error.code, headers=headers)


def _warning_header(text: str) -> str:
    return '299 - "' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _qualified(request: ResourceRequest) -> str:
    return f"{request.resource}.{request.group}" if request.group else request.resource


class APIHandler:
    """The aiohttp request handler of one control plane."""

    def __init__(
        self,
        plane: ControlPlane,
        *,
        token: str,
        faults: Faults,
        counters: RequestCounters,
        server_address: str,
    ) -> None:
        self.plane = plane
        self.token = token
        self.tokens = TokenIssuer(token, plane.service_account_exists)
        self.faults = faults
        self.counters = counters
        self.server_address = server_address
        self._openapi_cache: dict[tuple[int, str], Any] = {}

    def application(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY + 1024)
        app.router.add_route("*", "/{tail:.*}", self.dispatch)
        return app

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        try:
            return await self._dispatch(request)
        except StatusError as error:
            return status_response(error)
        except web.HTTPRequestEntityTooLarge:
            return status_response(
                StatusError(
                    413, "RequestEntityTooLarge", f"Request entity too large: limit is {MAX_BODY}"
                )
            )
        except (ConnectionResetError, asyncio.CancelledError):
            raise
        except Exception as error:  # never crash: report as the real server's 500 would
            _log.exception("request %s %s failed", request.method, request.path)
            return status_response(errors.internal_error(str(error)))

    def _authorize(self, user: UserInfo, attributes: Attributes) -> None:
        if not self.plane.authorizer.allowed(user, attributes):
            raise request_forbidden(user, attributes)

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path.rstrip("/") or "/"
        if path in _HEALTH or path.startswith(tuple(h + "/" for h in _HEALTH)):
            return web.Response(text="ok", content_type="text/plain")
        user = self.tokens.authenticate(request.headers.get("Authorization", ""))
        if user is None:
            raise errors.unauthorized()
        accept = request.headers.get("Accept", "")
        resource_request = parse_resource_path(
            request.method, path, watch_param=request.query.get("watch")
        )
        if resource_request is None:
            self._authorize(
                user,
                Attributes(verb=request.method.lower(), resource_request=False, path=request.path),
            )
        else:
            self._authorize(user, _attributes(resource_request, request.query))
        if path == "/version":
            return _json(SERVER_VERSION)
        if path in ("/api", "/apis") and request.method == "GET":
            return self._discovery_root(path, accept)
        if path.startswith("/openapi/"):
            return self._openapi(path)
        if resource_request is None:
            return self._group_discovery(path, request.method)
        return await self._resource(request, resource_request, accept, user)

    # discovery and OpenAPI

    def _discovery_root(self, path: str, accept: str) -> web.Response:
        registry = self.plane.registry
        version = wants_aggregated_discovery(accept)
        if version is not None:
            body = discovery.aggregated(registry, legacy=path == "/api", version=version)
            return _json(
                body, content_type=discovery.AGGREGATED_CONTENT_TYPE.format(version=version)
            )
        if path == "/api":
            return _json(discovery.api_versions(self.server_address))
        return _json(discovery.api_group_list(registry))

    def _group_discovery(self, path: str, method: str) -> web.Response:
        if method != "GET":
            raise errors.unknown_resource()
        parts = [part for part in path.split("/") if part]
        registry = self.plane.registry
        document: dict[str, Any] | None = None
        if len(parts) == 2 and parts[0] == "api":
            document = discovery.api_resource_list(registry, "", parts[1])
        elif len(parts) == 2 and parts[0] == "apis":
            document = discovery.api_group(registry, parts[1])
        elif len(parts) == 3 and parts[0] == "apis":
            document = discovery.api_resource_list(registry, parts[1], parts[2])
        if document is None:
            raise errors.unknown_resource()
        return _json(document)

    def _openapi(self, path: str) -> web.Response:
        registry = self.plane.registry
        key = (registry.revision, path)
        document = self._openapi_cache.get(key)
        if document is None:
            types = registry.served()
            if path == "/openapi/v3":
                document = openapi.openapi_v3_index(types)
            elif path.startswith("/openapi/v3/"):
                group_version = path.removeprefix("/openapi/v3/")
                document = openapi.openapi_v3_group_version(group_version, types)
            if document is None:
                raise errors.unknown_resource()
            if len(self._openapi_cache) > 256:
                self._openapi_cache.clear()
            self._openapi_cache[key] = document
        return _json(document)

    # resources

    async def _resource(
        self, request: web.Request, info: ResourceRequest, accept: str, user: UserInfo
    ) -> web.StreamResponse:
        self.counters.record(
            RequestKey(info.verb, _qualified(info), info.subresource, info.namespace or "")
        )
        latency = self.faults.latency
        if latency > 0:
            await asyncio.sleep(latency)
        failure = self.faults.failure()
        if failure is not None:
            if failure.code == 429:
                raise errors.too_many_requests(failure.retry_after)
            raise errors.internal_error("injected fault")
        query = {key: request.query.get(key, "") for key in request.query}
        if info.verb == "watch":
            call = APICall(info, query, accept=accept)
            settings = WatchSettings(close_after=self.faults.watch_close_after)
            plane = self.plane
            return await serve_watch(
                request,
                call,
                store=plane.store,
                registry=plane.registry,
                hub=plane.hub,
                settings=settings,
            )
        body = await request.read() if request.can_read_body else b""
        content_type = request.headers.get("Content-Type", "")
        if _is_access_review(info):
            reviewed = review(body, content_type, user, self.plane.authorizer)
            return _json(reviewed, status=201)
        call = APICall(
            info,
            query,
            accept=accept,
            content_type=content_type,
            body=body,
            user=user,
            user_agent=request.headers.get("User-Agent", ""),
        )
        reply = self.plane.handlers.handle(call)
        response = web.Response(
            body=reply.body, status=reply.status, headers={"Content-Type": "application/json"}
        )
        for warning in reply.warnings:
            response.headers.add("Warning", _warning_header(warning))
        return response


def _is_access_review(info: ResourceRequest) -> bool:
    return (
        info.group == AUTHORIZATION_GROUP
        and info.resource == "selfsubjectaccessreviews"
        and info.verb == "create"
        and not info.name
    )


def _attributes(info: ResourceRequest, query: Any) -> Attributes:
    """The authorizer's view of a resource request. A list or watch narrowed to one name by
    `fieldSelector=metadata.name=X` is authorized for that name, as on a real server (so a
    rule with resourceNames can allow watching one object)."""
    name = info.name
    if info.verb in ("list", "watch") and not name:
        for term in str(query.get("fieldSelector", "")).split(","):
            key, _, value = term.partition("=")
            if key.strip() == "metadata.name" and value and not value.startswith("="):
                name = value.strip()
    return Attributes(
        verb=info.verb,
        resource_request=True,
        group=info.group,
        resource=info.resource,
        subresource=info.subresource,
        namespace=info.namespace or "",
        name=name,
    )

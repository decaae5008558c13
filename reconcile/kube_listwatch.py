"""List and watch one resource type over the `kubernetes` client, for the informers.

Paths are built from the resource type, as in reconcile.kube_store, so custom resources
(InferenceServices, InferenceRollouts) and built-in kinds (Deployments) share one
implementation; a namespace of "" lists and watches across all namespaces. A watch streams one
JSON event per line; an `ERROR` event carries a Status (410 Gone when the resourceVersion is too
old), which becomes our error so the informer lists again. `close` ends the stream in progress,
so a stopping controller does not wait for the server to close it.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import quote

from kubernetes.client import ApiClient

from reconcile.errors import APIError, api_error, from_status, translated_api_errors
from reconcile.informer import WatchEvent
from traffic.store import ResourceType


def collection_path(resource: ResourceType, namespace: str) -> str:
    base = f"/apis/{resource.group}/{resource.version}" if resource.group else "/api/v1"
    if resource.namespaced and namespace:
        base += f"/namespaces/{quote(namespace, safe='')}"
    return f"{base}/{resource.plural}"


class KubeListWatch:
    """The informer's ListWatch for `resource` in `namespace` ("" for all)."""

    def __init__(
        self,
        api_client: ApiClient,
        resource: ResourceType,
        *,
        namespace: str = "",
        label_selector: str = "",
        request_timeout: float = 30.0,
    ) -> None:
        self._api = api_client
        self._resource = resource
        self._namespace = namespace
        self._selector = label_selector
        self._timeout = request_timeout
        self._lock = threading.Lock()
        self._streams: set[Any] = set()
        self._closed = False

    def __str__(self) -> str:
        where = self._namespace or "all namespaces"
        return f"{self._resource.plural}.{self._resource.group or 'core'} in {where}"

    def list(self) -> tuple[list[dict[str, Any]], str]:
        query = [("labelSelector", self._selector)] if self._selector else []
        response = self._call(query, self._timeout)
        with translated_api_errors():
            data = response.read()
        if not 200 <= int(response.status) <= 299:
            raise api_error(int(response.status), data, fallback=f"cannot list {self}")
        decoded = json.loads(data or b"{}")
        items = []
        for item in decoded.get("items") or []:
            # Items of a list carry no apiVersion/kind; the objects the reconciler reads do.
            item.setdefault("apiVersion", self._resource.api_version)
            item.setdefault("kind", self._resource.kind)
            items.append(item)
        version = str((decoded.get("metadata") or {}).get("resourceVersion") or "")
        return items, version

    def watch(self, resource_version: str, timeout_s: int) -> Iterator[WatchEvent]:
        query = [
            ("watch", "true"),
            ("allowWatchBookmarks", "true"),
            ("timeoutSeconds", str(timeout_s)),
        ]
        if resource_version:
            query.append(("resourceVersion", resource_version))
        if self._selector:
            query.append(("labelSelector", self._selector))
        response = self._call(query, (self._timeout, timeout_s + self._timeout))
        if not 200 <= int(response.status) <= 299:
            with translated_api_errors():
                data = response.read()
            raise api_error(int(response.status), data, fallback=f"cannot watch {self}")
        return self._events(response.response)

    def close(self) -> None:
        """End the streams in progress and refuse new ones (the controller is stopping)."""
        with self._lock:
            self._closed = True
            streams = list(self._streams)
        for stream in streams:
            _shut(stream)

    def _events(self, stream: Any) -> Iterator[WatchEvent]:
        with self._lock:
            if self._closed:
                _shut(stream)
                return
            self._streams.add(stream)
        try:
            with translated_api_errors():
                for line in stream:
                    if not line.strip():
                        continue
                    event = json.loads(line)
                    kind = str(event.get("type") or "")
                    obj = event.get("object") or {}
                    if kind == "ERROR":
                        raise from_status(obj)
                    if kind != "BOOKMARK":
                        obj.setdefault("apiVersion", self._resource.api_version)
                        obj.setdefault("kind", self._resource.kind)
                    yield WatchEvent(kind, obj)
        except (ValueError, AttributeError, APIError) as error:
            with self._lock:
                closed = self._closed
            if closed:
                return  # we ended the stream ourselves: the controller is stopping
            if isinstance(error, APIError):
                raise
            raise APIError(f"watch of {self} broke: {error}") from error
        finally:
            with self._lock:
                self._streams.discard(stream)
            _shut(stream)

    def _call(self, query: Sequence[tuple[str, str]], timeout: Any) -> Any:
        with translated_api_errors():
            request = self._api.param_serialize(
                method="GET",
                resource_path=collection_path(self._resource, self._namespace),
                query_params=[*query] or None,
                header_params={"Accept": "application/json"},
                auth_settings=["BearerToken"],
            )
            return self._api.call_api(*request, _request_timeout=timeout)


def _shut(stream: Any) -> None:
    """Close a streaming response from any thread (urllib3 2.3+ can interrupt a blocked read)."""
    shutdown = getattr(stream, "shutdown", None)
    with contextlib.suppress(Exception):  # a stream that is already gone is closed enough
        if callable(shutdown):
            shutdown()
        stream.release_conn()

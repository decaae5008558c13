"""The routers' store (:class:`traffic.store.Store`) over the ``kubernetes`` client.

Requests go through the client's ``ApiClient`` (so its kubeconfig, TLS, token refresh and
proxy settings apply) with paths built from the resource type, which covers core and custom
resources alike, and with explicit content types: ``application/merge-patch+json`` and
``application/json-patch+json`` (custom resources refuse strategic merge).

A write's resourceVersion precondition travels inside the patch, where the API server checks it
as it would on an update: ``metadata.resourceVersion`` in a merge patch, a ``replace`` of
``/metadata/resourceVersion`` at the head of a JSON patch (a ``test`` operation would fail with
422 Invalid instead of 409 Conflict, and the caller could not tell it from a bad patch).
"""

from __future__ import annotations

import copy
import json
from typing import Any
from urllib.parse import quote

from kubernetes.client import ApiClient

from reconcile.errors import APIError, APINotFound, api_error, translated_api_errors
from traffic.store import JsonObject, ObjectRef, PatchType, ResourceType

__all__ = ["FIELD_MANAGER", "KubeStore"]

FIELD_MANAGER = "kcanary"


class KubeStore:
    """Reads and writes objects of any resource type through one ``ApiClient``."""

    def __init__(self, api_client: ApiClient, *, request_timeout: float = 30.0) -> None:
        self._api = api_client
        self._timeout = request_timeout

    def get(self, ref: ObjectRef) -> JsonObject | None:
        try:
            return self._request("GET", ref, _object_path(ref))
        except APINotFound:
            return None

    def create(self, ref: ObjectRef, obj: JsonObject) -> JsonObject:
        body = copy.deepcopy(obj)
        body.setdefault("apiVersion", ref.resource.api_version)
        body.setdefault("kind", ref.resource.kind)
        meta = body.setdefault("metadata", {})
        meta.setdefault("name", ref.name)
        if ref.namespace:
            meta.setdefault("namespace", ref.namespace)
        try:
            return self._request(
                "POST",
                ref,
                _collection_path(ref.resource, ref.namespace),
                body=body,
                query=[("fieldManager", FIELD_MANAGER)],
            )
        except APINotFound as error:
            # A 404 on create means the collection is missing, not the object.
            resource = ref.resource
            raise APINotFound(
                f"{ref} cannot be created: the API server has no {resource.plural}."
                f"{resource.group or 'core'}/{resource.version} (is its CRD installed?) or no "
                f"namespace {ref.namespace!r}; server said: {error.message}",
                status=error.status,
                reason=error.reason,
                ref=ref,
            ) from error

    def patch(
        self,
        ref: ObjectRef,
        patch: JsonObject | list[JsonObject],
        *,
        resource_version: str | None,
        patch_type: PatchType = PatchType.MERGE,
    ) -> JsonObject:
        body: Any = copy.deepcopy(patch)
        if patch_type is PatchType.MERGE:
            if not isinstance(body, dict):
                raise TypeError("a merge patch is a dict")
            if resource_version is not None:
                body.setdefault("metadata", {})["resourceVersion"] = resource_version
        else:
            if not isinstance(body, list):
                raise TypeError("a JSON patch is a list of operations")
            if resource_version is not None:
                precondition = {
                    "op": "replace",
                    "path": "/metadata/resourceVersion",
                    "value": resource_version,
                }
                body = [precondition, *body]
        return self._request(
            "PATCH",
            ref,
            _object_path(ref),
            body=body,
            content_type=patch_type.value,
            query=[("fieldManager", FIELD_MANAGER)],
        )

    def patch_status(
        self, ref: ObjectRef, patch: JsonObject, *, resource_version: str | None
    ) -> JsonObject:
        """Merge-patch the object's ``status`` subresource, conditioned like :meth:`patch`."""
        body = copy.deepcopy(patch)
        if resource_version is not None:
            body.setdefault("metadata", {})["resourceVersion"] = resource_version
        return self._request(
            "PATCH",
            ref,
            _object_path(ref) + "/status",
            body=body,
            content_type=PatchType.MERGE.value,
            query=[("fieldManager", FIELD_MANAGER)],
        )

    def delete(self, ref: ObjectRef) -> None:
        self._request(
            "DELETE",
            ref,
            _object_path(ref),
            body={"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"},
        )

    def _request(
        self,
        method: str,
        ref: ObjectRef,
        path: str,
        *,
        body: Any = None,
        content_type: str = "application/json",
        query: list[tuple[str, str]] | None = None,
    ) -> JsonObject:
        with translated_api_errors(ref):
            request = self._api.param_serialize(
                method=method,
                resource_path=path,
                query_params=query or None,
                header_params={"Accept": "application/json", "Content-Type": content_type},
                body=body,
                auth_settings=["BearerToken"],
            )
            response = self._api.call_api(*request, _request_timeout=self._timeout)
            response.read()  # type: ignore[no-untyped-call]
        status = int(response.status)
        if not 200 <= status <= 299:
            raise api_error(status, response.data, ref=ref)
        try:
            decoded = json.loads(response.data or b"{}")
        except ValueError:
            raise APIError(f"{ref}: the API server answered with invalid JSON", ref=ref) from None
        if not isinstance(decoded, dict):
            raise APIError(f"{ref}: the API server answered with {type(decoded).__name__}")
        return decoded


def _collection_path(resource: ResourceType, namespace: str) -> str:
    if resource.group:
        base = f"/apis/{resource.group}/{resource.version}"
    else:
        base = f"/api/{resource.version}"
    if resource.namespaced:
        if not namespace:
            raise ValueError(f"{resource.kind} is namespaced: name a namespace")
        base += f"/namespaces/{quote(namespace, safe='')}"
    return f"{base}/{resource.plural}"


def _object_path(ref: ObjectRef) -> str:
    return f"{_collection_path(ref.resource, ref.namespace)}/{quote(ref.name, safe='')}"

"""Plain JSON calls to the API server through the `kubernetes` client, for the local cluster's
controllers.

The KServe stand-in, the Deployment controller and the gateway's control plane write only through
the API, as real controllers do. Objects stay plain dicts (the `kubernetes` models would drop the
fields of custom resources); each call answers the decoded object, or None for 404.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from kubernetes import client as k8s_client

Obj = dict[str, Any]
Key = tuple[str, str]  # (namespace, name)


@dataclass(frozen=True)
class Kind:
    """Where a kind lives in the API."""

    group: str
    version: str
    plural: str
    namespaced: bool = True

    def collection(self, namespace: str | None = None) -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{quote(namespace, safe='')}"
        return f"{base}/{self.plural}"

    def item(self, namespace: str, name: str) -> str:
        return f"{self.collection(namespace)}/{quote(name, safe='')}"


INFERENCE_SERVICES = Kind("serving.kserve.io", "v1beta1", "inferenceservices")
DEPLOYMENTS = Kind("apps", "v1", "deployments")
SERVICES = Kind("", "v1", "services")
CONFIG_MAPS = Kind("", "v1", "configmaps")
INGRESSES = Kind("networking.k8s.io", "v1", "ingresses")
HTTP_ROUTES = Kind("gateway.networking.k8s.io", "v1", "httproutes")
VIRTUAL_SERVICES = Kind("networking.istio.io", "v1", "virtualservices")


def key_of(obj: Mapping[str, Any]) -> Key:
    meta = obj.get("metadata") or {}
    return (str(meta.get("namespace") or ""), str(meta.get("name") or ""))


class APICallError(RuntimeError):
    """A call the API server refused with a status other than 404."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"API server answered {status}: {message}")
        self.status = status


class KubeCalls:
    """Raw JSON calls through a `kubernetes` ApiClient (objects stay plain dicts)."""

    def __init__(self, api_client: k8s_client.ApiClient, *, timeout_s: float = 10.0) -> None:
        self._api = api_client
        self._timeout_s = timeout_s

    @property
    def api_client(self) -> k8s_client.ApiClient:
        return self._api

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        content_type: str = "application/json",
        query: list[tuple[str, str]] | None = None,
        timeout: Any = None,
    ) -> Any:
        """The raw `RESTResponse`, unread (for watches) when `timeout` is a streaming one."""
        request = self._api.param_serialize(
            method=method,
            resource_path=path,
            query_params=query or None,
            header_params={"Accept": "application/json", "Content-Type": content_type},
            body=body,
            auth_settings=["BearerToken"],
        )
        return self._api.call_api(*request, _request_timeout=timeout or self._timeout_s)

    def _json(self, method: str, path: str, **kwargs: Any) -> Obj | None:
        response = self.request(method, path, **kwargs)
        data = response.read()
        status = int(response.status)
        if status == 404:
            return None
        if not 200 <= status <= 299:
            try:
                message = str(json.loads(data).get("message", data))
            except ValueError:
                message = data.decode(errors="replace")
            raise APICallError(status, message)
        decoded: Obj = json.loads(data or b"{}")
        return decoded

    def get(self, kind: Kind, namespace: str, name: str) -> Obj | None:
        return self._json("GET", kind.item(namespace, name))

    def list(self, kind: Kind) -> Obj:
        listed = self._json("GET", kind.collection())
        if listed is None:
            raise APICallError(404, f"{kind.collection()} is not served")
        return listed

    def create(self, kind: Kind, namespace: str, obj: Obj) -> Obj | None:
        """Create; None when it already exists (409) or its namespace is gone (404)."""
        try:
            return self._json("POST", kind.collection(namespace), body=obj)
        except APICallError as error:
            if error.status == 409:
                return None
            raise

    def patch(self, kind: Kind, namespace: str, name: str, patch: Obj) -> Obj | None:
        return self._json(
            "PATCH",
            kind.item(namespace, name),
            body=patch,
            content_type="application/merge-patch+json",
        )

    def replace(self, kind: Kind, namespace: str, name: str, obj: Obj) -> Obj | None:
        """PUT the whole object (its resourceVersion guards against lost updates)."""
        try:
            return self._json("PUT", kind.item(namespace, name), body=obj)
        except APICallError as error:
            if error.status == 409:
                return None
            raise

    def patch_status(self, kind: Kind, namespace: str, name: str, status: Obj) -> Obj | None:
        return self._json(
            "PATCH",
            kind.item(namespace, name) + "/status",
            body={"status": status},
            content_type="application/merge-patch+json",
        )

    def delete(self, kind: Kind, namespace: str, name: str) -> None:
        self._json(
            "DELETE",
            kind.item(namespace, name),
            body={"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"},
        )

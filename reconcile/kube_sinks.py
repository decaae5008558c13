"""The Lease and Event writers of leader election and the EventRecorder, over the client.

Both protocols (reconcile.leader.LeaseStore, reconcile.events.EventSink) speak plain dicts and
raise reconcile.errors. A Lease is replaced with an update (PUT) carrying the resourceVersion
read, as client-go's leader election does, so the Role needs only get, create and update.
"""

from __future__ import annotations

import json
from typing import Any

from kubernetes.client import ApiClient, CoordinationV1Api

from reconcile.errors import APIError, translated_api_errors
from reconcile.kube_store import KubeStore
from traffic.store import ObjectRef, ResourceType

LEASE = ResourceType("coordination.k8s.io", "v1", "Lease", "leases")
EVENT = ResourceType("", "v1", "Event", "events")


class KubeLeaseStore:
    """Leases through the typed client, so a renewal is an update (RBAC verb `update`)."""

    def __init__(self, api_client: ApiClient) -> None:
        self._leases = CoordinationV1Api(api_client)

    def read(self, namespace: str, name: str) -> dict[str, Any]:
        ref = ObjectRef(LEASE, namespace, name)
        with translated_api_errors(ref):
            response = self._leases.read_namespaced_lease(name, namespace, _preload_content=False)
        return _decoded(response)

    def create(self, namespace: str, lease: dict[str, Any]) -> dict[str, Any]:
        ref = ObjectRef(LEASE, namespace, str((lease.get("metadata") or {}).get("name") or ""))
        with translated_api_errors(ref):
            # The client serialises a plain dict body as it is.
            response = self._leases.create_namespaced_lease(
                namespace,
                lease,  # type: ignore[arg-type]
                _preload_content=False,
            )
        return _decoded(response)

    def replace(self, namespace: str, name: str, lease: dict[str, Any]) -> dict[str, Any]:
        """An update carrying the resourceVersion read: 409 if another candidate wrote first."""
        ref = ObjectRef(LEASE, namespace, name)
        with translated_api_errors(ref):
            response = self._leases.replace_namespaced_lease(
                name,
                namespace,
                lease,  # type: ignore[arg-type]
                _preload_content=False,
            )
        return _decoded(response)


class KubeEventSink:
    def __init__(self, store: KubeStore) -> None:
        self._store = store

    def create(self, namespace: str, event: dict[str, Any]) -> dict[str, Any]:
        name = str((event.get("metadata") or {}).get("name") or "")
        return self._store.create(ObjectRef(EVENT, namespace, name), event)

    def patch(self, namespace: str, name: str, patch: dict[str, Any]) -> dict[str, Any]:
        return self._store.patch(ObjectRef(EVENT, namespace, name), patch, resource_version=None)


def _decoded(response: Any) -> dict[str, Any]:
    decoded = json.loads(response.data or b"{}")
    if not isinstance(decoded, dict):
        raise APIError("the API server answered a Lease request with something else")
    return decoded

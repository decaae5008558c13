"""The gateway's control plane: routes and Services read through the API, as istiod reads them.

`RouteWatch` watches VirtualServices, HTTPRoutes, Ingresses and InferenceServices (for the
traffic Knative programs in Serverless mode) and rebuilds the gateway's routing table on every
change, with `sim.gateway.translate`. It never calls kcanary's code: what the gateway does is
what the objects in the API say, so a router that wrote the wrong weights is caught.

`SelectorDirectory` resolves a Service to its endpoints the way Kubernetes does: the pods in the
Service's namespace whose labels match its selector, and only the ready ones.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from sim.gateway.directory import Endpoint
from sim.gateway.proxy import Gateway
from sim.gateway.translate import HostConflict, build_routing_table
from sim.kube_calls import (
    HTTP_ROUTES,
    INFERENCE_SERVICES,
    INGRESSES,
    SERVICES,
    VIRTUAL_SERVICES,
    KubeCalls,
    Obj,
)
from sim.object_feed import ObjectFeed
from sim.pods import PodRegistry

log = logging.getLogger(__name__)


class SelectorDirectory:
    """Service -> ready pods selected by its `spec.selector` (a `ServiceDirectory`)."""

    def __init__(self, services: ObjectFeed, pods: PodRegistry) -> None:
        self._services = services
        self._pods = pods

    def endpoints(self, service: str, namespace: str) -> Sequence[Endpoint]:
        found = self._services.get(namespace, service)
        if found is None:
            return []
        selector = (found.get("spec") or {}).get("selector") or {}
        return [Endpoint(p.url, p.pod) for p in self._pods.selected(namespace, selector) if p.ready]


class RouteWatch:
    """Keeps `gateway`'s routing table in step with the route objects in the API."""

    def __init__(self, calls: KubeCalls) -> None:
        self._gateway: Gateway | None = None
        self._lock = threading.Lock()
        self.conflicts: tuple[HostConflict, ...] = ()
        self._feeds = {
            kind.plural: ObjectFeed(calls, kind, self._changed)
            for kind in (VIRTUAL_SERVICES, HTTP_ROUTES, INGRESSES, INFERENCE_SERVICES)
        }
        self.services = ObjectFeed(calls, SERVICES)

    def start(self, gateway: Gateway) -> None:
        """Start watching and keep `gateway`'s routing table current from now on."""
        self._gateway = gateway
        for feed in (*self._feeds.values(), self.services):
            feed.start()
        for feed in (*self._feeds.values(), self.services):
            feed.wait_synced()
        self.rebuild()

    def stop(self) -> None:
        for feed in (*self._feeds.values(), self.services):
            feed.stop()

    def _changed(self, kind: str, obj: Obj) -> None:
        self.rebuild()

    def rebuild(self) -> None:
        if self._gateway is None:
            return
        with self._lock:
            translation = build_routing_table(
                virtual_services=self._feeds[VIRTUAL_SERVICES.plural].items(),
                http_routes=self._feeds[HTTP_ROUTES.plural].items(),
                ingresses=self._feeds[INGRESSES.plural].items(),
                inference_services=self._feeds[INFERENCE_SERVICES.plural].items(),
            )
            self.conflicts = translation.conflicts
            self._gateway.set_routes(translation.table)

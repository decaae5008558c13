"""Choosing and building the router for an InferenceService from its strategy.

The route serves the host KServe would give the ISVC and attaches to KServe's ingress gateway,
both from KServe's `inferenceservice-config` ConfigMap (key `ingress`, in KServe's namespace),
unless `kcanary.io/hosts` or `kcanary.io/gateways` say otherwise. The ConfigMap changes rarely
and is read by every reconcile, so it is kept for a short while. The istio and gateway-api
routers read their route through `reconcile.route_cache` (from the watch cache, never older than
our own last write); the kserve router reads and writes the ISVC through the store, as before.

Handing back happens after the strategy annotation is gone, so the mode cannot come from it:
the InferenceRollout remembers the mode and the adopted route in its own annotations, written
when it is created and whenever the strategy changes them.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from reconcile.resources import CONFIG_MAP, ObjectReader
from reconcile.route_cache import CachedRoutes
from rollout.annotations import InvalidStrategy
from rollout.strategy import Strategy, TrafficMode
from traffic.errors import RouteError
from traffic.ingress_config import (
    CONFIGMAP_NAME,
    IngressConfig,
    IngressConfigError,
    parse_ingress_config,
)
from traffic.kserve import DeploymentMode
from traffic.router import Router, RouterKind
from traffic.routers import make_router
from traffic.store import JsonObject, ObjectRef, Store
from traffic.target import route_target

MODE_ANNOTATION = "kcanary.io/traffic"
ROUTE_ANNOTATION = "kcanary.io/route"
CONFIG_SOURCE = f"ConfigMap {CONFIGMAP_NAME}"
_ROUTE_KINDS = (RouterKind.ISTIO, RouterKind.GATEWAY_API)
"""Routers whose route object is watched (VirtualServices, HTTPRoutes)."""


@dataclass(frozen=True)
class RouteChoice:
    """The router's mode and the adopted route, as remembered on the InferenceRollout."""

    mode: TrafficMode
    route: str | None = None

    @classmethod
    def of(cls, strategy: Strategy) -> RouteChoice:
        return cls(strategy.mode, strategy.traffic.route)

    @classmethod
    def remembered(cls, annotations: dict[str, str]) -> RouteChoice | None:
        try:
            mode = TrafficMode(annotations.get(MODE_ANNOTATION, ""))
        except ValueError:
            return None
        return cls(mode, annotations.get(ROUTE_ANNOTATION) or None)

    def annotations(self) -> dict[str, str | None]:
        return {MODE_ANNOTATION: self.mode.value, ROUTE_ANNOTATION: self.route}


@dataclass(frozen=True)
class KServeSettings:
    ingress: IngressConfig
    default_mode: DeploymentMode


class Routing:
    """Builds routers over `store`, reading KServe's settings through `reader`."""

    def __init__(
        self,
        store: Store,
        reader: ObjectReader,
        *,
        kserve_namespace: str = "kserve",
        clock: Callable[[], datetime],
        settings_ttl: timedelta = timedelta(seconds=30),
    ) -> None:
        self._store = store
        self._reader = reader
        self.routes = CachedRoutes(store, reader)
        """The route objects' store: reads from the cache, writes to the API server."""
        self._config_ref = ObjectRef(CONFIG_MAP, kserve_namespace, CONFIGMAP_NAME)
        self._clock = clock
        self._ttl = settings_ttl
        self._lock = threading.Lock()
        self._cached: tuple[datetime, KServeSettings | IngressConfigError] | None = None

    def router_for(self, strategy: Strategy, isvc: JsonObject) -> Router | InvalidStrategy:
        """The router the strategy asks for, or why the ISVC cannot be routed as asked."""
        return self.router_of(RouteChoice.of(strategy), isvc, strategy)

    def router_of(
        self, choice: RouteChoice, isvc: JsonObject, strategy: Strategy | None = None
    ) -> Router | InvalidStrategy:
        settings = self._settings()
        if isinstance(settings, IngressConfigError):
            return InvalidStrategy(
                f"{CONFIG_SOURCE} ({self._config_ref.namespace})",
                f"{settings}; or set kcanary.io/hosts and kcanary.io/gateways on the ISVC",
            )
        kind = RouterKind(choice.mode.value)
        hosts = strategy.traffic.hosts if strategy is not None else ()
        gateways = strategy.traffic.gateways if strategy is not None else ()
        try:
            target = route_target(
                isvc,
                settings.ingress,
                kind=kind,
                hosts=hosts or None,
                gateways=gateways or None,
                adopted_route=choice.route,
            )
        except IngressConfigError as error:
            return InvalidStrategy(f"{CONFIG_SOURCE} ({self._config_ref.namespace})", str(error))
        except RouteError as error:
            return InvalidStrategy(MODE_ANNOTATION, str(error))
        store = self.routes if kind in _ROUTE_KINDS else self._store
        return make_router(kind, store, target, default_mode=settings.default_mode)

    def _settings(self) -> KServeSettings | IngressConfigError:
        now = self._clock()
        with self._lock:
            if self._cached is not None and now - self._cached[0] < self._ttl:
                return self._cached[1]
        config = self._reader.get(self._config_ref)
        data = (config or {}).get("data") or {}
        settings: KServeSettings | IngressConfigError
        try:
            settings = KServeSettings(parse_ingress_config(data), _default_mode(data))
        except IngressConfigError as error:
            settings = error
        with self._lock:
            self._cached = (now, settings)
        return settings


def _default_mode(data: dict[str, str]) -> DeploymentMode:
    """KServe's `deploy.defaultDeploymentMode` (Serverless when unset or unreadable)."""
    try:
        deploy = json.loads(data.get("deploy") or "{}")
    except ValueError:
        return DeploymentMode.SERVERLESS
    mode = str((deploy if isinstance(deploy, dict) else {}).get("defaultDeploymentMode", ""))
    if mode.lower() in ("rawdeployment", "standard"):
        return DeploymentMode.STANDARD
    return DeploymentMode.SERVERLESS

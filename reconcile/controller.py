"""The controller process: caches, a work queue, workers, ticks, a lease, metrics and probes.

Informers list and watch InferenceServices, InferenceRollouts, KServe's Deployments and the
route kinds (VirtualServices, HTTPRoutes) and turn every change into the key of the user's ISVC
it concerns: a primary copy's events and its Deployment's go to the ISVC that owns it, a route's
to the ISVC that owns it (kcanary's own route) or adopted it (named on its InferenceRollout).
The route kinds are optional: on a cluster without Istio or the Gateway API their informers
wait quietly for the CRD, and routes of that kind are read from the API server.

Workers take keys from the queue (one worker per key at a time) and reconcile; a failed
reconcile is retried with per-key backoff, and the time the reconcile asks to be woken at (an
analysis tick anchored at the rollout start, a step's end, or a poll while waiting on KServe) is
handed to the tick scheduler, which only enqueues.

Only the lease holder reconciles. A standby keeps its caches warm and takes over within the
lease duration; on taking over it enqueues every ISVC it knows. Stopping (SIGTERM) ends the
workers after their current reconcile, releases the lease and closes the watches.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from kubernetes.client import ApiClient
from prometheus_client import start_http_server

from reconcile.analysis_run import Analyst
from reconcile.events import EventRecorder
from reconcile.health import HealthServer
from reconcile.informer import Informer, object_key
from reconcile.kube_listwatch import KubeListWatch
from reconcile.kube_sinks import KubeEventSink, KubeLeaseStore
from reconcile.kube_store import KubeStore
from reconcile.leader import LeaderElector, LeaseConfig
from reconcile.log_fields import about_rollout, rollout_logger
from reconcile.low_traffic import TrafficReader
from reconcile.metrics import MetricsRecorder
from reconcile.primary_copy import is_primary_copy
from reconcile.reconciler import Reconciler
from reconcile.resources import DEPLOYMENT, INFERENCE_ROLLOUT, INFERENCE_SERVICE, RolloutKey
from reconcile.routing import ROUTE_ANNOTATION
from reconcile.ticks import TickScheduler
from reconcile.workqueue import ShutDown, WorkQueue
from traffic.gateway_api import HTTP_ROUTE
from traffic.istio import VIRTUAL_SERVICE
from traffic.store import JsonObject, ObjectRef, ResourceType
from traffic.target import MANAGED_BY_LABEL

log = rollout_logger(__name__)

KSERVE_DEPLOYMENT_LABEL = "serving.kserve.io/inferenceservice"
"""KServe labels the Deployments it makes with the ISVC's name; only those are watched."""


@dataclass(frozen=True)
class ControllerConfig:
    namespaces: tuple[str, ...] = ()
    """Namespaces to watch; empty for all."""
    kserve_namespace: str = "kserve"
    identity: str = "kcanary"
    lease: LeaseConfig | None = None
    """None turns leader election off: this process acts at once."""
    metrics_address: tuple[str, int] | None = None
    health_address: tuple[str, int] | None = None
    workers: int = 4
    poll_interval: timedelta = timedelta(seconds=5)
    sync_timeout_s: float = 60.0
    missing_kind_retry_s: float = 60.0
    """How often to look again for a route kind whose CRD is not installed."""


ROUTE_KINDS = (VIRTUAL_SERVICE, HTTP_ROUTE)
"""The routers' route objects, watched when their CRD is installed."""

WATCHED_KINDS = 3 + len(ROUTE_KINDS)
"""InferenceServices, InferenceRollouts, KServe's Deployments and the route kinds, per watched
namespace."""


def connections_needed(namespaces: int, workers: int) -> int:
    """API connections the controller can hold at once: one per watch, one per worker, and
    the lease, Events and a spare."""
    return WATCHED_KINDS * max(namespaces, 1) + workers + 3


class CachedObjects:
    """Reads watched kinds from the informers' caches and everything else from the API, as
    well as watched kinds whose cache cannot answer (not synced, or the kind is not served)."""

    def __init__(self, store: KubeStore, informers: dict[tuple[ResourceType, str], Informer]):
        self._store = store
        self._informers = informers

    def get(self, ref: ObjectRef) -> JsonObject | None:
        informer = self._informers.get((ref.resource, ref.namespace)) or self._informers.get(
            (ref.resource, "")
        )
        if informer is None or not informer.serving():
            return self._store.get(ref)
        return informer.get((ref.namespace, ref.name))


class Controller:
    def __init__(
        self,
        api_client: ApiClient,
        analyst: Analyst,
        config: ControllerConfig,
        *,
        metrics: MetricsRecorder | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        traffic: TrafficReader | None = None,
    ) -> None:
        self._config = config
        self.metrics = metrics or MetricsRecorder()
        self.store = KubeStore(api_client)
        self.queue: WorkQueue[RolloutKey] = WorkQueue()
        self._ticks: TickScheduler[RolloutKey] = TickScheduler(self.queue)
        self._sources: list[KubeListWatch] = []
        self._informers: dict[tuple[ResourceType, str], Informer] = {}
        for namespace in config.namespaces or ("",):
            self._watch(api_client, INFERENCE_SERVICE, namespace, "", self._on_isvc)
            self._watch(api_client, INFERENCE_ROLLOUT, namespace, "", self._on_rollout)
            self._watch(
                api_client, DEPLOYMENT, namespace, KSERVE_DEPLOYMENT_LABEL, self._on_deployment
            )
            for route_kind in ROUTE_KINDS:
                self._watch(
                    api_client,
                    route_kind,
                    namespace,
                    "",
                    self._route_handler(route_kind),
                    missing_kind_retry_s=config.missing_kind_retry_s,
                )
        self.events = EventRecorder(KubeEventSink(self.store), host=config.identity, clock=clock)
        self.reconciler = Reconciler(
            store=self.store,
            reader=CachedObjects(self.store, self._informers),
            analyst=analyst,
            events=self.events,
            metrics=self.metrics,
            clock=clock,
            kserve_namespace=config.kserve_namespace,
            poll_interval=config.poll_interval,
            traffic=traffic,
        )
        self._leading = threading.Event()
        self._stopped = threading.Event()
        self._elector: LeaderElector | None = None
        if config.lease is not None:
            self._elector = LeaderElector(
                config.lease,
                KubeLeaseStore(api_client),
                on_started_leading=self._started_leading,
                on_stopped_leading=self._stopped_leading,
            )
        self._workers: list[threading.Thread] = []
        self._servers: list[Callable[[], None]] = []
        self.metrics_port: int | None = None
        self.health_port: int | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> None:
        """Serve probes and metrics, fill the caches, then campaign (or act) and work."""
        self._start_servers()
        for informer in self._informers.values():
            informer.start()
        for informer in self._informers.values():
            if not informer.wait_until_settled(self._config.sync_timeout_s):
                log.warning(
                    "caches not synced after %.0fs; carrying on", self._config.sync_timeout_s
                )
                break
        self._ticks.start()
        for index in range(self._config.workers):
            worker = threading.Thread(target=self._work, name=f"worker-{index}", daemon=True)
            worker.start()
            self._workers.append(worker)
        if self._elector is not None:
            self._elector.start()
        else:
            self._started_leading()

    def stop(self) -> None:
        """Finish the reconciles under way, release the lease, close watches and servers."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        self._leading.clear()
        self.queue.shut_down()
        for worker in self._workers:
            worker.join(30)
        if self._elector is not None:
            self._elector.stop(release=True)
        self._ticks.stop()
        for informer in self._informers.values():
            informer.stop()
        for source in self._sources:
            source.close()
        for informer in self._informers.values():
            informer.join(5)
        for stop in self._servers:
            stop()

    @property
    def is_leader(self) -> bool:
        return self._leading.is_set()

    def ready(self) -> bool:
        return all(informer.settled() for informer in self._informers.values())

    # -- wiring ----------------------------------------------------------------------------------

    def _watch(
        self,
        api_client: ApiClient,
        resource: ResourceType,
        namespace: str,
        selector: str,
        handler: Callable[[str, dict[str, Any]], None],
        *,
        missing_kind_retry_s: float | None = None,
    ) -> None:
        source = KubeListWatch(api_client, resource, namespace=namespace, label_selector=selector)
        self._sources.append(source)
        self._informers[(resource, namespace)] = Informer(
            source,
            handler,
            name=f"{resource.plural}/{namespace or '*'}",
            missing_kind_retry_s=missing_kind_retry_s,
        )

    def _start_servers(self) -> None:
        if self._config.health_address is not None:
            host, port = self._config.health_address
            health = HealthServer(host, port, self.ready)
            health.start()
            self.health_port = health.port
            self._servers.append(health.stop)
        if self._config.metrics_address is not None:
            host, port = self._config.metrics_address
            server, _thread = start_http_server(port, host, registry=self.metrics.registry)
            self.metrics_port = int(server.server_address[1])

            def stop_metrics() -> None:
                server.shutdown()
                server.server_close()

            self._servers.append(stop_metrics)

    def _started_leading(self) -> None:
        self._leading.set()
        for informer in self._isvc_informers():
            for obj in informer.items():
                key = rollout_key(obj)
                if key is not None:
                    self.queue.add(key)

    def _stopped_leading(self) -> None:
        self._leading.clear()

    def _isvc_informers(self) -> list[Informer]:
        return [i for (kind, _), i in self._informers.items() if kind == INFERENCE_SERVICE]

    # -- events to keys --------------------------------------------------------------------------

    def _on_isvc(self, event_type: str, obj: dict[str, Any]) -> None:
        key = rollout_key(obj)
        if key is not None:
            self.queue.add(key)

    def _on_rollout(self, event_type: str, obj: dict[str, Any]) -> None:
        key = object_key(obj)
        if event_type == "MODIFIED" and self.reconciler.is_echo_of_quiet_write(key, obj):
            return
        self.queue.add(key)

    def _on_deployment(self, event_type: str, obj: dict[str, Any]) -> None:
        namespace, _ = object_key(obj)
        owner = deployment_owner(obj)
        isvc = self._cached_isvc(namespace, owner)
        key = rollout_key(isvc) if isvc is not None else (namespace, owner)
        if key is not None:
            self.queue.add(key)

    def _route_handler(self, resource: ResourceType) -> Callable[[str, dict[str, Any]], None]:
        def on_route(event_type: str, obj: dict[str, Any]) -> None:
            namespace, name = object_key(obj)

            def wake() -> None:
                for key in self._route_users(obj):
                    self.queue.add(key)

            if event_type != "DELETED" and self.reconciler.is_echo_of_route_write(
                ObjectRef(resource, namespace, name), obj, wake
            ):
                return
            wake()

        return on_route

    def _route_users(self, route: JsonObject) -> list[RolloutKey]:
        rollouts = (
            rollout
            for (kind, _), informer in self._informers.items()
            if kind == INFERENCE_ROLLOUT
            for rollout in informer.items()
        )  # walked only for a route kcanary does not own
        return route_users(route, rollouts)

    def _cached_isvc(self, namespace: str, name: str) -> JsonObject | None:
        for informer in self._isvc_informers():
            found = informer.get((namespace, name))
            if found is not None:
                return found
        return None

    # -- workers ---------------------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            try:
                key = self.queue.get(timeout_s=1.0)
            except ShutDown:
                return
            if key is None:
                continue
            try:
                if self._leading.is_set():
                    self._reconcile(key)
            except Exception:  # a bug in one reconcile must not kill the worker
                with about_rollout(*key):
                    log.exception("%s/%s: reconcile failed unexpectedly", *key)
                self.metrics.reconcile_errors.inc()
                self.queue.add_rate_limited(key)
            finally:
                self.queue.done(key)

    def _reconcile(self, key: RolloutKey) -> None:
        outcome = self.reconciler.reconcile(key)
        if outcome.error is not None:
            self.queue.add_rate_limited(key)
            return
        self.queue.forget(key)
        if outcome.wake_at is not None:
            self._ticks.wake_at(key, outcome.wake_at)
        else:
            self._ticks.cancel(key)


def rollout_key(isvc: JsonObject) -> RolloutKey | None:
    """The user's ISVC a change concerns: a primary copy's owner, else the ISVC itself."""
    namespace, name = object_key(isvc)
    if not is_primary_copy(isvc):
        return (namespace, name)
    owner = _owner_isvc(isvc)
    return (namespace, owner) if owner is not None else None


def deployment_owner(deployment: JsonObject) -> str:
    """The ISVC (maybe a primary copy) a KServe Deployment serves: its owner, else its label,
    else its name without `-predictor`."""
    owner = _owner_isvc(deployment)
    if owner is not None:
        return owner
    meta = deployment.get("metadata") or {}
    labels = meta.get("labels") or {}
    name = str(meta.get("name") or "")
    return str(labels.get(KSERVE_DEPLOYMENT_LABEL) or name.removesuffix("-predictor"))


def route_users(route: JsonObject, rollouts: Iterable[JsonObject]) -> list[RolloutKey]:
    """The ISVCs a route change concerns: the owner of a route kcanary made, else those whose
    InferenceRollout names it as the adopted route. Anyone else's route concerns none."""
    namespace, name = object_key(route)
    owner = _owner_isvc(route)
    if owner is not None and _is_managed(route):
        return [(namespace, owner)]
    return [
        object_key(rollout)
        for rollout in rollouts
        if object_key(rollout)[0] == namespace and _adopted_route(rollout) == name
    ]


def _is_managed(obj: JsonObject) -> bool:
    key, value = MANAGED_BY_LABEL
    return bool(((obj.get("metadata") or {}).get("labels") or {}).get(key) == value)


def _adopted_route(rollout: JsonObject) -> str | None:
    annotations = (rollout.get("metadata") or {}).get("annotations") or {}
    route = annotations.get(ROUTE_ANNOTATION)
    return str(route) if route else None


def _owner_isvc(obj: JsonObject) -> str | None:
    for owner in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if isinstance(owner, dict) and owner.get("kind") == "InferenceService":
            name = owner.get("name")
            return str(name) if name else None
    return None

"""The KServe stand-in: a controller that turns InferenceServices into running model servers.

Like KServe's controller it learns everything through the API (list+watch of ISVCs and of the
kinds it owns) and writes only through it; the pods it asks for are run by the local cluster's
Deployment controller. On start it creates KServe's `inferenceservice-config` ConfigMap (if
absent) and re-reads it on change. It reconciles every ISVC whenever something it watches changes
and every `resync_s`, and writes an object or a status only when it differs from what is stored.
A restarted stand-in re-lists and carries on with the Deployments (and so the pods) it finds.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from sim.kserve import objects
from sim.kserve.conditions import Condition, conditions_status, same_conditions
from sim.kserve.context import KServeHostility, ReconcileContext
from sim.kserve.ingress_config import (
    CONFIG_NAME,
    CONFIG_NAMESPACE,
    IngressConfig,
    config_map_object,
)
from sim.kserve.owned import OwnedObjects
from sim.kserve.serverless import reconcile_serverless
from sim.kserve.standard import reconcile_standard
from sim.kube_calls import (
    CONFIG_MAPS,
    DEPLOYMENTS,
    HTTP_ROUTES,
    INFERENCE_SERVICES,
    INGRESSES,
    SERVICES,
    APICallError,
    KubeCalls,
    Obj,
)
from sim.object_feed import ObjectFeed

log = logging.getLogger(__name__)


class KServeController:
    """See the module docstring; `hostility` can be switched while it runs."""

    def __init__(
        self,
        calls: KubeCalls,
        *,
        hostility: KServeHostility | None = None,
        enable_gateway_api: bool = False,
        resync_s: float = 0.5,
    ) -> None:
        self._calls = calls
        self.hostility = hostility or KServeHostility()
        self._enable_gateway_api = enable_gateway_api
        self._resync_s = resync_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

        def wake(kind: str, obj: Obj) -> None:
            self._wake.set()

        self.isvcs = ObjectFeed(calls, INFERENCE_SERVICES, wake)
        self._config_maps = ObjectFeed(calls, CONFIG_MAPS, wake)
        self._owned = {
            kind.plural: OwnedObjects(calls, ObjectFeed(calls, kind, wake))
            for kind in (DEPLOYMENTS, SERVICES, INGRESSES, HTTP_ROUTES)
        }

    def _feeds(self) -> list[ObjectFeed]:
        return [self.isvcs, self._config_maps, *(o.feed for o in self._owned.values())]

    def start(self) -> None:
        if self._calls.get(CONFIG_MAPS, CONFIG_NAMESPACE, CONFIG_NAME) is None:
            self._calls.create(
                CONFIG_MAPS,
                CONFIG_NAMESPACE,
                config_map_object(enable_gateway_api=self._enable_gateway_api),
            )
        self._stop.clear()
        for feed in self._feeds():
            feed.start()
        for feed in self._feeds():
            feed.wait_synced()
        self._thread = threading.Thread(target=self._run, name="kserve", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None
        for feed in self._feeds():
            feed.stop()

    def config(self) -> IngressConfig:
        return IngressConfig.from_config_map(self._config_maps.get(CONFIG_NAMESPACE, CONFIG_NAME))

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._resync_s)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.reconcile_all()
            except Exception:
                log.exception("KServe stand-in: reconcile failed")

    def reconcile_all(self) -> None:
        context = ReconcileContext(
            config=self.config(),
            hostility=self.hostility,
            deployments=self._owned[DEPLOYMENTS.plural],
            services=self._owned[SERVICES.plural],
            ingresses=self._owned[INGRESSES.plural],
            http_routes=self._owned[HTTP_ROUTES.plural],
        )
        for isvc in self.isvcs.items():
            if (isvc.get("metadata") or {}).get("deletionTimestamp"):
                continue  # the garbage collector removes what it owns
            try:
                self._reconcile(isvc, context)
            except APICallError as error:
                namespace, name = objects.meta(isvc)
                log.warning("KServe stand-in: %s/%s: %s", namespace, name, error)

    def _reconcile(self, isvc: Obj, context: ReconcileContext) -> None:
        if objects.is_serverless(isvc):
            status = reconcile_serverless(isvc, context)
        else:
            status = reconcile_standard(isvc, context)
        self._write_status(isvc, status)

    def _write_status(self, isvc: Obj, status: dict[str, Any]) -> None:
        before = isvc.get("status") or {}
        conditions: list[Condition] = status.pop("conditions")
        status["conditions"] = conditions_status(before.get("conditions") or [], conditions)
        status["observedGeneration"] = int((isvc.get("metadata") or {}).get("generation") or 1)
        unchanged = same_conditions(before.get("conditions") or [], status["conditions"]) and all(
            _pruned(before.get(k)) == _pruned(v) for k, v in status.items() if k != "conditions"
        )
        if unchanged:
            return
        namespace, name = objects.meta(isvc)
        # Merge patch: `None` values delete fields KServe no longer reports.
        self._calls.patch_status(INFERENCE_SERVICES, namespace, name, status)


def _pruned(value: Any) -> Any:
    """`value` without null fields, as the stored object has it after a merge patch."""
    if isinstance(value, dict):
        return {k: _pruned(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_pruned(v) for v in value]
    return value

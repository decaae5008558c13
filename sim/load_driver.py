"""`--load RPS`: Poisson load to the public host of every ready ISVC, as an outside client.

Targets follow the InferenceServices in the API: an ISVC gets load once it is serving (Ready, or
a Serverless one with a ready revision, which keeps serving while its next revision starts), and
none when it goes away. kcanary's primary copies (label `app.kubernetes.io/managed-by: kcanary`)
get none: clients call the user's ISVC's host, which kcanary's route splits. The host is the one
KServe gives the ISVC from its domain template, also for cluster-local ISVCs, since that is the
host kcanary's own route serves for them; the model name is the one the ISVC's runtime serves.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from sim.kserve.ingress_config import IngressConfig
from sim.kube_calls import INFERENCE_SERVICES, KubeCalls, Obj
from sim.load import LoadGenerator, Target
from sim.modelserver.naming import Protocol, served_model_name
from sim.object_feed import ObjectFeed

MANAGED_BY = "app.kubernetes.io/managed-by"


def serving(isvc: Obj) -> bool:
    status = isvc.get("status") or {}
    for condition in status.get("conditions") or []:
        if condition.get("type") == "Ready" and condition.get("status") == "True":
            return True
    predictor = (status.get("components") or {}).get("predictor") or {}
    return bool(predictor.get("latestReadyRevision"))


def target_of(isvc: Obj, config: IngressConfig) -> Target:
    meta = isvc.get("metadata") or {}
    name, namespace = str(meta.get("name")), str(meta.get("namespace") or "default")
    model = ((isvc.get("spec") or {}).get("predictor") or {}).get("model") or {}
    args = [str(a) for a in model.get("args") or []]
    env = {str(e.get("name")): str(e.get("value", "")) for e in model.get("env") or []}
    protocol = Protocol.V2 if model.get("protocolVersion") == "v2" else Protocol.V1
    return Target(config.host(name, namespace), served_model_name(name, args, env), protocol)


class LoadDriver:
    """Sets the load generator's per-ISVC rates from the ISVCs in the API."""

    def __init__(
        self,
        calls: KubeCalls,
        load: LoadGenerator,
        rps: float,
        config: Callable[[], IngressConfig],
    ) -> None:
        self._load = load
        self.rps = rps
        self._config = config
        self._lock = threading.Lock()
        self._active: dict[tuple[str, str], Target] = {}
        self._feed = ObjectFeed(calls, INFERENCE_SERVICES, lambda kind, obj: self.refresh())

    def start(self) -> None:
        self._feed.start()
        self._feed.wait_synced()
        self.refresh()

    def stop(self) -> None:
        self._feed.stop()

    def set_rate(self, rps: float) -> None:
        """Change the rate of every target, now and for ISVCs that become ready later."""
        if rps < 0:
            raise ValueError(f"load must be >= 0 requests per second, got {rps}")
        with self._lock:
            self.rps = rps
            for target in self._active.values():
                self._load.set_rate(target, rps)

    def targets(self) -> dict[tuple[str, str], Target]:
        with self._lock:
            return dict(self._active)

    def refresh(self) -> None:
        config = self._config()
        wanted: dict[tuple[str, str], Target] = {}
        for isvc in self._feed.items():
            meta = isvc.get("metadata") or {}
            labels = meta.get("labels") or {}
            if labels.get(MANAGED_BY) == "kcanary" or meta.get("deletionTimestamp"):
                continue
            if serving(isvc):
                key = (str(meta.get("namespace")), str(meta.get("name")))
                wanted[key] = target_of(isvc, config)
        with self._lock:
            for key, target in self._active.items():
                if wanted.get(key) != target:
                    self._load.set_rate(target, 0)
            for key, target in wanted.items():
                if self._active.get(key) != target:
                    self._load.set_rate(target, self.rps)
            self._active = wanted

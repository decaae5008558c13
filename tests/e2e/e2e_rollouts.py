"""What the end-to-end tests share: annotated ISVCs, load, waiting on rollouts, and a record of
every weight the routes carried with what the gateway counted while they did.

The `TrafficLog` watches the routes (VirtualServices, HTTPRoutes and, for the kserve mode, the
ISVCs' `canaryTrafficPercent`) and the InferenceRollouts of the whole cluster through the API, as
any client would. On every change of a route's canary weight it takes the gateway's
`istio_requests_total{reporter="source"}` counters of that namespace, so each weight's window of
real requests can be checked against the weight: the split the gateway *did*, not what the route
says.
"""

from __future__ import annotations

import itertools
import json
import math
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kubernetes import client as k8s_client
from polling import INTERVAL_S, wait_until
from prometheus_client.parser import text_string_to_metric_families

from sim.cluster import LocalCluster
from sim.kube_calls import (
    HTTP_ROUTES,
    INFERENCE_SERVICES,
    VIRTUAL_SERVICES,
    Kind,
    KubeCalls,
    Obj,
)
from sim.load import Target
from sim.object_feed import ObjectFeed

INFERENCE_ROLLOUTS = Kind("kcanary.io", "v1alpha1", "inferencerollouts")
STABLE_URI = "sim://iris/v1?p50_ms=20&sigma=0.25&error_rate=0.01"
GOOD_URI = "sim://iris/v2?p50_ms=20&sigma=0.25&error_rate=0.01"
ERROR_URI = "sim://iris/v2?p50_ms=20&sigma=0.25&error_rate=0.5"
TRIPLED_ERRORS_URI = "sim://iris/v2?p50_ms=20&sigma=0.25&error_rate=0.03"
"""Three times stable's 1% errors: a regression only the sequential tests' power catches."""
SLOW_URI = "sim://iris/v2?p50_ms=100&sigma=0.25&error_rate=0.01"
COLD_URI = f"{GOOD_URI}&warmup_s=6&warmup_factor=5"
"""A good canary whose server is five times slower for its first 6 s (a cold start)."""
FINAL_PHASES = ("RolledBack", "Aborted")
MANAGED_BY = "app.kubernetes.io/managed-by"


def annotated_isvc(
    name: str,
    namespace: str,
    *,
    router: str,
    storage_uri: str = STABLE_URI,
    steps: str = "10,25,50",
    interval: str = "1s",
    step_duration: str = "6s",
    warmup: str = "0s",
    analysis: str = "progressDeadline: 1m\n",
    extra_annotations: Mapping[str, str] | None = None,
) -> Obj:
    """A user's ISVC with kcanary's annotations (RawDeployment for istio and gateway-api).

    No warm-up by default: the local cluster's model servers start warm unless their storageUri
    asks for a cold start (`warmup_s`)."""
    serverless = router == "kserve"
    annotations = {
        "serving.kserve.io/deploymentMode": "Serverless" if serverless else "RawDeployment",
        "kcanary.io/strategy": "canary",
        "kcanary.io/traffic": router,
        "kcanary.io/steps": steps,
        "kcanary.io/interval": interval,
        "kcanary.io/step-duration": step_duration,
        "kcanary.io/warmup": warmup,
        "kcanary.io/metrics": "knative" if serverless else "istio",
        "kcanary.io/analysis": analysis,
        **(extra_annotations or {}),
    }
    labels = {} if serverless else {"networking.kserve.io/visibility": "cluster-local"}
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": labels,
            "annotations": annotations,
        },
        "spec": {
            "predictor": {"model": {"modelFormat": {"name": "sklearn"}, "storageUri": storage_uri}}
        },
    }


class Rollouts:
    """Reads and writes the objects of the tests' ISVCs through the API."""

    def __init__(self, api_client: k8s_client.ApiClient) -> None:
        self.calls = KubeCalls(api_client)
        self.core = k8s_client.CoreV1Api(api_client)

    def create_namespace(self, name: str) -> None:
        self.core.create_namespace(
            k8s_client.V1Namespace(metadata=k8s_client.V1ObjectMeta(name=name))
        )

    def create(self, isvc: Obj) -> None:
        self.calls.create(INFERENCE_SERVICES, isvc["metadata"]["namespace"], isvc)

    def change_model(self, namespace: str, name: str, storage_uri: str) -> None:
        """What a user's CI does: a new storageUri, hence a new revision."""
        patch = {"spec": {"predictor": {"model": {"storageUri": storage_uri}}}}
        self.calls.patch(INFERENCE_SERVICES, namespace, name, patch)

    def annotate(self, namespace: str, name: str, annotations: Mapping[str, str | None]) -> None:
        patch = {"metadata": {"annotations": dict(annotations)}}
        self.calls.patch(INFERENCE_SERVICES, namespace, name, patch)

    def rollout(self, namespace: str, name: str) -> Obj:
        return self.calls.get(INFERENCE_ROLLOUTS, namespace, name) or {}

    def status(self, namespace: str, name: str) -> dict[str, Any]:
        return dict(self.rollout(namespace, name).get("status") or {})

    def isvc(self, namespace: str, name: str) -> Obj:
        return self.calls.get(INFERENCE_SERVICES, namespace, name) or {}

    def wait_phase(
        self,
        namespace: str,
        name: str,
        phase: str,
        timeout_s: float,
        *,
        interval_s: float = INTERVAL_S,
    ) -> dict[str, Any]:
        found: dict[str, Any] = {}

        def reached() -> bool:
            found.update(self.status(namespace, name))
            return found.get("phase") == phase

        wait_until(
            reached,
            timeout_s,
            lambda: f"{namespace}/{name} {phase} (last status {found})",
            interval_s=interval_s,
        )
        return found

    def wait_decision(
        self,
        namespace: str,
        name: str,
        canary_uri: str,
        timeout_s: float,
        *,
        interval_s: float = INTERVAL_S,
    ) -> dict[str, Any]:
        """Wait until the rollout of `canary_uri` has ended; its final status."""
        found: dict[str, Any] = {}

        def ended() -> bool:
            found.clear()
            found.update(self.status(namespace, name))
            return rollout_ended(found, canary_uri)

        wait_until(
            ended,
            timeout_s,
            lambda: f"{namespace}/{name} to decide (last status {found})",
            interval_s=interval_s,
        )
        return found

    def events(self, namespace: str) -> list[k8s_client.CoreV1Event]:
        return list(self.core.list_namespaced_event(namespace).items)


def rollout_ended(status: Mapping[str, Any], canary_uri: str) -> bool:
    history = status.get("history") or []
    last = history[-1] if history else {}
    finished = bool(last.get("finishedAt")) and last.get("storageUri") == canary_uri
    return finished and status.get("phase") in ("Stable", *FINAL_PHASES)


def public_host(cluster: LocalCluster, namespace: str, name: str) -> str:
    assert cluster.kserve is not None
    return cluster.kserve.config().host(name, namespace)


def set_load(cluster: LocalCluster, namespace: str, name: str, rps: float) -> None:
    """Poisson load to one ISVC's public host through the gateway (0 stops it)."""
    assert cluster.load is not None
    cluster.load.set_rate(Target(public_host(cluster, namespace, name), name), rps)


class NamespacePool:
    """Namespaces the session controller watches; each test takes fresh ones."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        self._free = iter(names)

    def take(self) -> str:
        try:
            return next(self._free)
        except StopIteration:
            raise AssertionError(
                f"the e2e namespace pool ({len(self.names)}) is used up: raise POOL_SIZE"
            ) from None


_unwatched = itertools.count()


def unwatched_namespace(rollouts: Rollouts) -> str:
    """A new namespace the session controller does not watch."""
    name = f"e2e-own-{next(_unwatched)}-{uuid.uuid4().hex[:5]}"
    rollouts.create_namespace(name)
    return name


# --- what the gateway counted -------------------------------------------------------------------


def served_by_workload(cluster: LocalCluster, namespace: str) -> Counter[str]:
    """Requests the ingress gateway sent (reporter="source") per destination workload, so far.

    Read from the exposition of `istio_requests_total` alone: the whole metrics page is mostly
    duration buckets, and parsing it on every route change of a large batch takes the CPU that
    the cluster's servers need to carry the batch's load."""
    assert cluster.gateway is not None
    counts: Counter[str] = Counter()
    for family in text_string_to_metric_families(cluster.gateway.metrics.requests.render()):
        for sample in family.samples:
            if (
                sample.name == "istio_requests_total"
                and sample.labels.get("reporter") == "source"
                and sample.labels.get("destination_workload_namespace") == namespace
            ):
                counts[sample.labels["destination_workload"]] += int(sample.value)
    return counts


def within_binomial(observed: int, total: int, p: float, sds: float = 4.5) -> bool:
    """Whether `observed` of `total` lies within `sds` standard deviations of Binomial(total, p)."""
    if p in (0.0, 1.0):
        return observed == round(total * p)
    return abs(observed - total * p) <= sds * math.sqrt(total * p * (1 - p))


def call_model(cluster: LocalCluster, host: str, model: str, protocol: str) -> int:
    """One V1 predict or V2 infer request through the gateway; the HTTP status answered."""
    assert cluster.gateway is not None
    if protocol == "v1":
        path = f"/v1/models/{model}:predict"
        body: dict[str, Any] = {"instances": [[6.8, 2.8, 4.8, 1.4]]}
    else:
        path = f"/v2/models/{model}/infer"
        body = {
            "inputs": [
                {
                    "name": "input-0",
                    "shape": [1, 4],
                    "datatype": "FP32",
                    "data": [6.8, 2.8, 4.8, 1.4],
                }
            ]
        }
    request = urllib.request.Request(
        cluster.gateway.url + path,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Host": host, "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return int(reply.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


# --- the record of route weights ----------------------------------------------------------------


@dataclass(frozen=True)
class WeightChange:
    """A route's canary weight changed at `at` (monotonic); the gateway's counts at that moment."""

    at: float
    weight: int
    served: Mapping[str, int]


@dataclass(frozen=True)
class PhaseChange:
    """The rollout's phase or step changed at `at`; the gateway's counts at that moment."""

    at: float
    phase: str
    step: int
    served: Mapping[str, int]


@dataclass
class RolloutRecord:
    weights: list[WeightChange] = field(default_factory=list)
    phases: list[PhaseChange] = field(default_factory=list)


def canary_weight_of(kind: Kind, obj: Obj) -> tuple[str, int] | None:
    """(ISVC name, canary percent) a route or a kserve-mode ISVC carries now, if it says."""
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    if kind == INFERENCE_SERVICES:
        annotations = meta.get("annotations") or {}
        if annotations.get("kcanary.io/traffic") != "kserve":
            return None
        percent = (spec.get("predictor") or {}).get("canaryTrafficPercent")
        return (str(meta.get("name")), int(percent)) if percent is not None else None
    name = str(meta.get("name", ""))
    if (meta.get("labels") or {}).get(MANAGED_BY) != "kcanary" or not name.endswith("-kcanary"):
        return None
    isvc = name.removesuffix("-kcanary")
    canary, stable = f"{isvc}-predictor", f"{isvc}-primary-predictor"
    if kind == VIRTUAL_SERVICES:
        entries = [
            (str((d.get("destination") or {}).get("host", "")).split(".")[0], d.get("weight", 0))
            for rule in spec.get("http") or []
            for d in rule.get("route") or []
        ]
    else:
        entries = [
            (str(b.get("name", "")), b.get("weight", 1))
            for rule in spec.get("rules") or []
            for b in rule.get("backendRefs") or []
        ]
    weights = {service: int(weight) for service, weight in entries}
    total = weights.get(canary, 0) + weights.get(stable, 0)
    if total == 0:
        return None
    return isvc, round(100 * weights.get(canary, 0) / total)


class TrafficLog:
    """Watches every route and rollout in the cluster and keeps, per ISVC, its weight changes."""

    def __init__(self, cluster: LocalCluster) -> None:
        self._cluster = cluster
        self._lock = threading.Lock()
        self._records: dict[tuple[str, str], RolloutRecord] = {}
        calls = KubeCalls(cluster.api_client())
        self._feeds = [
            ObjectFeed(calls, kind, self._route_listener(kind))
            for kind in (VIRTUAL_SERVICES, HTTP_ROUTES, INFERENCE_SERVICES)
        ]
        self._feeds.append(ObjectFeed(calls, INFERENCE_ROLLOUTS, self._rollout_changed))

    def start(self) -> None:
        for feed in self._feeds:
            feed.start()
        for feed in self._feeds:
            feed.wait_synced()

    def stop(self) -> None:
        for feed in self._feeds:
            feed.stop()

    def record(self, namespace: str, name: str) -> RolloutRecord:
        with self._lock:
            found = self._records.get((namespace, name), RolloutRecord())
            return RolloutRecord(list(found.weights), list(found.phases))

    def _route_listener(self, kind: Kind) -> Callable[[str, Obj], None]:
        def changed(event: str, obj: Obj) -> None:
            self._route_changed(kind, obj)

        return changed

    def _route_changed(self, kind: Kind, obj: Obj) -> None:
        found = canary_weight_of(kind, obj)
        if found is None:
            return
        name, weight = found
        namespace = str((obj.get("metadata") or {}).get("namespace"))
        with self._lock:
            record = self._records.setdefault((namespace, name), RolloutRecord())
            if record.weights and record.weights[-1].weight == weight:
                return
            served = served_by_workload(self._cluster, namespace)
            record.weights.append(WeightChange(time.monotonic(), weight, served))

    def _rollout_changed(self, event: str, obj: Obj) -> None:
        meta = obj.get("metadata") or {}
        status = obj.get("status") or {}
        phase, step = str(status.get("phase", "")), int(status.get("currentStep") or 0)
        key = (str(meta.get("namespace")), str(meta.get("name")))
        with self._lock:
            record = self._records.setdefault(key, RolloutRecord())
            if not record.phases or (record.phases[-1].phase, record.phases[-1].step) != (
                phase,
                step,
            ):
                served = served_by_workload(self._cluster, key[0])
                record.phases.append(PhaseChange(time.monotonic(), phase, step, served))


def step_windows(
    record: RolloutRecord, cluster: LocalCluster, namespace: str
) -> list[tuple[int, Counter[str]]]:
    """(weight, requests per workload) from each route change to the next change of the route
    or the rollout leaving Progressing (promotion, rollback, a pause), whichever comes first; the
    last one up to now. A step change writes the route, then the status: the route's change is
    the one that counts."""
    marks = sorted(
        [(change.at, change.served) for change in record.weights]
        + [(change.at, change.served) for change in record.phases if change.phase != "Progressing"]
    )
    windows = []
    for change in record.weights:
        ends = [served for at, served in marks if at > change.at]
        end = ends[0] if ends else served_by_workload(cluster, namespace)
        windows.append((change.weight, Counter(end) - Counter(change.served)))
    return windows


def gateway_weights(cluster: LocalCluster, host: str) -> dict[str, int]:
    """Service -> weight of the rule the gateway applies now to a predict request for `host`."""
    assert cluster.gateway is not None
    rule = cluster.gateway.routes.route(host, "/v1/models/iris:predict", {})
    return {} if rule is None else {b.service: b.weight for b in rule.backends}

"""A cluster in memory for the reconciler: the objects, a stand-in for KServe, a scripted analysis
and a fake clock.

The store is traffic's in-memory store with the `/status` write added; it counts the writes the
reconciler makes (not the ones the test makes as KServe or as a user) and can kill the
controller at its k-th write. KServe's part is reduced to what the reconciler reads: an ISVC
whose spec changed is not ready until `settle` reports the new generation Ready.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from reconcile.analysis_run import AnalysisJob
from reconcile.events import EventRecorder
from reconcile.low_traffic import TrafficReader
from reconcile.metrics import MetricsRecorder
from reconcile.reconciler import ReconcileOutcome, Reconciler
from reconcile.resources import CONFIG_MAP, INFERENCE_ROLLOUT, INFERENCE_SERVICE
from rollout.evidence import AnalysisResult, Verdict
from traffic.istio import VIRTUAL_SERVICE
from traffic.memory_store import InMemoryStore
from traffic.store import JsonObject, ObjectRef, PatchType

START = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)
NAMESPACE = "models"

STRATEGY = {
    "kcanary.io/strategy": "canary",
    "kcanary.io/traffic": "istio",
    "kcanary.io/steps": "10,25,50",
    "kcanary.io/interval": "10s",
    "kcanary.io/step-duration": "30s",
    # The scripted analysis judges from the first tick; the warm-up has tests of its own.
    "kcanary.io/warmup": "0s",
}


class Killed(Exception):
    """The controller process died at this write."""


class CountingStore(InMemoryStore):
    """The in-memory store with the status subresource, write counting and a kill switch."""

    def __init__(self) -> None:
        super().__init__()
        self.counting = False
        self.controller_writes = 0
        self.kill_at: int | None = None
        """Kill the controller when it is about to make its write number `kill_at` (0-based)."""

    def _controller_write(self) -> None:
        if not self.counting:
            return
        if self.kill_at is not None and self.controller_writes >= self.kill_at:
            self.kill_at = None
            raise Killed
        self.controller_writes += 1

    def create(self, ref: ObjectRef, obj: JsonObject) -> JsonObject:
        self._controller_write()
        return super().create(ref, obj)

    def patch(
        self,
        ref: ObjectRef,
        patch: JsonObject | list[JsonObject],
        *,
        resource_version: str | None,
        patch_type: PatchType = PatchType.MERGE,
    ) -> JsonObject:
        self._controller_write()
        return super().patch(ref, patch, resource_version=resource_version, patch_type=patch_type)

    def delete(self, ref: ObjectRef) -> None:
        self._controller_write()
        super().delete(ref)

    def patch_status(
        self, ref: ObjectRef, patch: JsonObject, *, resource_version: str | None
    ) -> JsonObject:
        self._controller_write()
        return super().patch(ref, {"status": patch["status"]}, resource_version=resource_version)


class LaggingCache:
    """The reconciler's reader: the store, except for objects a test pins at an old version
    (a watch cache that has not yet seen the latest write)."""

    def __init__(self, store: InMemoryStore) -> None:
        self.store = store
        self.pinned: dict[ObjectRef, JsonObject] = {}

    def get(self, ref: ObjectRef) -> JsonObject | None:
        if ref in self.pinned:
            return copy.deepcopy(self.pinned[ref])
        return self.store.get(ref)


class EventSink:
    def __init__(self) -> None:
        self.events: dict[str, dict[str, Any]] = {}

    def create(self, namespace: str, event: dict[str, Any]) -> dict[str, Any]:
        self.events[event["metadata"]["name"]] = event
        return event

    def patch(self, namespace: str, name: str, patch: dict[str, Any]) -> dict[str, Any]:
        self.events[name].update(patch)
        return self.events[name]

    def of(self, reason: str) -> list[dict[str, Any]]:
        return [event for event in self.events.values() if event["reason"] == reason]


@dataclass
class ScriptedAnalyst:
    """Answers every analysis tick with the verdict `verdict` chooses."""

    verdict: Callable[[AnalysisJob], Verdict] = lambda job: Verdict.PASS
    jobs: list[AnalysisJob] = field(default_factory=list)

    def analyse(self, job: AnalysisJob) -> AnalysisResult:
        self.jobs.append(job)
        verdict = self.verdict(job)
        check = {
            "name": "error-rate-harm",
            "metric": "error_rate",
            "verdict": verdict.value,
            "stable": 0.01,
            "canary": 0.011,
            "effect": 0.001,
            "interval": [-0.002, 0.004],
            "evalue": 1.5,
            "threshold": 40.0,
            "samples": {"stable": 900, "canary": 100},
        }
        return AnalysisResult(job.canary_hash, job.at, verdict, (check,))


def isvc(name: str, storage_uri: str, annotations: dict[str, str]) -> JsonObject:
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {
            "name": name,
            "namespace": NAMESPACE,
            "labels": {"networking.kserve.io/visibility": "cluster-local"},
            "annotations": dict(annotations),
        },
        "spec": {
            "predictor": {"model": {"modelFormat": {"name": "sklearn"}, "storageUri": storage_uri}}
        },
    }


class World:
    """The store, KServe's stand-in, the clock, and a controller that can be killed."""

    def __init__(
        self, analyst: ScriptedAnalyst | None = None, traffic: TrafficReader | None = None
    ) -> None:
        self.store = CountingStore()
        self.traffic = traffic
        """What Prometheus says the ISVC served before a rollout (None: no LowTraffic check)."""
        self.cache = LaggingCache(self.store)
        self.now = START
        self.analyst = analyst or ScriptedAnalyst()
        self.sink = EventSink()
        self.metrics: list[MetricsRecorder] = []
        self.names: list[str] = []
        self.after_settle: list[Callable[[World], None]] = []
        """More of KServe (or observers) to run each time `settle` runs."""
        self.store.put(
            ObjectRef(CONFIG_MAP, "kserve", "inferenceservice-config"),
            {
                "data": {
                    "ingress": json.dumps(
                        {
                            "ingressDomain": "example.com",
                            "ingressGateway": "knative-serving/knative-ingress-gateway",
                        }
                    )
                }
            },
        )
        self.reconciler = self.fresh_controller()

    def fresh_controller(self) -> Reconciler:
        """A newly started controller: nothing in memory but what it reads."""
        metrics = MetricsRecorder()
        self.metrics.append(metrics)
        self.reconciler = Reconciler(
            store=self.store,
            reader=self.cache,
            analyst=self.analyst,
            events=EventRecorder(self.sink, clock=lambda: self.now),
            metrics=metrics,
            clock=lambda: self.now,
            traffic=self.traffic,
        )
        return self.reconciler

    # -- what users and KServe do ---------------------------------------------------------------

    def add_isvc(
        self, name: str, storage_uri: str, annotations: dict[str, str] | None = None
    ) -> None:
        self.names.append(name)
        self.store.put(
            ObjectRef(INFERENCE_SERVICE, NAMESPACE, name),
            isvc(name, storage_uri, STRATEGY if annotations is None else annotations),
        )
        self.settle()

    def deploy(self, name: str, storage_uri: str) -> None:
        self.store.patch(
            ObjectRef(INFERENCE_SERVICE, NAMESPACE, name),
            {"spec": {"predictor": {"model": {"storageUri": storage_uri}}}},
            resource_version=None,
        )

    def annotate(self, name: str, key: str, value: str | None, *, manager: str = "") -> None:
        patch: dict[str, Any] = {"metadata": {"annotations": {key: value}}}
        if manager:
            patch["metadata"]["managedFields"] = [
                {
                    "manager": manager,
                    "operation": "Update",
                    "time": self.now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "fieldsV1": {"f:metadata": {"f:annotations": {f"f:{key}": {}}}},
                }
            ]
        self.store.patch(
            ObjectRef(INFERENCE_SERVICE, NAMESPACE, name), patch, resource_version=None
        )

    def settle(self) -> None:
        """KServe: every InferenceService is Ready for its current generation."""
        for name in [*self.names, *(f"{name}-primary" for name in self.names)]:
            ref = self.store_ref(name)
            obj = self.store.get(ref)
            if obj is None:
                continue
            generation = obj["metadata"].get("generation", 1)
            if (obj.get("status") or {}).get("observedGeneration") == generation:
                continue
            status = {
                "observedGeneration": generation,
                "conditions": [{"type": "Ready", "status": "True"}],
            }
            self.store.patch(ref, {"status": status}, resource_version=None)
        for hook in self.after_settle:
            hook(self)

    # -- what the controller does -----------------------------------------------------------------

    def reconcile(self, name: str) -> ReconcileOutcome:
        self.store.counting = True
        try:
            return self.reconciler.reconcile((NAMESPACE, name))
        finally:
            self.store.counting = False

    def run(
        self,
        name: str,
        until: Callable[[World], bool],
        *,
        every: float = 5.0,
        limit: float = 3600,
        on_kill: Callable[[World], None] | None = None,
    ) -> None:
        """Reconcile, let KServe settle, advance the clock; until `until` holds."""
        deadline = self.now + timedelta(seconds=limit)
        while True:
            try:
                outcome = self.reconcile(name)
            except Killed:
                self.fresh_controller()
                if on_kill is not None:
                    on_kill(self)
                continue
            assert outcome.error is None or outcome.conflict, outcome.error
            self.settle()
            if until(self):
                return
            assert self.now < deadline, f"still {self.phase(name)}: {self.status(name)}"
            self.now += timedelta(seconds=every)

    # -- what tests look at ---------------------------------------------------------------------

    def store_ref(self, name: str) -> ObjectRef:
        return ObjectRef(INFERENCE_SERVICE, NAMESPACE, name)

    def get(self, resource: Any, name: str) -> JsonObject | None:
        return self.store.get(ObjectRef(resource, NAMESPACE, name))

    def status(self, name: str) -> dict[str, Any]:
        rollout = self.get(INFERENCE_ROLLOUT, name)
        return dict((rollout or {}).get("status") or {})

    def phase(self, name: str) -> str | None:
        return self.status(name).get("phase")

    def route_weight(self, name: str) -> int | None:
        route = self.get(VIRTUAL_SERVICE, f"{name}-kcanary")
        if route is None:
            return None
        destinations = route["spec"]["http"][0]["route"]
        return int(destinations[1]["weight"])

    def route_writes(self) -> list[Any]:
        return [
            record
            for record in self.store.log
            if record.accepted and record.ref.resource == VIRTUAL_SERVICE
        ]

    def decisions(self, decision: str) -> float:
        total = 0.0
        for metrics in self.metrics:
            value = metrics.registry.get_sample_value(
                "kcanary_decisions_total",
                {"namespace": NAMESPACE, "name": "iris", "decision": decision},
            )
            total += value or 0.0
        return total


def weights_seen(world: World) -> list[int]:
    """The route's canary weight after each accepted write to it."""
    seen = []
    for record in world.route_writes():
        if record.verb == "delete":
            continue
        if record.verb == "create":
            seen.append(int(record.body["spec"]["http"][0]["route"][1]["weight"]))
        else:
            ops = {op["path"]: op for op in record.body if op.get("op") == "replace"}
            spec = ops["/spec"]["value"]
            seen.append(int(spec["http"][0]["route"][1]["weight"]))
    return seen

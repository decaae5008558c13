"""The Deployment controller and kubelet of the local cluster, in one loop.

It watches Deployments through the API and keeps each one's pods (model servers) in step with its
pod template, as kube-controller-manager's Deployment controller with the default RollingUpdate
strategy does (maxSurge 25% rounded up, maxUnavailable 25% rounded down: for a handful of replicas
one extra pod and none unavailable): new pods start beside the old ones, an old pod goes only once
enough pods are ready without it, so during a rollout old and new model servers serve under the
same workload name. It writes the status the real controller writes (observedGeneration,
replicas, updatedReplicas, readyReplicas, availableReplicas, unavailableReplicas, conditions
Available and Progressing). A Deployment that is gone (deleted, or collected with its owner)
loses its pods.

Hostile switches (`DeploymentHostility`): old pods that keep serving for a while after the
rollout removed them (a long termination grace period with connections still draining, so
back-to-back rollouts leave several pod generations serving at once), and extra startup time for
every new pod (slow readiness). Terminating pods no longer count in the Deployment's status.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sim.kube_calls import DEPLOYMENTS, KubeCalls, Obj
from sim.object_feed import ObjectFeed
from sim.pods import PodRecord, PodRegistry, PodTemplateError, server_spec, template_hash

log = logging.getLogger(__name__)

TICK_S = 0.1
PROGRESS_DEADLINE_S = 600


@dataclass
class DeploymentHostility:
    """Switches for behaviour a real cluster shows and a lenient one hides."""

    old_pods_linger_s: float = 0.0  # removed pods keep serving this long while terminating
    extra_startup_s: float = 0.0  # added to every new pod's startup delay


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class DeploymentController:
    """Runs the pods of every Deployment; see the module docstring."""

    def __init__(
        self,
        calls: KubeCalls,
        pods: PodRegistry,
        hostility: DeploymentHostility | None = None,
    ) -> None:
        self._calls = calls
        self._pods = pods
        self.hostility = hostility or DeploymentHostility()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._feed = ObjectFeed(calls, DEPLOYMENTS, lambda kind, obj: self._wake.set())
        self._thread: threading.Thread | None = None
        self._terminating: dict[str, float] = {}  # pod name -> when its removal began
        self._progress_since: dict[tuple[str, str], tuple[str, float]] = {}
        self._bad_templates: dict[tuple[str, str], str] = {}

    def start(self) -> None:
        self._feed.start()
        self._feed.wait_synced()
        self._thread = threading.Thread(target=self._run, name="deployments", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the controller; the pods keep running (a new controller adopts them)."""
        self._stop.set()
        self._wake.set()
        self._feed.stop()
        if self._thread is not None:
            self._thread.join(10)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(TICK_S)
            self._wake.clear()
            try:
                self.sync_all()
            except Exception:
                log.exception("deployment controller tick failed")

    def sync_all(self) -> None:
        live = set()
        for deployment in self._feed.items():
            meta = deployment.get("metadata") or {}
            key = (str(meta.get("namespace")), str(meta.get("name")))
            live.add(key)
            if meta.get("deletionTimestamp"):
                continue
            try:
                self._sync(key, deployment)
            except Exception:  # one Deployment's trouble must not stall every other one
                log.exception("deployment %s/%s: sync failed", *key)
        for record in self._pods.all():
            if (record.namespace, record.owner) not in live:
                self._terminating.pop(record.name, None)
                self._pods.delete_pod(record)
            elif record.name in self._terminating:
                began = self._terminating[record.name]
                if time.monotonic() - began >= self.hostility.old_pods_linger_s:
                    del self._terminating[record.name]
                    self._pods.delete_pod(record)

    def _sync(self, key: tuple[str, str], deployment: Obj) -> None:
        namespace, name = key
        spec = deployment.get("spec") or {}
        template = spec.get("template") or {}
        replicas = int(spec.get("replicas", 1))
        current = template_hash(template)
        pods = [p for p in self._pods.owned_by(namespace, name) if p.name not in self._terminating]
        new = [p for p in pods if p.template_hash == current]
        old = [p for p in pods if p.template_hash != current]
        surge = max(1, -(-replicas * 25 // 100)) if replicas else 0

        # Scale the new pods up, within the surge.
        room = replicas + surge - len(pods)
        wanted = min(replicas - len(new), room)
        if wanted > 0:
            try:
                server = server_spec(template, self.hostility.extra_startup_s)
            except PodTemplateError as error:
                self._bad_templates[key] = str(error)
                wanted = 0
            else:
                self._bad_templates.pop(key, None)
            for _ in range(wanted):
                new.append(self._pods.start_pod(namespace, name, current, template, server))
        for extra in new[replicas:]:
            self._remove(extra)
        new = new[:replicas]

        # Scale the old pods down while enough pods stay ready (unready old pods go at once).
        ready = sum(1 for p in new + old if p.ready)
        for pod in sorted(old, key=lambda p: p.ready):
            if pod.ready and ready - 1 < replicas:
                continue
            self._remove(pod)
            old.remove(pod)
            if pod.ready:
                ready -= 1
        self._write_status(key, deployment, new, old, replicas)

    def _remove(self, pod: PodRecord) -> None:
        """Delete a pod, or with lingering switched on let it terminate slowly, still serving."""
        if self.hostility.old_pods_linger_s > 0:
            self._terminating[pod.name] = time.monotonic()
        else:
            self._pods.delete_pod(pod)

    def _write_status(
        self,
        key: tuple[str, str],
        deployment: Obj,
        new: list[PodRecord],
        old: list[PodRecord],
        replicas: int,
    ) -> None:
        generation = int((deployment.get("metadata") or {}).get("generation") or 1)
        ready = sum(1 for p in new + old if p.ready)
        total = len(new) + len(old)
        complete = len(new) == replicas and not old and ready >= replicas
        status_before: dict[str, Any] = deployment.get("status") or {}
        conditions = {c.get("type"): c for c in status_before.get("conditions") or []}

        available = ready >= replicas  # maxUnavailable 0 for small replica counts
        progress_key, since = self._progress_since.get(key, ("", time.monotonic()))
        marker = f"{generation}/{len(new)}/{ready}"
        if marker != progress_key:
            self._progress_since[key] = (marker, time.monotonic())
            since = time.monotonic()
        if complete:
            progressing = ("True", "NewReplicaSetAvailable", "has successfully progressed.")
        elif key in self._bad_templates:
            progressing = ("False", "ReplicaSetCreateError", self._bad_templates[key])
        elif time.monotonic() - since > PROGRESS_DEADLINE_S:
            progressing = ("False", "ProgressDeadlineExceeded", "has timed out progressing.")
        else:
            progressing = ("True", "ReplicaSetUpdated", "is progressing.")
        name = key[1]
        current_hash = template_hash((deployment.get("spec") or {}).get("template") or {})
        wanted_conditions = [
            _condition(
                conditions.get("Available"),
                "Available",
                "True" if available else "False",
                "MinimumReplicasAvailable" if available else "MinimumReplicasUnavailable",
                "Deployment has minimum availability."
                if available
                else "Deployment does not have minimum availability.",
            ),
            _condition(
                conditions.get("Progressing"),
                "Progressing",
                progressing[0],
                progressing[1],
                f'ReplicaSet "{name}-{current_hash}" {progressing[2]}',
            ),
        ]
        status: dict[str, Any] = {
            "observedGeneration": generation,
            "replicas": total,
            "updatedReplicas": len(new),
            "readyReplicas": ready,
            "availableReplicas": ready,
            "unavailableReplicas": max(0, replicas - ready),
            "conditions": wanted_conditions,
        }
        if _same_status(status_before, status):
            return
        self._calls.patch_status(DEPLOYMENTS, key[0], key[1], status)


def _condition(
    before: dict[str, Any] | None, type_: str, status: str, reason: str, message: str
) -> dict[str, Any]:
    stamp = now_rfc3339()
    flipped = before is None or before.get("status") != status
    same = before is not None and not flipped and before.get("reason") == reason
    return {
        "type": type_,
        "status": status,
        "reason": reason,
        "message": message,
        "lastUpdateTime": before.get("lastUpdateTime", stamp) if same and before else stamp,
        "lastTransitionTime": before.get("lastTransitionTime", stamp)
        if before and not flipped
        else stamp,
    }


def _same_status(before: dict[str, Any], after: dict[str, Any]) -> bool:
    def strip(status: dict[str, Any]) -> dict[str, Any]:
        conditions = [
            {k: v for k, v in c.items() if k not in ("lastUpdateTime", "lastTransitionTime")}
            for c in status.get("conditions") or []
        ]
        return {**{k: v for k, v in status.items() if k != "conditions"}, "conditions": conditions}

    return strip(before) == strip(after)

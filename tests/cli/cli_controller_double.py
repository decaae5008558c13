"""A stand-in for the kcanary controller, so the CLI is tested against what the controller writes.

It runs the real state machine (`rollout.step`) on what it watches of the ISVCs in one
namespace, and carries out the machine's answer the way the controller does: the status written
through `rollout.to_status` (the commit point), then the action annotation removed with a
guarded JSON patch, then the Events. Routers and the primary copy are a memory of what was
asked: the weight read back is the last one set, and a promotion in the router is complete as
soon as it was asked for. Analysis results are handed in by the test (`analyse`).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from kubernetes import client as k8s_client
from kubernetes import watch as k8s_watch
from kubernetes.client.exceptions import ApiException

from rollout import (
    AnalysisResult,
    ConsumeAction,
    EmitEvent,
    ManualRequest,
    Observations,
    PromoteInRouter,
    SetWeight,
    Workload,
    from_status,
    parse_strategy,
    revision_of,
    step,
    to_status,
)

ISVC = ("serving.kserve.io", "v1beta1", "inferenceservices")
ROLLOUT = ("kcanary.io", "v1alpha1", "inferencerollouts")
ACTION = "kcanary.io/action"


class ControllerDouble:
    """Reconciles every ISVC with the strategy annotation in `namespace`, on a thread."""

    def __init__(self, api: k8s_client.ApiClient, namespace: str) -> None:
        self._custom = k8s_client.CustomObjectsApi(api)
        self._core = k8s_client.CoreV1Api(api)
        self.namespace = namespace
        self._lock = threading.Lock()
        self._weights: dict[str, int] = {}
        self._promoted: dict[str, str] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="controller-double", daemon=True)
        self.ready = threading.Event()
        self.refuse_silently = False
        """Remove action annotations without recording or explaining anything (a rogue user)."""

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> ControllerDouble:
        self._thread.start()
        assert self.ready.wait(10), "the controller double did not start watching"
        return self

    def stop(self) -> None:
        self._stop.set()
        # Wake the watch at once rather than at its timeout: any change in the namespace will do.
        wake = {
            "apiVersion": "serving.kserve.io/v1beta1",
            "kind": "InferenceService",
            "metadata": {"generateName": "wake-"},
            "spec": {"predictor": {"model": {"modelFormat": {"name": "sklearn"}}}},
        }
        self._custom.create_namespaced_custom_object(*ISVC[:2], self.namespace, ISVC[2], wake)
        self._thread.join(timeout=10)
        assert not self._thread.is_alive(), "the controller double did not stop"

    def _run(self) -> None:
        listed: Any = self._custom.list_namespaced_custom_object(*ISVC[:2], self.namespace, ISVC[2])
        version = listed["metadata"]["resourceVersion"]
        for item in listed["items"]:
            self.reconcile(item["metadata"]["name"])
        self.ready.set()
        while not self._stop.is_set():
            watcher = k8s_watch.Watch()  # type: ignore[no-untyped-call]
            for event in watcher.stream(  # type: ignore[no-untyped-call]
                self._custom.list_namespaced_custom_object,
                *ISVC[:2],
                self.namespace,
                ISVC[2],
                resource_version=version,
                timeout_seconds=1,
            ):
                if self._stop.is_set():
                    watcher.stop()  # type: ignore[no-untyped-call]
                    break
                obj = event["raw_object"]
                version = obj["metadata"]["resourceVersion"]
                if event["type"] != "DELETED":
                    self.reconcile(obj["metadata"]["name"])

    # -- reconciling -------------------------------------------------------------------------

    def reconcile(self, name: str, analysis: AnalysisResult | None = None) -> dict[str, Any]:
        """Run the machine until it settles; the status last written."""
        with self._lock:
            status: dict[str, Any] = {}
            for _ in range(6):
                isvc = self._isvc(name)
                annotations = isvc["metadata"].get("annotations") or {}
                if "kcanary.io/strategy" not in annotations:
                    return status
                if self.refuse_silently and ACTION in annotations:
                    self._consume(name, annotations[ACTION])
                    return status
                rollout = self._rollout(name, isvc)
                before = rollout.get("status") or {}
                transition = step(
                    from_status(before), self._observe(isvc, before, analysis), datetime.now(UTC)
                )
                analysis = None
                status = to_status(transition.state)
                for action in transition.before_commit:
                    if isinstance(action, SetWeight):
                        self._weights[name] = action.weight
                    elif isinstance(action, PromoteInRouter):
                        self._promoted[name] = action.revision.hash
                if status != before:
                    rollout["status"] = status
                    self._custom.replace_namespaced_custom_object_status(
                        *ROLLOUT[:2], self.namespace, ROLLOUT[2], name, rollout
                    )
                for action in transition.after_commit:
                    if isinstance(action, ConsumeAction):
                        self._consume(name, action.action)
                    elif isinstance(action, EmitEvent):
                        self.event(name, isvc, action.type.value, action.reason, action.message)
                if status == before and not transition.actions:
                    return status
            return status

    def analyse(self, name: str, result: AnalysisResult) -> dict[str, Any]:
        return self.reconcile(name, analysis=result)

    def _observe(
        self, isvc: Mapping[str, Any], status: Mapping[str, Any], analysis: AnalysisResult | None
    ) -> Observations:
        name = isvc["metadata"]["name"]
        annotations = isvc["metadata"].get("annotations") or {}
        action = annotations.get(ACTION)
        canary = (status.get("canary") or {}).get("revision")
        return Observations(
            strategy=parse_strategy(annotations),
            isvc=Workload(revision=revision_of(isvc), ready=True),
            weight=self._weights.get(name),
            promotion_complete=canary is not None and self._promoted.get(name) == canary,
            analysis=analysis,
            request=ManualRequest(action, by="someone@example.com") if action else None,
            generation=isvc["metadata"].get("generation"),
        )

    # -- the API -----------------------------------------------------------------------------

    def _isvc(self, name: str) -> dict[str, Any]:
        found: Any = self._custom.get_namespaced_custom_object(
            *ISVC[:2], self.namespace, ISVC[2], name
        )
        return dict(found)

    def _rollout(self, name: str, isvc: Mapping[str, Any]) -> dict[str, Any]:
        try:
            found: Any = self._custom.get_namespaced_custom_object(
                *ROLLOUT[:2], self.namespace, ROLLOUT[2], name
            )
            return dict(found)
        except ApiException as error:
            if error.status != 404:
                raise
        body = {
            "apiVersion": "kcanary.io/v1alpha1",
            "kind": "InferenceRollout",
            "metadata": {
                "name": name,
                "ownerReferences": [
                    {
                        "apiVersion": "serving.kserve.io/v1beta1",
                        "kind": "InferenceService",
                        "name": name,
                        "uid": isvc["metadata"]["uid"],
                        "controller": True,
                    }
                ],
            },
            "spec": {"targetRef": {"name": name}},
        }
        created: Any = self._custom.create_namespaced_custom_object(
            *ROLLOUT[:2], self.namespace, ROLLOUT[2], body
        )
        return dict(created)

    def _consume(self, name: str, action: str) -> None:
        path = "/metadata/annotations/" + ACTION.replace("~", "~0").replace("/", "~1")
        patch = [{"op": "test", "path": path, "value": action}, {"op": "remove", "path": path}]
        try:
            self._custom.patch_namespaced_custom_object(
                *ISVC[:2],
                self.namespace,
                ISVC[2],
                name,
                patch,
                _content_type="application/json-patch+json",
            )
        except ApiException as error:
            if error.status not in (404, 409, 422):
                raise

    def event(
        self, name: str, isvc: Mapping[str, Any], kind: str, reason: str, message: str
    ) -> None:
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        event: Any = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {
                "name": f"{name}.{uuid.uuid4().hex[:16]}",
                "namespace": self.namespace,
            },
            "involvedObject": {
                "apiVersion": "serving.kserve.io/v1beta1",
                "kind": "InferenceService",
                "namespace": self.namespace,
                "name": name,
                "uid": isvc["metadata"]["uid"],
            },
            "type": kind,
            "reason": reason,
            "message": message,
            "source": {"component": "kcanary-controller"},
            "reportingComponent": "kcanary-controller",
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
        }
        self._core.create_namespaced_event(self.namespace, event)

"""The controller process against the local API server: list+watch, the Lease, status writes
through /status, and a CRD that keeps every status field the controller writes.

KServe's part is played by the test: a thread marks every InferenceService Ready for its current
generation, as KServe would once the pods serve.
"""

from __future__ import annotations

import copy
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any, cast

import pytest
from kubernetes import client as k8s_client

from reconcile.analysis_run import STATUS_CHECK_FIELDS, AnalysisJob
from reconcile.controller import Controller, ControllerConfig
from reconcile.leader import LeaseConfig
from reconcile.resources import INFERENCE_ROLLOUT
from rollout.evidence import AnalysisResult, Verdict
from traffic.istio import VIRTUAL_SERVICE
from traffic.patches import apply_merge_patch
from traffic.store import JsonObject, ObjectRef

V1, V2 = "s3://models/iris/v1", "s3://models/iris/v2"
GROUP, VERSION = "serving.kserve.io", "v1beta1"

ANNOTATIONS = {
    "kcanary.io/strategy": "canary",
    "kcanary.io/traffic": "istio",
    "kcanary.io/steps": "50",
    "kcanary.io/interval": "1s",
    "kcanary.io/step-duration": "2s",
    "kcanary.io/warmup": "0s",  # the analysis is scripted: nothing to warm up
}


class PassingAnalyst:
    """Every analysis tick passes, with evidence in every field the status has."""

    def analyse(self, job: AnalysisJob) -> AnalysisResult:
        check = {
            "name": "error-rate-noninferiority",
            "metric": "error_rate",
            "verdict": "Pass",
            "stable": 0.01,
            "canary": 0.0098,
            "effect": -0.0002,
            "interval": [-0.003, 0.0026],
            "evalue": 25.5,
            "threshold": 20.0,
            "samples": {"stable": 1200, "canary": 1180},
        }
        return AnalysisResult(job.canary_hash, job.at, Verdict.PASS, (check,))


def wait_for(condition: Callable[[], Any], timeout_s: float = 20.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what or condition}"
        time.sleep(0.05)


class KServeStandIn:
    """Marks every InferenceService of one namespace Ready for its current generation."""

    def __init__(self, api: k8s_client.CustomObjectsApi, namespace: str) -> None:
        self._api = api
        self._namespace = namespace
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> KServeStandIn:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            listed = cast(
                dict[str, Any],
                self._api.list_namespaced_custom_object(
                    GROUP, VERSION, self._namespace, "inferenceservices"
                ),
            )
            for isvc in listed["items"]:
                generation = isvc["metadata"].get("generation", 1)
                if (isvc.get("status") or {}).get("observedGeneration") == generation:
                    continue
                self._api.patch_namespaced_custom_object_status(
                    GROUP,
                    VERSION,
                    self._namespace,
                    "inferenceservices",
                    isvc["metadata"]["name"],
                    {
                        "status": {
                            "observedGeneration": generation,
                            "conditions": [{"type": "Ready", "status": "True"}],
                        }
                    },
                )


class RecordedStatus:
    """Every status patch the controller sent, applied in order: the status it meant to write."""

    def __init__(self, controller: Controller) -> None:
        self.intended: dict[ObjectRef, JsonObject] = {}
        original = controller.store.patch_status

        def patch_status(
            ref: ObjectRef, patch: JsonObject, *, resource_version: str | None
        ) -> JsonObject:
            stored = original(ref, patch, resource_version=resource_version)
            base = self.intended.get(ref, {})
            self.intended[ref] = apply_merge_patch(copy.deepcopy(base), patch["status"])
            return stored

        controller.store.patch_status = patch_status  # type: ignore[method-assign]


@pytest.fixture
def custom_api(kube_api_client: k8s_client.ApiClient) -> k8s_client.CustomObjectsApi:
    return k8s_client.CustomObjectsApi(kube_api_client)


@pytest.fixture
def controller(kube_api_client: k8s_client.ApiClient, namespace: str) -> Iterator[Controller]:
    config = ControllerConfig(
        namespaces=(namespace,),
        identity="test-controller",
        lease=LeaseConfig(
            namespace=namespace,
            name="kcanary-controller",
            identity="test-controller",
            lease_duration_s=3.0,
            renew_deadline_s=2.0,
            retry_period_s=0.5,
        ),
        metrics_address=("127.0.0.1", 0),
        health_address=("127.0.0.1", 0),
        workers=2,
    )
    running = Controller(kube_api_client, PassingAnalyst(), config)
    running.start()
    try:
        yield running
    finally:
        running.stop()


def rollout_status(custom_api: k8s_client.CustomObjectsApi, namespace: str) -> dict[str, Any]:
    try:
        found = cast(
            dict[str, Any],
            custom_api.get_namespaced_custom_object(
                "kcanary.io", "v1alpha1", namespace, "inferencerollouts", "iris"
            ),
        )
    except k8s_client.ApiException:
        return {}
    return dict(found.get("status") or {})


def test_the_controller_rolls_out_through_the_api_server_and_the_crd_keeps_its_status(
    controller: Controller,
    custom_api: k8s_client.CustomObjectsApi,
    namespace: str,
) -> None:
    recorded = RecordedStatus(controller)
    isvc = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "InferenceService",
        "metadata": {
            "name": "iris",
            "labels": {"networking.kserve.io/visibility": "cluster-local"},
            "annotations": ANNOTATIONS,
        },
        "spec": {"predictor": {"model": {"modelFormat": {"name": "sklearn"}, "storageUri": V1}}},
    }
    with KServeStandIn(custom_api, namespace):
        custom_api.create_namespaced_custom_object(
            GROUP, VERSION, namespace, "inferenceservices", isvc
        )
        wait_for(
            lambda: rollout_status(custom_api, namespace).get("phase") == "Stable", what="Stable"
        )
        assert controller.is_leader
        custom_api.patch_namespaced_custom_object(
            GROUP,
            VERSION,
            namespace,
            "inferenceservices",
            "iris",
            {"spec": {"predictor": {"model": {"storageUri": V2}}}},
        )
        wait_for(
            lambda: rollout_status(custom_api, namespace).get("lastAnalysis"),
            what="an analysis in the status",
        )
        wait_for(
            lambda: (
                (rollout_status(custom_api, namespace).get("stable") or {}).get("storageUri") == V2
            ),
            what="promotion",
        )

    status = rollout_status(custom_api, namespace)
    ref = ObjectRef(INFERENCE_ROLLOUT, namespace, "iris")
    assert status == recorded.intended[ref], "the server pruned or changed what was written"
    (check,) = status["lastAnalysis"]["checks"]
    assert set(check) == set(STATUS_CHECK_FIELDS)
    (entry,) = status["history"]
    assert (entry["storageUri"], entry["outcome"]) == (V2, "promoted")
    route = controller.store.get(ObjectRef(VIRTUAL_SERVICE, namespace, "iris-kcanary"))
    assert route is not None
    assert [d["weight"] for d in route["spec"]["http"][0]["route"]] == [100, 0]

    # Idle: more reconciles write nothing (the status the server returns is the one computed).
    version = controller.store.get(ref)["metadata"]["resourceVersion"]  # type: ignore[index]

    def reconciles() -> float:
        count = controller.metrics.registry.get_sample_value(
            "kcanary_reconcile_duration_seconds_count"
        )
        return count or 0.0

    for _ in range(3):
        before = reconciles()
        controller.queue.add((namespace, "iris"))
        wait_for(lambda: reconciles() > before, what="another reconcile")  # noqa: B023
    assert controller.store.get(ref)["metadata"]["resourceVersion"] == version  # type: ignore[index]

    metrics = (
        urllib.request.urlopen(f"http://127.0.0.1:{controller.metrics_port}/metrics", timeout=5)
        .read()
        .decode()
    )
    assert (
        f'kcanary_decisions_total{{decision="promoted",name="iris",namespace="{namespace}"}} 1.0'
        in metrics
    )
    assert "kcanary_reconcile_duration_seconds_count" in metrics
    health = urllib.request.urlopen(f"http://127.0.0.1:{controller.health_port}/readyz", timeout=5)
    assert health.status == 200


def test_a_standby_controller_acts_only_once_the_leader_is_gone(
    kube_api_client: k8s_client.ApiClient,
    custom_api: k8s_client.CustomObjectsApi,
    namespace: str,
) -> None:
    def controller(identity: str) -> Controller:
        config = ControllerConfig(
            namespaces=(namespace,),
            identity=identity,
            lease=LeaseConfig(
                namespace=namespace,
                name="kcanary-controller",
                identity=identity,
                lease_duration_s=2.0,
                renew_deadline_s=1.5,
                retry_period_s=0.2,
            ),
            workers=1,
        )
        return Controller(kube_api_client, PassingAnalyst(), config)

    first, second = controller("first"), controller("second")
    first.start()
    try:
        wait_for(lambda: first.is_leader, what="the first to lead")
        second.start()
        wait_for(second.ready, what="the standby's caches")
        assert not second.is_leader
        isvc = {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "InferenceService",
            "metadata": {"name": "iris", "annotations": {"kcanary.io/strategy": "canary"}},
            "spec": {"predictor": {"model": {"modelFormat": {"name": "sklearn"}}}},
        }
        custom_api.create_namespaced_custom_object(
            GROUP, VERSION, namespace, "inferenceservices", isvc
        )
        wait_for(lambda: rollout_status(custom_api, namespace), what="the leader's status")
        first.stop()
        wait_for(lambda: second.is_leader, timeout_s=10, what="the standby to take over")
        wait_for(
            lambda: second.metrics.registry.get_sample_value(
                "kcanary_reconcile_duration_seconds_count"
            ),
            what="the new leader to reconcile what it knows",
        )
    finally:
        first.stop()
        second.stop()

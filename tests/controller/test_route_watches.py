"""The controller watches the route kinds: a route changed by hand queues the ISVC it serves, and
a route kind whose CRD is not installed neither holds up readiness nor breaks reads."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubectl_harness import api_client_for
from kubernetes import client as k8s_client
from polling import wait_until

from reconcile.analysis_run import AnalysisJob
from reconcile.controller import CachedObjects, Controller, ControllerConfig
from reconcile.informer import Informer
from reconcile.kube_listwatch import KubeListWatch
from reconcile.kube_store import KubeStore
from rollout.evidence import AnalysisResult, Verdict
from sim.apiserver.server import DEFAULT_CRD_DIRS, APIServer
from traffic.gateway_api import HTTP_ROUTE
from traffic.istio import VIRTUAL_SERVICE
from traffic.store import ObjectRef, ResourceType

NOT_INSTALLED = ResourceType("nothing.kcanary.test", "v1", "Thing", "things")


class PassingAnalyst:
    def analyse(self, job: AnalysisJob) -> AnalysisResult:
        return AnalysisResult(job.canary_hash, job.at, Verdict.PASS, ())


def owned_route(name: str, isvc: str, uid: str) -> dict[str, Any]:
    return {
        "apiVersion": VIRTUAL_SERVICE.api_version,
        "kind": VIRTUAL_SERVICE.kind,
        "metadata": {
            "name": name,
            "labels": {"app.kubernetes.io/managed-by": "kcanary"},
            "ownerReferences": [
                {
                    "apiVersion": "serving.kserve.io/v1beta1",
                    "kind": "InferenceService",
                    "name": isvc,
                    "uid": uid,
                    "controller": True,
                }
            ],
        },
        "spec": {"hosts": ["iris.example.com"], "http": [{"route": []}]},
    }


def test_an_uninstalled_kind_settles_its_informer_and_is_read_from_the_api_server(
    kube_api_client: k8s_client.ApiClient, namespace: str
) -> None:
    source = KubeListWatch(kube_api_client, NOT_INSTALLED, namespace=namespace)
    informer = Informer(source, lambda t, o: None, name="things", missing_kind_retry_s=600)
    informer.start()
    try:
        assert informer.wait_until_settled(10)
        assert informer.kind_missing() and not informer.serving()
        reader = CachedObjects(KubeStore(kube_api_client), {(NOT_INSTALLED, namespace): informer})
        assert reader.get(ObjectRef(NOT_INSTALLED, namespace, "a")) is None  # the server's 404
    finally:
        informer.stop()
        source.close()
        informer.join(5)
    assert informer.lists == 0


@pytest.fixture
def idle_controller(kube_api_client: k8s_client.ApiClient, namespace: str) -> Iterator[Controller]:
    """A controller that leads but has no workers: what it queues stays in its queue."""
    config = ControllerConfig(namespaces=(namespace,), identity="t", workers=0)
    running = Controller(kube_api_client, PassingAnalyst(), config)
    running.start()
    try:
        yield running
    finally:
        running.stop()


def test_a_route_changed_by_hand_queues_the_isvc_that_owns_it(
    idle_controller: Controller, kube_api_client: k8s_client.ApiClient, namespace: str
) -> None:
    custom = k8s_client.CustomObjectsApi(kube_api_client)
    # A real owner: the garbage collector deletes what an absent owner "owns".
    owner = custom.create_namespaced_custom_object(
        "serving.kserve.io", "v1beta1", namespace, "inferenceservices",
        {
            "apiVersion": "serving.kserve.io/v1beta1",
            "kind": "InferenceService",
            "metadata": {"name": "iris"},
            "spec": {"predictor": {"model": {"modelFormat": {"name": "sklearn"}}}},
        },
    )  # fmt: skip
    idle_controller.queue.get(timeout_s=5)  # the ISVC's own event
    idle_controller.queue.done((namespace, "iris"))
    group, version, plural = "networking.istio.io", "v1", "virtualservices"
    custom.create_namespaced_custom_object(
        group, version, namespace, plural,
        owned_route("iris-kcanary", "iris", owner["metadata"]["uid"]),
    )  # fmt: skip
    assert wait_until(lambda: idle_controller.queue.get(timeout_s=0.1), 20, "the ISVC queued") == (
        namespace,
        "iris",
    )
    idle_controller.queue.done((namespace, "iris"))
    reader = idle_controller.reconciler._reader
    ref = ObjectRef(VIRTUAL_SERVICE, namespace, "iris-kcanary")
    wait_until(lambda: reader.get(ref) is not None, 20, "the route in the cache")

    custom.patch_namespaced_custom_object(
        group, version, namespace, plural, "iris-kcanary", {"spec": {"hosts": ["x.example.com"]}}
    )
    assert wait_until(lambda: idle_controller.queue.get(timeout_s=0.1), 20, "the ISVC queued") == (
        namespace,
        "iris",
    )
    cached = reader.get(ref)
    assert cached is not None and cached["spec"]["hosts"] == ["x.example.com"]


@pytest.fixture
def server_without_gateway_api(tmp_path: Path) -> Iterator[APIServer]:
    crds = tmp_path / "crds"
    crds.mkdir()
    for directory in DEFAULT_CRD_DIRS:
        for crd in directory.glob("*.yaml"):
            if not crd.name.startswith("gateway.networking.k8s.io_"):
                shutil.copy(crd, crds / crd.name)
    server = APIServer(crd_dirs=[crds])
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_a_cluster_without_the_gateway_api_gets_a_ready_controller(
    server_without_gateway_api: APIServer, tmp_path: Path
) -> None:
    kubeconfig = server_without_gateway_api.write_kubeconfig(tmp_path / "config")
    for api_client in api_client_for(kubeconfig):
        controller = Controller(
            api_client, PassingAnalyst(), ControllerConfig(identity="t", workers=0)
        )
        controller.start()
        try:
            assert controller.ready()
            routes = controller._informers[(HTTP_ROUTE, "")]
            assert routes.kind_missing()
            assert controller._informers[(VIRTUAL_SERVICE, "")].serving()
            reader = controller.reconciler._reader
            assert reader.get(ObjectRef(HTTP_ROUTE, "default", "iris-kcanary")) is None
        finally:
            controller.stop()

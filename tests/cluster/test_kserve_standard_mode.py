"""Standard mode as KServe runs it: Deployment, Service, ingress, rolling updates, ownership."""

from __future__ import annotations

import threading
from typing import Any

from cluster_checks import (
    apply,
    condition,
    host_of,
    isvc,
    isvc_manifest,
    send,
    split_of,
    wait_ready,
    wait_until,
)
from kubectl_harness import Kubectl
from kubernetes import client as k8s_client

from sim.cluster import LocalCluster
from sim.kube_calls import DEPLOYMENTS, INFERENCE_SERVICES, INGRESSES, SERVICES, KubeCalls

CLUSTER_LOCAL = {"networking.kserve.io/visibility": "cluster-local"}


def test_a_public_isvc_gets_kserves_ingress_and_answers_on_its_host(
    local_cluster: LocalCluster,
    pinned_kubectl: Kubectl,
    kube_api_client: k8s_client.ApiClient,
    namespace: str,
) -> None:
    calls = KubeCalls(kube_api_client)
    apply(
        pinned_kubectl,
        isvc_manifest("open", namespace, mode="Standard"),
        isvc_manifest("hidden", namespace, mode="RawDeployment", labels=CLUSTER_LOCAL),
    )
    wait_ready(calls, namespace, "open", "hidden")
    opened = isvc(calls, namespace, "open")
    assert opened["status"]["url"] == f"http://open-{namespace}.example.com"
    assert opened["status"]["address"]["url"] == (
        f"http://open-predictor.{namespace}.svc.cluster.local"
    )
    assert opened["status"]["deploymentMode"] == "Standard"
    assert {c["type"] for c in opened["status"]["conditions"]} == {
        "PredictorReady",
        "IngressReady",
        "Ready",
    }
    ingress = calls.get(INGRESSES, namespace, "open")
    assert ingress is not None
    assert ingress["metadata"]["ownerReferences"][0]["uid"] == opened["metadata"]["uid"]
    assert ingress["spec"]["ingressClassName"] == "istio"
    assert send(local_cluster, host_of("open", namespace), "open", 20).statuses == {200: 20}

    hidden = isvc(calls, namespace, "hidden")
    assert hidden["status"]["url"] == f"http://hidden-predictor.{namespace}.svc.cluster.local"
    assert calls.get(INGRESSES, namespace, "hidden") is None
    assert send(local_cluster, host_of("hidden", namespace), "hidden", 5).statuses == {404: 5}

    service = calls.get(SERVICES, namespace, "open-predictor")
    assert service is not None and service["spec"]["selector"] == {"app": "isvc.open-predictor"}
    deployment = calls.get(DEPLOYMENTS, namespace, "open-predictor")
    assert deployment is not None
    assert deployment["status"]["observedGeneration"] == deployment["metadata"]["generation"]
    assert deployment["status"]["availableReplicas"] == 1


def test_kserve_reverts_edits_to_its_ingress_unless_told_not_to(
    local_cluster: LocalCluster,
    pinned_kubectl: Kubectl,
    kube_api_client: k8s_client.ApiClient,
    namespace: str,
) -> None:
    calls = KubeCalls(kube_api_client)
    apply(pinned_kubectl, isvc_manifest("open", namespace, mode="Standard"))
    wait_ready(calls, namespace, "open")
    wait_until(lambda: calls.get(INGRESSES, namespace, "open") is not None, what="Ingress")
    path = "/spec/rules/0/http/paths/0/backend/service/name"

    def backend() -> str:
        ingress = calls.get(INGRESSES, namespace, "open")
        assert ingress is not None
        return str(ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"])

    def edit() -> None:
        patch = [{"op": "replace", "path": path, "value": "elsewhere"}]
        reply = calls.request(
            "PATCH",
            INGRESSES.item(namespace, "open"),
            body=patch,
            content_type="application/json-patch+json",
        )
        assert reply.status == 200, reply.read()

    edit()
    wait_until(lambda: backend() == "open-predictor", what="the edit reverted")
    local_cluster.kserve_hostility.revert_route_edits = False
    edit()
    assert backend() == "elsewhere"
    local_cluster.kserve_hostility.revert_route_edits = True
    wait_until(lambda: backend() == "open-predictor", what="reverted once switched back on")


def test_a_spec_change_rolls_the_deployment_with_old_and_new_pods_serving_and_the_isvc_ready(
    local_cluster: LocalCluster,
    pinned_kubectl: Kubectl,
    kube_api_client: k8s_client.ApiClient,
    namespace: str,
) -> None:
    calls = KubeCalls(kube_api_client)
    apply(pinned_kubectl, isvc_manifest("roll", namespace, mode="Standard"))
    wait_ready(calls, namespace, "roll")
    (old,) = local_cluster.pods_of(namespace, "roll-predictor")
    generation = isvc(calls, namespace, "roll")["metadata"]["generation"]

    readiness: list[str | None] = []
    watching = threading.Event()

    def watch_ready() -> None:
        while not watching.is_set():
            readiness.append(condition(isvc(calls, namespace, "roll"), "Ready"))

    watcher = threading.Thread(target=watch_ready)
    watcher.start()
    try:
        new_model = "sim://iris/v2?p50_ms=5&startup_s=1.5"
        calls.patch(
            INFERENCE_SERVICES,
            namespace,
            "roll",
            {"spec": {"predictor": {"model": {"storageUri": new_model}}}},
        )
        wait_until(lambda: len(local_cluster.pods_of(namespace, "roll-predictor")) == 2,
                   what="a new pod beside the old one")  # fmt: skip
        # Both serve under the one workload name until the new pod is ready.
        served = split_of(local_cluster, namespace, host_of("roll", namespace), 20, model="roll")
        assert served == {"roll-predictor": 20}
        assert old in local_cluster.pods_of(namespace, "roll-predictor")

        def rolled_out() -> bool:
            deployment = calls.get(DEPLOYMENTS, namespace, "roll-predictor")
            status: dict[str, Any] = (deployment or {}).get("status") or {}
            return bool(
                deployment is not None
                and status.get("observedGeneration") == deployment["metadata"]["generation"]
                and status.get("updatedReplicas") == status.get("replicas") == 1
                and status.get("availableReplicas") == 1
            )

        wait_until(rolled_out, what="the rollout complete")
    finally:
        watching.set()
        watcher.join()
    assert readiness and set(readiness) == {"True"}, set(readiness)
    (new,) = local_cluster.pods_of(namespace, "roll-predictor")
    assert new.name != old.name and new.template_hash != old.template_hash
    assert not old.server.up
    wait_ready(calls, namespace, "roll")
    assert isvc(calls, namespace, "roll")["status"]["observedGeneration"] == generation + 1


def test_back_to_back_rollouts_with_slow_termination_leave_three_pod_generations_serving(
    local_cluster: LocalCluster,
    pinned_kubectl: Kubectl,
    kube_api_client: k8s_client.ApiClient,
    namespace: str,
) -> None:
    calls = KubeCalls(kube_api_client)
    apply(pinned_kubectl, isvc_manifest("many", namespace, mode="Standard"))
    wait_ready(calls, namespace, "many")
    local_cluster.deployment_hostility.old_pods_linger_s = 60
    for version in ("v2", "v3"):
        calls.patch(
            INFERENCE_SERVICES,
            namespace,
            "many",
            {"spec": {"predictor": {"model": {"storageUri": f"sim://iris/{version}?p50_ms=5"}}}},
        )
        wait_until(lambda v=version: [p.server.spec.behaviour.version for p in  # type: ignore[misc]
                   local_cluster.pods_of(namespace, "many-predictor") if p.ready][-1:] == [v],
                   what=f"a ready {version} pod")  # fmt: skip
    pods = local_cluster.pods_of(namespace, "many-predictor")
    assert sorted(p.server.spec.behaviour.version for p in pods) == ["v1", "v2", "v3"]
    served = split_of(local_cluster, namespace, host_of("many", namespace), 60, model="many")
    assert served == {"many-predictor": 60}
    assert condition(isvc(calls, namespace, "many"), "Ready") == "True"
    deployment = calls.get(DEPLOYMENTS, namespace, "many-predictor")
    assert deployment is not None and deployment["status"]["replicas"] == 1
    local_cluster.deployment_hostility.old_pods_linger_s = 0
    wait_until(lambda: len(local_cluster.pods_of(namespace, "many-predictor")) == 1,
               what="terminated pods gone")  # fmt: skip


def test_slow_readiness_holds_the_isvc_not_ready_until_the_model_server_is(
    local_cluster: LocalCluster,
    pinned_kubectl: Kubectl,
    kube_api_client: k8s_client.ApiClient,
    namespace: str,
) -> None:
    calls = KubeCalls(kube_api_client)
    local_cluster.deployment_hostility.extra_startup_s = 1.5
    apply(pinned_kubectl, isvc_manifest("slow", namespace, mode="Standard"))
    wait_until(lambda: local_cluster.pods_of(namespace, "slow-predictor"), what="a pod")
    assert condition(isvc(calls, namespace, "slow"), "Ready") != "True"
    wait_ready(calls, namespace, "slow")
    (pod,) = local_cluster.pods_of(namespace, "slow-predictor")
    assert pod.ready


def test_a_never_ready_model_leaves_the_predictor_not_ready(
    pinned_kubectl: Kubectl, kube_api_client: k8s_client.ApiClient, namespace: str
) -> None:
    calls = KubeCalls(kube_api_client)
    broken = "sim://iris/v1?never_ready=1"
    apply(pinned_kubectl, isvc_manifest("broken", namespace, mode="Standard", storage_uri=broken))
    wait_until(lambda: condition(isvc(calls, namespace, "broken"), "PredictorReady") == "False",
               what="PredictorReady False")  # fmt: skip
    assert condition(isvc(calls, namespace, "broken"), "Ready") == "False"


def test_deleting_the_isvc_removes_what_kserve_made_and_stops_its_pods(
    local_cluster: LocalCluster,
    pinned_kubectl: Kubectl,
    kube_api_client: k8s_client.ApiClient,
    namespace: str,
) -> None:
    calls = KubeCalls(kube_api_client)
    apply(
        pinned_kubectl,
        isvc_manifest("gone", namespace, mode="Standard"),
        isvc_manifest("gone-too", namespace),
    )
    wait_ready(calls, namespace, "gone", "gone-too")
    pods = [p for p in local_cluster.pods.all() if p.namespace == namespace]
    assert len(pods) == 2
    pinned_kubectl.run("delete", "isvc", "gone", "gone-too", "-n", namespace)
    for kind, name in (
        (DEPLOYMENTS, "gone-predictor"),
        (SERVICES, "gone-predictor"),
        (INGRESSES, "gone"),
        (DEPLOYMENTS, "gone-too-predictor-00001-deployment"),
        (SERVICES, "gone-too-predictor-00001"),
    ):
        wait_until(lambda k=kind, n=name: calls.get(k, namespace, n) is None,  # type: ignore[misc]
                   what=f"{kind.plural} {name} collected")  # fmt: skip
    wait_until(lambda: not [p for p in local_cluster.pods.all() if p.namespace == namespace],
               what="pods stopped")  # fmt: skip
    wait_until(lambda: not any(p.server.up for p in pods), what="servers stopped")


def test_a_restarted_kserve_adopts_what_runs_and_changes_nothing(
    local_cluster: LocalCluster,
    pinned_kubectl: Kubectl,
    kube_api_client: k8s_client.ApiClient,
    namespace: str,
) -> None:
    calls = KubeCalls(kube_api_client)
    apply(
        pinned_kubectl,
        isvc_manifest("stay", namespace, mode="Standard"),
        isvc_manifest("stay-too", namespace, canary_percent=0),
    )
    wait_ready(calls, namespace, "stay", "stay-too")
    pods = {p.name for p in local_cluster.pods.all() if p.namespace == namespace}
    before = isvc(calls, namespace, "stay-too")["status"]
    local_cluster.restart_kserve()
    calls.patch(
        INFERENCE_SERVICES,
        namespace,
        "stay-too",
        {"spec": {"predictor": {"model": {"storageUri": "sim://iris/v2?p50_ms=5"}}}},
    )
    wait_until(
        lambda: (isvc(calls, namespace, "stay-too")["status"]["components"]["predictor"]
                 .get("latestReadyRevision")) == "stay-too-predictor-00002",
        what="the next revision",
    )  # fmt: skip
    after = isvc(calls, namespace, "stay-too")["status"]["components"]["predictor"]
    assert (
        after["latestRolledoutRevision"]
        == before["components"]["predictor"]["latestRolledoutRevision"]
    )
    now = {p.name for p in local_cluster.pods.all() if p.namespace == namespace}
    assert pods <= now and len(now - pods) == 1  # only the new revision's pod is new
    assert condition(isvc(calls, namespace, "stay"), "Ready") == "True"


def test_a_storage_uri_the_cluster_cannot_run_says_what_to_change_in_the_status(
    pinned_kubectl: Kubectl, kube_api_client: k8s_client.ApiClient, namespace: str
) -> None:
    calls = KubeCalls(kube_api_client)
    bad = "sim://iris/v1?p50_ms=fast"
    apply(pinned_kubectl, isvc_manifest("bad", namespace, mode="Standard", storage_uri=bad))
    wait_until(lambda: condition(isvc(calls, namespace, "bad"), "PredictorReady") == "False",
               what="PredictorReady False")  # fmt: skip
    (predictor,) = [
        c for c in isvc(calls, namespace, "bad")["status"]["conditions"]
        if c["type"] == "PredictorReady"
    ]  # fmt: skip
    assert "p50_ms='fast' is not a number" in predictor["message"]

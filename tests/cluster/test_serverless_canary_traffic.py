"""`canaryTrafficPercent` on a Serverless ISVC moves traffic and status as KServe and Knative do."""

from __future__ import annotations

from typing import Any

from cluster_checks import (
    apply,
    condition,
    host_of,
    isvc,
    isvc_manifest,
    split_of,
    wait_ready,
    wait_until,
    within_binomial,
)
from kubectl_harness import Kubectl
from kubernetes import client as k8s_client

from sim.cluster import LocalCluster
from sim.kube_calls import DEPLOYMENTS, INFERENCE_SERVICES, SERVICES, KubeCalls

V1 = "sim://iris/v1?p50_ms=5"
V2 = "sim://iris/v2?p50_ms=5&startup_s=0.5"


def predictor_status(calls: KubeCalls, namespace: str) -> dict[str, Any]:
    found: dict[str, Any] = isvc(calls, namespace, "cat")["status"]["components"]["predictor"]
    return found


def traffic(calls: KubeCalls, namespace: str) -> list[tuple[str, int, bool]]:
    return [
        (t["revisionName"], t["percent"], t["latestRevision"])
        for t in predictor_status(calls, namespace).get("traffic") or []
    ]


def patch_predictor(calls: KubeCalls, namespace: str, predictor: dict[str, Any]) -> None:
    calls.patch(INFERENCE_SERVICES, namespace, "cat", {"spec": {"predictor": predictor}})


def test_canary_traffic_percent_splits_between_the_latest_and_the_rolled_out_revision(
    local_cluster: LocalCluster,
    pinned_kubectl: Kubectl,
    kube_api_client: k8s_client.ApiClient,
    namespace: str,
) -> None:
    calls = KubeCalls(kube_api_client)
    host = host_of("cat", namespace)
    first, second = "cat-predictor-00001", "cat-predictor-00002"
    # The first deployment ignores canaryTrafficPercent: all traffic to the first ready revision,
    # which becomes the rolled-out one; from then on 0% goes to the latest and 100% to the rolled
    # out revision, both the same one, until a new revision is ready.
    apply(pinned_kubectl, isvc_manifest("cat", namespace, storage_uri=V1, canary_percent=0))
    wait_ready(calls, namespace, "cat")
    wait_until(lambda: traffic(calls, namespace) == [(first, 0, True), (first, 100, False)],
               what="guarded at 0%")  # fmt: skip
    status = predictor_status(calls, namespace)
    assert status["latestRolledoutRevision"] == first
    assert "previousRolledoutRevision" not in status
    assert split_of(local_cluster, namespace, host, 50, model="cat") == {f"{first}-deployment": 50}

    # A new model with 20%: a second revision; once ready it takes 20%, the rolled-out one 80%.
    patch_predictor(calls, namespace, {"canaryTrafficPercent": 20, "model": {"storageUri": V2}})
    wait_until(
        lambda: predictor_status(calls, namespace).get("latestCreatedRevision") == second,
        what="second revision created",
    )
    # While it starts, the route's latest entry still names the latest *ready* revision.
    assert condition(isvc(calls, namespace, "cat"), "PredictorConfigurationReady") == "Unknown"
    wait_until(lambda: traffic(calls, namespace) == [(second, 20, True), (first, 80, False)],
               what="20/80 split")  # fmt: skip
    status = predictor_status(calls, namespace)
    assert status["latestReadyRevision"] == second
    assert status["latestRolledoutRevision"] == first
    assert all("tag" not in t for t in status["traffic"])  # no tag routing asked for
    wait_ready(calls, namespace, "cat")
    served = split_of(local_cluster, namespace, host, 400, model="cat")
    assert within_binomial(served[f"{second}-deployment"], 400, 0.20), served
    assert served[f"{first}-deployment"] + served[f"{second}-deployment"] == 400

    # Changing only the percentage makes no new revision.
    patch_predictor(calls, namespace, {"canaryTrafficPercent": 0})
    wait_until(lambda: traffic(calls, namespace) == [(second, 0, True), (first, 100, False)],
               what="0/100 split")  # fmt: skip
    assert predictor_status(calls, namespace)["latestCreatedRevision"] == second
    assert split_of(local_cluster, namespace, host, 100, model="cat") == {
        f"{first}-deployment": 100
    }

    # Promotion: without canaryTrafficPercent the latest ready revision takes everything and
    # becomes the rolled-out one; the first revision gets no traffic and is retired.
    patch_predictor(calls, namespace, {"canaryTrafficPercent": None})
    wait_until(lambda: traffic(calls, namespace) == [(second, 100, True)], what="promotion")
    status = predictor_status(calls, namespace)
    assert (status["latestRolledoutRevision"], status["previousRolledoutRevision"]) == (
        second,
        first,
    )
    wait_until(lambda: calls.get(DEPLOYMENTS, namespace, f"{first}-deployment") is None,
               what="first revision retired")  # fmt: skip
    wait_until(lambda: not local_cluster.pods_of(namespace, f"{first}-deployment"),
               what="its pods stopped")  # fmt: skip
    assert calls.get(SERVICES, namespace, first) is None
    assert split_of(local_cluster, namespace, host, 100, model="cat") == {
        f"{second}-deployment": 100
    }


def test_tag_routing_adds_tags_and_their_hosts(
    local_cluster: LocalCluster,
    pinned_kubectl: Kubectl,
    kube_api_client: k8s_client.ApiClient,
    namespace: str,
) -> None:
    calls = KubeCalls(kube_api_client)
    apply(
        pinned_kubectl,
        isvc_manifest(
            "cat",
            namespace,
            storage_uri=V1,
            canary_percent=0,
            annotations={"serving.kserve.io/enable-tag-routing": "true"},
        ),
    )
    wait_ready(calls, namespace, "cat")
    patch_predictor(calls, namespace, {"model": {"storageUri": V2}})
    wait_until(lambda: len(traffic(calls, namespace)) == 2 and traffic(calls, namespace)[0][0]
               == "cat-predictor-00002", what="canary at 0%")  # fmt: skip
    entries = predictor_status(calls, namespace)["traffic"]
    assert [(t["tag"], t["url"]) for t in entries] == [
        ("latest", f"http://latest-cat-predictor-{namespace}.example.com"),
        ("prev", f"http://prev-cat-predictor-{namespace}.example.com"),
    ]
    # The tag's own host reaches its revision whatever the split says.
    latest_host = f"latest-cat-predictor-{namespace}.example.com"
    assert split_of(local_cluster, namespace, latest_host, 30, model="cat") == {
        "cat-predictor-00002-deployment": 30
    }

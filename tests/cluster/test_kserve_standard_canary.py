"""KServe >= 0.20's Standard-mode canary (`spec.canary[]`) with Gateway API, as KServe runs it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from cluster_checks import (
    apply,
    condition,
    host_of,
    isvc,
    routed_weights,
    split_of,
    wait_ready,
    wait_until,
    within_binomial,
)
from kubectl_harness import Kubectl
from kubernetes import client as k8s_client

from sim.cluster import LocalCluster
from sim.kserve.ingress_config import CONFIG_NAME, CONFIG_NAMESPACE, DEFAULT_INGRESS
from sim.kube_calls import CONFIG_MAPS, DEPLOYMENTS, HTTP_ROUTES, INGRESSES, KubeCalls

STABLE = {"model": {"modelFormat": {"name": "sklearn"}, "storageUri": "sim://iris/v1?p50_ms=5"}}
NEXT = {
    "name": "next",
    "model": {"modelFormat": {"name": "sklearn"}, "storageUri": "sim://iris/v2?p50_ms=5"},
}


@pytest.fixture
def gateway_api(kube_api_client: k8s_client.ApiClient) -> Iterator[KubeCalls]:
    """KServe's ingress config with Gateway API on, for this test only."""
    calls = KubeCalls(kube_api_client)

    def ingress(enabled: bool) -> None:
        value = json.dumps({**DEFAULT_INGRESS, "enableGatewayApi": enabled})
        calls.patch(CONFIG_MAPS, CONFIG_NAMESPACE, CONFIG_NAME, {"data": {"ingress": value}})

    ingress(True)
    try:
        yield calls
    finally:
        ingress(False)


def manifest(namespace: str, predictor: dict[str, Any], canary: list[dict[str, Any]]) -> str:
    return json.dumps(
        {
            "apiVersion": "serving.kserve.io/v1beta1",
            "kind": "InferenceService",
            "metadata": {
                "name": "duo",
                "namespace": namespace,
                "annotations": {"serving.kserve.io/deploymentMode": "Standard"},
            },
            "spec": {"predictor": predictor, "canary": canary},
        }
    )


def test_a_canary_entry_gets_its_own_predictor_and_its_weight_in_kserves_http_route(
    local_cluster: LocalCluster,
    pinned_kubectl: Kubectl,
    gateway_api: KubeCalls,
    namespace: str,
) -> None:
    calls = gateway_api
    host = host_of("duo", namespace)
    apply(pinned_kubectl, manifest(namespace, STABLE, []))
    wait_ready(calls, namespace, "duo")
    wait_until(lambda: calls.get(HTTP_ROUTES, namespace, "duo") is not None, what="HTTPRoute")
    assert calls.get(INGRESSES, namespace, "duo") is None  # Gateway API replaces the Ingress

    apply(pinned_kubectl, manifest(namespace, STABLE, [{"trafficPercent": 30, "predictor": NEXT}]))
    wait_until(lambda: routed_weights(local_cluster, host) == {"duo-predictor": 70,
               "duo-next-predictor": 30}, what="70/30 route")  # fmt: skip
    status = isvc(calls, namespace, "duo")["status"]
    assert [(c["name"], c["ready"], c["trafficPercent"]) for c in status["canaryStatuses"]] == [
        ("next", True, 30)
    ]
    assert condition(isvc(calls, namespace, "duo"), "CanaryPredictorReady") == "True"
    served = split_of(local_cluster, namespace, host, 400, model="duo")
    assert within_binomial(served["duo-next-predictor"], 400, 0.30), served
    (canary_pod,) = local_cluster.pods_of(namespace, "duo-next-predictor")

    # Promotion retargets the stable predictor to the canary's: no restart, old stable deleted.
    apply(pinned_kubectl, manifest(namespace, NEXT, []))
    wait_until(lambda: routed_weights(local_cluster, host) == {"duo-next-predictor": 1},
               what="all traffic to the promoted predictor")  # fmt: skip
    wait_until(lambda: calls.get(DEPLOYMENTS, namespace, "duo-predictor") is None,
               what="old stable deleted")  # fmt: skip
    assert local_cluster.pods_of(namespace, "duo-next-predictor") == [canary_pod]
    wait_ready(calls, namespace, "duo")
    assert "canaryStatuses" not in isvc(calls, namespace, "duo")["status"]

    # A canary that is not ready gets no weight; rollback removes it.
    slow = {**STABLE, "name": "slow"}
    slow["model"] = {**STABLE["model"], "storageUri": "sim://iris/v3?never_ready=1"}
    apply(pinned_kubectl, manifest(namespace, NEXT, [{"trafficPercent": 50, "predictor": slow}]))
    wait_until(lambda: calls.get(DEPLOYMENTS, namespace, "duo-slow-predictor") is not None,
               what="canary Deployment")  # fmt: skip
    wait_until(lambda: condition(isvc(calls, namespace, "duo"), "CanaryPredictorReady")
               == "False", what="canary not ready")  # fmt: skip
    assert set(routed_weights(local_cluster, host)) == {"duo-next-predictor"}
    apply(pinned_kubectl, manifest(namespace, NEXT, []))
    wait_until(lambda: calls.get(DEPLOYMENTS, namespace, "duo-slow-predictor") is None,
               what="rolled-back canary deleted")  # fmt: skip

"""The gateway splits real requests by the weights in the route objects it reads from the API.

Two cluster-local Standard ISVCs, `blue` and `green`, serve the same model name; a route written
with kubectl (or patched, for an adopted one) sends a public host to their predictor Services at
90/10 and then 0/100, and the split the gateway's own counters saw is within binomial bounds
(4.5 standard deviations) of the weights. A host that KServe's older Ingress already claims keeps
going to the Ingress's backend, as with Istio, until the Ingress is gone.
"""

from __future__ import annotations

import json
from typing import Any

from cluster_checks import (
    apply,
    host_of,
    isvc_manifest,
    routed_weights,
    split_of,
    wait_ready,
    wait_until,
    within_binomial,
)
from kubectl_harness import Kubectl
from kubernetes import client as k8s_client

from sim.cluster import LocalCluster
from sim.kube_calls import INGRESSES, VIRTUAL_SERVICES, KubeCalls

REQUESTS = 400
PINNED = ["--model_name=iris"]


def two_versions(kubectl: Kubectl, calls: KubeCalls, namespace: str) -> None:
    cluster_local = {"networking.kserve.io/visibility": "cluster-local"}
    apply(
        kubectl,
        *(
            isvc_manifest(n, namespace, mode="Standard", labels=cluster_local, args=PINNED)
            for n in ("blue", "green")
        ),
    )
    wait_ready(calls, namespace, "blue", "green")


def virtual_service(namespace: str, host: str, blue: int, green: int, name: str = "split") -> str:
    return json.dumps(
        {
            "apiVersion": "networking.istio.io/v1",
            "kind": "VirtualService",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "hosts": [host],
                "gateways": ["knative-serving/knative-ingress-gateway"],
                "http": [
                    {
                        "route": [
                            {"destination": {"host": "blue-predictor"}, "weight": blue},
                            {"destination": {"host": "green-predictor"}, "weight": green},
                        ]
                    }
                ],
            },
        }
    )


def http_route(namespace: str, host: str, blue: int, green: int) -> str:
    return json.dumps(
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "HTTPRoute",
            "metadata": {"name": "split", "namespace": namespace},
            "spec": {
                "hostnames": [host],
                "parentRefs": [{"name": "kserve-ingress-gateway", "namespace": "kserve"}],
                "rules": [
                    {
                        "backendRefs": [
                            {"name": "blue-predictor", "port": 80, "weight": blue},
                            {"name": "green-predictor", "port": 80, "weight": green},
                        ]
                    }
                ],
            },
        }
    )


def assert_split(cluster: LocalCluster, namespace: str, host: str, green_share: float) -> None:
    served = split_of(cluster, namespace, host, REQUESTS)
    assert sum(served.values()) == REQUESTS, served
    assert within_binomial(served["green-predictor"], REQUESTS, green_share), served


def test_virtual_service_weights_split_the_traffic(
    local_cluster: LocalCluster,
    pinned_kubectl: Kubectl,
    kube_api_client: k8s_client.ApiClient,
    namespace: str,
) -> None:
    two_versions(pinned_kubectl, KubeCalls(kube_api_client), namespace)
    host = host_of("split", namespace)
    for blue, green in ((90, 10), (0, 100)):
        apply(pinned_kubectl, virtual_service(namespace, host, blue, green))
        expected = {"blue-predictor": blue, "green-predictor": green}
        wait_until(lambda e=expected: routed_weights(local_cluster, host) == e, what="weights")  # type: ignore[misc]
        assert_split(local_cluster, namespace, host, green / 100)


def test_http_route_weights_split_the_traffic(
    local_cluster: LocalCluster,
    pinned_kubectl: Kubectl,
    kube_api_client: k8s_client.ApiClient,
    namespace: str,
) -> None:
    two_versions(pinned_kubectl, KubeCalls(kube_api_client), namespace)
    host = host_of("split", namespace)
    for blue, green in ((900_000, 100_000), (0, 1)):
        apply(pinned_kubectl, http_route(namespace, host, blue, green))
        expected = {"blue-predictor": blue, "green-predictor": green}
        wait_until(lambda e=expected: routed_weights(local_cluster, host) == e, what="weights")  # type: ignore[misc]
        assert_split(local_cluster, namespace, host, green / (blue + green))


def test_an_adopted_route_keeps_its_header_match_while_its_weights_change(
    local_cluster: LocalCluster,
    pinned_kubectl: Kubectl,
    kube_api_client: k8s_client.ApiClient,
    namespace: str,
) -> None:
    calls = KubeCalls(kube_api_client)
    two_versions(pinned_kubectl, calls, namespace)
    host = host_of("adopted", namespace)
    testers = {"x-user": "tester"}
    route: dict[str, Any] = json.loads(virtual_service(namespace, host, 90, 10, "adopted"))
    route["spec"]["http"].insert(
        0,
        {
            "match": [{"headers": {"x-user": {"exact": "tester"}}}],
            "route": [{"destination": {"host": "green-predictor"}}],
        },
    )
    apply(pinned_kubectl, json.dumps(route))
    wait_until(lambda: routed_weights(local_cluster, host) == {"blue-predictor": 90,
               "green-predictor": 10}, what="weights")  # fmt: skip
    assert_split(local_cluster, namespace, host, 0.10)
    assert split_of(local_cluster, namespace, host, 40, headers=testers) == {"green-predictor": 40}

    # Only the two weights are patched, as kcanary does with a route it adopts.
    patch = [
        {"op": "replace", "path": "/spec/http/1/route/0/weight", "value": 0},
        {"op": "replace", "path": "/spec/http/1/route/1/weight", "value": 100},
    ]
    response = calls.request(
        "PATCH",
        VIRTUAL_SERVICES.item(namespace, "adopted"),
        body=patch,
        content_type="application/json-patch+json",
    )
    assert response.status == 200, response.read()
    wait_until(lambda: routed_weights(local_cluster, host) == {"blue-predictor": 0,
               "green-predictor": 100}, what="weights")  # fmt: skip
    assert_split(local_cluster, namespace, host, 1.0)
    assert split_of(local_cluster, namespace, host, 40, headers=testers) == {"green-predictor": 40}


def test_a_split_for_a_host_kserves_ingress_claims_applies_once_the_ingress_is_gone(
    local_cluster: LocalCluster,
    pinned_kubectl: Kubectl,
    kube_api_client: k8s_client.ApiClient,
    namespace: str,
) -> None:
    """Istio merges an Ingress and a VirtualService for one host oldest first: the Ingress wins."""
    calls = KubeCalls(kube_api_client)
    apply(
        pinned_kubectl,
        isvc_manifest("blue", namespace, mode="Standard", args=PINNED),
        isvc_manifest(
            "green",
            namespace,
            mode="Standard",
            args=PINNED,
            labels={"networking.kserve.io/visibility": "cluster-local"},
        ),
    )
    wait_ready(calls, namespace, "blue", "green")
    host = host_of("blue", namespace)  # KServe's Ingress `blue` routes it to blue-predictor
    assert calls.get(INGRESSES, namespace, "blue") is not None
    apply(pinned_kubectl, virtual_service(namespace, host, 90, 10))
    wait_until(lambda: any(c.host == host for c in local_cluster.route_watch.conflicts),  # type: ignore[union-attr]
               what="the conflict reported")  # fmt: skip
    assert split_of(local_cluster, namespace, host, 100) == {"blue-predictor": 100}

    # With the cluster-local label KServe removes its Ingress and the split takes over.
    pinned_kubectl.run(
        "label", "isvc", "blue", "-n", namespace, "networking.kserve.io/visibility=cluster-local"
    )
    wait_until(lambda: calls.get(INGRESSES, namespace, "blue") is None, what="Ingress removed")
    wait_until(lambda: routed_weights(local_cluster, host) == {"blue-predictor": 90,
               "green-predictor": 10}, what="weights")  # fmt: skip
    assert_split(local_cluster, namespace, host, 0.10)
    apply(pinned_kubectl, virtual_service(namespace, host, 0, 100))
    wait_until(lambda: routed_weights(local_cluster, host) == {"blue-predictor": 0,
               "green-predictor": 100}, what="weights")  # fmt: skip
    assert_split(local_cluster, namespace, host, 1.0)

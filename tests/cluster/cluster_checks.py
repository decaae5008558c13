"""What the local-cluster tests share: ISVC manifests, waiting, and counting who served what."""

from __future__ import annotations

import json
import math
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import polling
from kubectl_harness import Kubectl
from prometheus_client.parser import text_string_to_metric_families

from sim.cluster import LocalCluster
from sim.kube_calls import INFERENCE_SERVICES, KubeCalls
from sim.load import Target, TargetCounts

Obj = dict[str, Any]


T = TypeVar("T")

CLUSTER_WAIT_S = 20.0
"""The default wait of this area: the whole local cluster shares the machine, so what it does
settles more slowly than what the API server alone does (the shared default)."""


def wait_until(
    condition: Callable[[], T | None], timeout_s: float = CLUSTER_WAIT_S, what: str = ""
) -> T:
    """`polling.wait_until` with this area's longer default wait, which its many call sites
    rely on without naming it."""
    return polling.wait_until(condition, timeout_s, what or None)


def isvc_manifest(
    name: str,
    namespace: str,
    *,
    storage_uri: str = "sim://iris/v1?p50_ms=5",
    mode: str | None = None,
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
    args: list[str] | None = None,
    canary_percent: int | None = None,
) -> str:
    """An InferenceService as a user writes it (JSON is YAML)."""
    all_annotations = dict(annotations or {})
    if mode is not None:
        all_annotations["serving.kserve.io/deploymentMode"] = mode
    model: Obj = {"modelFormat": {"name": "sklearn"}, "storageUri": storage_uri}
    if args:
        model["args"] = args
    predictor: Obj = {"model": model}
    if canary_percent is not None:
        predictor["canaryTrafficPercent"] = canary_percent
    return json.dumps(
        {
            "apiVersion": "serving.kserve.io/v1beta1",
            "kind": "InferenceService",
            "metadata": {
                "name": name,
                "namespace": namespace,
                "labels": dict(labels or {}),
                "annotations": all_annotations,
            },
            "spec": {"predictor": predictor},
        }
    )


def apply(kubectl: Kubectl, *manifests: str) -> None:
    kubectl.run("apply", "-f", "-", input="\n---\n".join(manifests))


def isvc(calls: KubeCalls, namespace: str, name: str) -> Obj:
    found = calls.get(INFERENCE_SERVICES, namespace, name)
    assert found is not None, f"InferenceService {namespace}/{name} is gone"
    return found


def condition(obj: Obj, type_: str) -> str | None:
    for entry in (obj.get("status") or {}).get("conditions") or []:
        if entry.get("type") == type_:
            return str(entry.get("status"))
    return None


def wait_ready(calls: KubeCalls, namespace: str, *names: str, timeout_s: float = 20.0) -> None:
    for name in names:
        wait_until(
            lambda name=name: (
                condition(isvc(calls, namespace, name), "Ready") == "True"  # type: ignore[misc]
                and isvc(calls, namespace, name)["status"].get("observedGeneration")
                == isvc(calls, namespace, name)["metadata"]["generation"]
            ),
            timeout_s,
            f"{namespace}/{name} Ready",
        )


def host_of(name: str, namespace: str) -> str:
    return f"{name}-{namespace}.example.com"


def send(
    cluster: LocalCluster, host: str, model: str, count: int, rps: float = 150.0
) -> TargetCounts:
    """Send exactly `count` requests through the gateway and wait for every answer."""
    assert cluster.load is not None
    return cluster.load.send(Target(host, model), count, rps)


def served_by_workload(cluster: LocalCluster, namespace: str) -> Counter[str]:
    """Requests the gateway counted (reporter="source") per destination workload, so far."""
    assert cluster.gateway is not None
    counts: Counter[str] = Counter()
    for family in text_string_to_metric_families(cluster.gateway.metrics_text()):
        for sample in family.samples:
            if (
                sample.name == "istio_requests_total"
                and sample.labels.get("destination_workload_namespace") == namespace
            ):
                counts[sample.labels["destination_workload"]] += int(sample.value)
    return counts


def split_of(
    cluster: LocalCluster,
    namespace: str,
    host: str,
    count: int,
    *,
    model: str = "iris",
    headers: Mapping[str, str] | None = None,
) -> Counter[str]:
    """Who served `count` requests to `host` (by destination workload), as the gateway saw it."""
    before = served_by_workload(cluster, namespace)
    if headers:
        statuses = send_with_headers(cluster, host, model, count, headers)
    else:
        statuses = Counter(send(cluster, host, model, count, rps=300).statuses)
    assert statuses == Counter({200: count}), statuses
    return served_by_workload(cluster, namespace) - before


def send_with_headers(
    cluster: LocalCluster, host: str, model: str, count: int, headers: Mapping[str, str]
) -> Counter[int]:
    """`count` requests with extra headers, eight at a time; the statuses answered."""
    assert cluster.gateway is not None
    url = f"{cluster.gateway.url}/v1/models/{model}:predict"
    body = json.dumps({"instances": [[6.8, 2.8, 4.8, 1.4]]}).encode()

    def one(_: int) -> int:
        request = urllib.request.Request(
            url,
            data=body,
            method="POST",
            headers={"Host": host, "Content-Type": "application/json", **headers},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as reply:
                return int(reply.status)
        except urllib.error.HTTPError as error:
            return int(error.code)

    with ThreadPoolExecutor(max_workers=8) as pool:
        return Counter(pool.map(one, range(count)))


def routed_weights(
    cluster: LocalCluster, host: str, headers: Mapping[str, str] | None = None
) -> dict[str, int]:
    """Service -> weight of the rule the gateway would pick now for a request to `host`."""
    assert cluster.gateway is not None
    rule = cluster.gateway.routes.route(host, "/v1/models/iris:predict", dict(headers or {}))
    return {} if rule is None else {b.service: b.weight for b in rule.backends}


def within_binomial(observed: int, total: int, p: float, sds: float = 4.5) -> bool:
    """Whether `observed` of `total` is within `sds` standard deviations of Binomial(total, p)."""
    if p in (0.0, 1.0):
        return observed == round(total * p)
    sd = math.sqrt(total * p * (1 - p))
    return abs(observed - total * p) <= sds * sd

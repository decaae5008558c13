"""What the real Prometheus holds per revision is exactly what was sent and served.

Two ISVCs applied with kubectl, one Standard and one Serverless, take a known number of requests
through the gateway; the controller's own reader (`analysis.prometheus.PrometheusSource` with the
built-in templates) then reads per-revision requests, 5xx and latency buckets from Prometheus.
A model-server restart resets the serving pod's counters (sidecar, queue-proxy, model server):
read reset-aware they still add up, and the gateway's source-side counts never dropped anything.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from cluster_checks import apply, host_of, isvc_manifest, send, wait_ready, wait_until
from kubectl_harness import Kubectl

from analysis.counts import RevisionCounts
from analysis.prometheus import PrometheusSource
from analysis.prometheus_connection import PrometheusConnection
from analysis.query_result import NoData
from analysis.templates import RevisionRef, builtin_template
from sim.cluster import LocalCluster
from sim.kube_calls import KubeCalls

SLOW_AND_FAILING = "sim://iris/v1?p50_ms=30&sigma=0.1&error_rate=0.15"


@pytest.fixture
def source(local_cluster: LocalCluster) -> Iterator[PrometheusSource]:
    assert local_cluster.prometheus is not None
    reader = PrometheusSource.connect(
        PrometheusConnection(local_cluster.prometheus.url, timeout_s=5)
    )
    yield reader
    reader.close()


def scraped_everything(cluster: LocalCluster, namespace: str) -> None:
    """Wait until a scrape newer than now landed for the gateway and each pod of `namespace`."""
    assert cluster.prometheus is not None and cluster.gateway is not None
    addresses = [f"127.0.0.1:{cluster.gateway.metrics_port}"]
    addresses += [p.metrics_address for p in cluster.pods.all() if p.namespace == namespace]
    for address in addresses:
        cluster.prometheus.wait_for_scrape(address, timeout_s=20)


def counts(
    source: PrometheusSource, template: str, revision: RevisionRef, since: datetime
) -> RevisionCounts:
    found = source.revision_counts(
        builtin_template(template), revision, since=since, at=datetime.now(UTC)
    )
    assert not isinstance(found, NoData), (template, found)
    return found


def test_per_revision_counts_in_prometheus_match_the_load_and_survive_a_restart(
    local_cluster: LocalCluster,
    pinned_kubectl: Kubectl,
    kube_api_client: object,
    namespace: str,
    source: PrometheusSource,
) -> None:
    since = datetime.now(UTC)
    calls = KubeCalls(kube_api_client)  # type: ignore[arg-type]
    apply(
        pinned_kubectl,
        isvc_manifest("std", namespace, mode="Standard", storage_uri=SLOW_AND_FAILING),
        isvc_manifest("sls", namespace, storage_uri=SLOW_AND_FAILING),
    )
    wait_ready(calls, namespace, "std", "sls")
    std = send(local_cluster, host_of("std", namespace), "std", 160)
    sls = send(local_cluster, host_of("sls", namespace), "sls", 160)
    assert std.sent == std.answered == 160 and sls.sent == sls.answered == 160
    assert set(std.statuses) == {200, 500} and set(sls.statuses) == {200, 500}
    # Every pod that will be read must be a Prometheus target, scraped after the load.
    wait_until(
        lambda: len([p for p in local_cluster.pods.all() if p.namespace == namespace]) == 2,
        what="two pods",
    )
    scraped_everything(local_cluster, namespace)

    standard = RevisionRef(namespace, "std", workload="std-predictor", service="std-predictor")
    serverless = RevisionRef(
        namespace,
        "sls",
        workload="sls-predictor-00001-deployment",
        revision="sls-predictor-00001",
        service="sls-predictor-00001",
    )
    for revision, sent in ((standard, std), (serverless, sls)):
        for template in ("istio", "istio-source"):
            read = counts(source, template, revision, since)
            assert read.requests == sent.sent, (template, revision.isvc)
            assert read.failures == sent.errors_5xx, (template, revision.isvc)
            assert read.latency is not None and read.latency.total == sent.sent
        predicted = counts(source, "kserve", revision, since)
        assert predicted.requests == sent.sent
    knative = counts(source, "knative", serverless, since)
    assert (knative.requests, knative.failures) == (sls.sent, sls.errors_5xx)
    # Latency: p50 is 30 ms with a narrow spread, so the median lands in Envoy's (25, 50] bucket.
    latency = counts(source, "istio", standard, since).latency
    assert latency is not None
    bounds = dict(zip(latency.upper_bounds, latency.cumulative, strict=True))
    assert bounds[0.025] < latency.total / 2 <= bounds[0.05]

    # The model-server container restarts: its own histograms start from zero, the sidecar's
    # (another container of the same pod) carry on.
    pod = local_cluster.pods_of(namespace, "std-predictor")[0]
    local_cluster.restart_model_servers(namespace, "std-predictor")
    wait_until(lambda: pod.ready, what="restarted model server ready")
    assert pod.server.restarts == 1
    more = send(local_cluster, host_of("std", namespace), "std", 90)
    scraped_everything(local_cluster, namespace)
    total = std.sent + more.sent
    assert counts(source, "kserve", standard, since).requests == total
    assert raw_sum(local_cluster, "request_predict_seconds_count", namespace, pod.name) == more.sent
    for template in ("istio", "istio-source"):
        read = counts(source, template, standard, since)
        assert (read.requests, read.failures) == (total, std.errors_5xx + more.errors_5xx)

    # The pod is replaced: a new pod (new name, new sidecar) counts from zero.
    local_cluster.replace_model_servers(namespace, "std-predictor")
    wait_until(
        lambda: [p.ready for p in local_cluster.pods_of(namespace, "std-predictor")] == [True],
        what="the replacement pod ready",
    )
    (replacement,) = local_cluster.pods_of(namespace, "std-predictor")
    assert replacement.name != pod.name
    last = send(local_cluster, host_of("std", namespace), "std", 70)
    scraped_everything(local_cluster, namespace)
    total += last.sent
    for template in ("istio", "istio-source", "kserve"):
        assert counts(source, template, standard, since).requests == total, template
    assert raw_sum(local_cluster, "istio_requests_total", namespace, replacement.name) == last.sent


def raw_sum(cluster: LocalCluster, metric: str, namespace: str, pod: str | None = None) -> float:
    """The sum of the current values of `metric` scraped from the pods of `namespace`."""
    assert cluster.prometheus is not None
    pod_matcher = f',pod="{pod}"' if pod else ""
    found = cluster.prometheus.query(f'sum({metric}{{namespace="{namespace}"{pod_matcher}}})')
    return float(found[0]["value"][1]) if found else 0.0

"""A rolled-back rollout and a never-rolled-out ISVC on the shared local cluster, for the report.

One namespace with a controller of its own (tests.dashboards_live.cluster_rollouts): `iris`
(Standard mode, Istio metrics) whose canary fails a quarter of its requests and is rolled back,
and `calm`, which is Stable and never had a canary.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
from kubernetes import client as k8s_client
from polling import wait_until
from report_cluster import ReportCluster

from kcanary.rollout_view import parse_moment
from sim.cluster import LocalCluster
from tests.dashboards_live.cluster_rollouts import (
    FAILING_URI,
    LOAD_RPS,
    POLL_EVERY_S,
    Rollouts,
    controller,
    inference_service,
    prometheus_url,
    scraped_series,
    set_load,
)

NAMES = ("iris", "calm")


@pytest.fixture(scope="module")
def rolled_back(
    local_cluster: LocalCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ReportCluster]:
    namespace = f"report-{secrets.token_hex(3)}"
    api = local_cluster.api_client()
    core = k8s_client.CoreV1Api(api)
    core.create_namespace(k8s_client.V1Namespace(metadata=k8s_client.V1ObjectMeta(name=namespace)))
    log = Path(tmp_path_factory.mktemp("report-controller")) / "controller.log"
    try:
        with controller(local_cluster, namespace, log):
            rollouts = Rollouts(api, namespace)
            rollouts.apply(inference_service("iris", namespace, router="istio"))
            rollouts.apply(inference_service("calm", namespace, router="istio"))
            for name in NAMES:
                stable = partial(rollouts.in_phase, name, "Stable")
                wait_until(stable, 60, f"{name} to be Stable", interval_s=POLL_EVERY_S)
                set_load(local_cluster, namespace, name, LOAD_RPS)
            rollouts.change_model("iris", FAILING_URI)
            ended = partial(rollouts.finished, "iris")
            status = wait_until(ended, 90, "iris's rollout to end", interval_s=POLL_EVERY_S)
            assert status["history"][-1]["outcome"] == "rolled-back", f"see {log}"
            prometheus = prometheus_url(local_cluster)
            # The status has the decision before Prometheus has scraped the weight it set.
            finished = parse_moment(status["history"][-1]["finishedAt"])
            assert finished is not None
            after = finished.timestamp() + 1
            scraped = f'timestamp(kcanary_canary_weight{{namespace="{namespace}"}}) >= {after}'
            scrape = partial(scraped_series, prometheus, scraped, 1)
            wait_until(scrape, 15, "a scrape after the rollback", interval_s=POLL_EVERY_S)
            yield ReportCluster(namespace, local_cluster.config.kubeconfig, prometheus)
    finally:
        for name in NAMES:
            set_load(local_cluster, namespace, name, 0)
        core.delete_namespace(namespace)

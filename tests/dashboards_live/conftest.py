"""Three rollouts that between them make every dashboard query return data.

In one namespace of the shared local cluster, with a controller of its own: `iris` (Standard
mode, Istio metrics) whose canary fails and is rolled back, `sless` (Serverless mode, Knative
queue-proxy metrics) whose canary is promoted, and `halt` (Standard mode) aborted by hand. The
model servers of `iris` also give the kserve source's `request_predict_seconds`.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
from cluster_rollouts import (
    FAILING_URI,
    GOOD_URI,
    LOAD_RPS,
    POLL_EVERY_S,
    LiveRollouts,
    Rollouts,
    controller,
    inference_service,
    prometheus_url,
    scraped_series,
    set_load,
)
from kubernetes import client as k8s_client
from polling import wait_until

from sim.cluster import LocalCluster

NAMES = ("iris", "sless", "halt")


@pytest.fixture(scope="module")
def live_rollouts(
    local_cluster: LocalCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveRollouts]:
    namespace = f"dash-live-{secrets.token_hex(3)}"
    api = local_cluster.api_client()
    core = k8s_client.CoreV1Api(api)
    core.create_namespace(k8s_client.V1Namespace(metadata=k8s_client.V1ObjectMeta(name=namespace)))
    log = Path(tmp_path_factory.mktemp("dashboards-live")) / "controller.log"
    started = time.time()
    try:
        with controller(local_cluster, namespace, log):
            rollouts = Rollouts(api, namespace)
            rollouts.apply(inference_service("iris", namespace, router="istio"))
            rollouts.apply(inference_service("sless", namespace, router="kserve"))
            rollouts.apply(inference_service("halt", namespace, router="istio", steps="50"))
            for name in NAMES:
                stable = partial(rollouts.in_phase, name, "Stable")
                wait_until(stable, 60, f"{name} to be Stable", interval_s=POLL_EVERY_S)
                set_load(local_cluster, namespace, name, LOAD_RPS)
            rollouts.change_model("iris", FAILING_URI)
            rollouts.change_model("sless", GOOD_URI)
            rollouts.change_model("halt", GOOD_URI)
            progressing = partial(rollouts.in_phase, "halt", "Progressing")
            wait_until(progressing, 30, "halt to progress", interval_s=POLL_EVERY_S)
            rollouts.act("halt", "abort")
            ended = {
                name: wait_until(
                    partial(rollouts.finished, name),
                    90,
                    f"{name}'s rollout to end",
                    interval_s=POLL_EVERY_S,
                )
                for name in ("iris", "sless", "halt")
            }
            assert [ended[n]["history"][-1]["outcome"] for n in ("iris", "sless", "halt")] == [
                "rolled-back",
                "promoted",
                "aborted",
            ], f"the rollouts did not end as planned; see {log}"
            prometheus = prometheus_url(local_cluster)
            # The decisions are in the status before Prometheus has scraped the counters, and a
            # range query sees a sample only from its next evaluation step on: wait until all
            # three were scraped two seconds ago.
            decisions = f'kcanary_decisions_total{{namespace="{namespace}"}} offset 2s'
            wait_until(
                partial(scraped_series, prometheus, decisions, 3),
                15,
                "Prometheus to scrape the three decisions",
                interval_s=POLL_EVERY_S,
            )
            yield LiveRollouts(namespace, prometheus, started)
    finally:
        for name in NAMES:
            set_load(local_cluster, namespace, name, 0)
        core.delete_namespace(namespace)

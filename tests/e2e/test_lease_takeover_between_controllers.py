"""Two controllers on one Lease: only the holder acts; when it dies (SIGKILL, so it cannot hand
the Lease over) the other takes over within the lease duration and carries on.

Short lease timings (4 s) keep the test quick; the controllers watch a namespace of their own.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_batch import Batch
from e2e_controllers import ControllerProcess, LeaseTimings, start_controller
from e2e_rollouts import Rollouts, annotated_isvc, unwatched_namespace
from kubernetes import client as k8s_client
from polling import wait_until
from prometheus_client.parser import text_string_to_metric_families

from sim.cluster import LocalCluster

LEASE = LeaseTimings(
    name=f"kcanary-e2e-pair-{uuid.uuid4().hex[:5]}",
    duration_s=4.0,
    renew_deadline_s=3.0,
    retry_period_s=0.5,
)


def reconciles(controller: ControllerProcess) -> float:
    """How many reconciles the process has run, from its own /metrics."""
    total = 0.0
    for family in text_string_to_metric_families(controller.metrics_text()):
        for sample in family.samples:
            if sample.name == "kcanary_reconcile_duration_seconds_count":
                total += sample.value
    return total


def holder(api_client: k8s_client.ApiClient) -> str:
    try:
        lease = k8s_client.CoordinationV1Api(api_client).read_namespaced_lease(
            LEASE.name, LEASE.namespace
        )
    except k8s_client.exceptions.ApiException as error:
        if error.status == 404:
            return ""
        raise
    return str(lease.spec.holder_identity or "") if lease.spec is not None else ""


@pytest.fixture
def pair(
    batch: Batch,
    local_cluster: LocalCluster,
    prometheus_url: str,
    rollouts: Rollouts,
    tmp_path: Path,
) -> Iterator[tuple[str, list[ControllerProcess]]]:
    batch.wait_all()  # the local cluster on a small machine cannot take both at once
    namespace = unwatched_namespace(rollouts)
    started: list[ControllerProcess] = []
    try:
        for index in range(2):
            started.append(
                start_controller(
                    kubeconfig=local_cluster.config.kubeconfig,
                    prometheus_url=prometheus_url,
                    log_path=tmp_path / f"controller-{index}.log",
                    namespaces=[namespace],
                    lease=LEASE,
                )
            )
        yield namespace, started
    finally:
        for process in started:
            process.stop()


def test_one_of_two_controllers_acts_and_the_other_takes_over_within_the_lease(
    local_cluster: LocalCluster,
    rollouts: Rollouts,
    kube_api_client: k8s_client.ApiClient,
    pair: tuple[str, list[ControllerProcess]],
) -> None:
    namespace, controllers = pair
    identities = {process.identity: process for process in controllers}
    assert len(identities) == 2 and "" not in identities, identities
    wait_until(lambda: holder(kube_api_client) in identities, 15, "a leader")
    leader = identities[holder(kube_api_client)]
    (standby,) = (process for process in controllers if process is not leader)

    rollouts.create(annotated_isvc("first", namespace, router="istio"))
    rollouts.wait_phase(namespace, "first", "Stable", timeout_s=60)
    assert reconciles(leader) > 0
    assert reconciles(standby) == 0, "the standby reconciled while the leader held the Lease"

    leader.kill()
    killed = time.monotonic()
    wait_until(lambda: holder(kube_api_client) == standby.identity, 15, "the standby to lead")
    took_over_in = time.monotonic() - killed
    # The Lease had been renewed at most one retry period before the kill.
    assert took_over_in <= LEASE.duration_s + LEASE.retry_period_s + 1.0, took_over_in

    rollouts.create(annotated_isvc("second", namespace, router="istio"))
    rollouts.wait_phase(namespace, "second", "Stable", timeout_s=60)
    assert reconciles(standby) > 0

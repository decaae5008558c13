"""The end-to-end tests: the session's local cluster, one `kcanary controller` process for the
session, and a log of every route weight.

The session controller watches a fixed pool of namespaces (`namespaces.take()` hands them out),
so the tests that own controllers of their own (kill and restart, leader election) use namespaces
it does not see, and killing theirs disturbs nobody. The rollout scenarios run side by side in one
batch (e2e_batch); the tests that need the cluster to themselves wait for it to end. The
controller's `/metrics` is scraped by the cluster's Prometheus, and its log is printed when a
test fails.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_batch import SCENARIOS, Batch
from e2e_controllers import ControllerProcess, LeaseTimings, start_controller
from e2e_rollouts import NamespacePool, Rollouts, TrafficLog
from kubectl_harness import api_client_for
from kubernetes import client as k8s_client

from sim.cluster import LocalCluster

POOL_SIZE = 22


@pytest.fixture(scope="session")
def kubeconfig_path(local_cluster: LocalCluster) -> Path:
    return local_cluster.config.kubeconfig


@pytest.fixture(scope="session")
def kube_api_client(local_cluster: LocalCluster) -> Iterator[k8s_client.ApiClient]:
    """This area's own session client: the root one may already be bound to another server."""
    yield from api_client_for(local_cluster.config.kubeconfig)


@pytest.fixture(scope="session")
def rollouts(local_cluster: LocalCluster) -> Rollouts:
    return Rollouts(local_cluster.api_client())


@pytest.fixture(scope="session")
def namespaces(rollouts: Rollouts) -> NamespacePool:
    tag = uuid.uuid4().hex[:5]
    names = [f"e2e-{tag}-{index}" for index in range(POOL_SIZE)]
    for name in names:
        rollouts.create_namespace(name)
    return NamespacePool(names)


@pytest.fixture(scope="session")
def prometheus_url(local_cluster: LocalCluster) -> str:
    assert local_cluster.prometheus is not None, "the e2e tests need the cluster's Prometheus"
    return local_cluster.prometheus.url


@pytest.fixture(scope="session")
def controller(
    local_cluster: LocalCluster,
    namespaces: NamespacePool,
    prometheus_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ControllerProcess]:
    """The session's controller, with leader election on its own Lease, as deployed."""
    process = start_controller(
        kubeconfig=local_cluster.config.kubeconfig,
        prometheus_url=prometheus_url,
        log_path=tmp_path_factory.mktemp("controller") / "controller.log",
        namespaces=namespaces.names,
        lease=LeaseTimings(name=f"kcanary-e2e-{uuid.uuid4().hex[:5]}"),
    )
    local_cluster.add_scrape_target(process.metrics_address)
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="session")
def traffic_log(local_cluster: LocalCluster) -> Iterator[TrafficLog]:
    log = TrafficLog(local_cluster)
    log.start()
    try:
        yield log
    finally:
        log.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[Any]:
    """On a failure, attach the session controller's log (its last lines) to the report."""
    outcome: Any = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    for name, process in _controllers(getattr(item, "funcargs", {})):
        report.sections.append((f"{name}: controller log (last 200 lines)", _tail(process)))


def _controllers(funcargs: dict[str, object]) -> Iterator[tuple[str, ControllerProcess]]:
    """The controller processes among a test's fixture values, however they are held."""
    for name, value in funcargs.items():
        found = getattr(value, "process", value)
        candidates = found if isinstance(found, tuple | list) else [found]
        for candidate in candidates:
            inner = candidate if isinstance(candidate, list) else [candidate]
            for process in inner:
                if isinstance(process, ControllerProcess):
                    yield name, process


def _tail(process: ControllerProcess, lines: int = 200) -> str:
    return "\n".join(process.log_text().splitlines()[-lines:])


@pytest.fixture(scope="session")
def batch(
    local_cluster: LocalCluster,
    controller: ControllerProcess,
    rollouts: Rollouts,
    traffic_log: TrafficLog,
    namespaces: NamespacePool,
) -> Iterator[Batch]:
    """Every scenario of the batch, started together the first time a test asks for it."""
    running = Batch(local_cluster, rollouts, traffic_log, [namespaces.take() for _ in SCENARIOS])
    running.start()
    try:
        yield running
    finally:
        running.stop()

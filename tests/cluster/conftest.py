"""The cluster tests run on the session's whole local cluster (`local_cluster`, root conftest).

`kubeconfig_path` is overridden so that the root fixtures (`kube_api_client`, `namespace`,
`pinned_kubectl`) talk to this cluster's API server. Tests use their own namespaces; the hostile
switches they flip are put back after each test.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kubectl_harness import api_client_for
from kubernetes import client as k8s_client

from sim.cluster import LocalCluster


@pytest.fixture(scope="session")
def kubeconfig_path(local_cluster: LocalCluster) -> Path:
    return local_cluster.config.kubeconfig


@pytest.fixture(scope="session")
def kube_api_client(local_cluster: LocalCluster) -> Iterator[k8s_client.ApiClient]:
    """This area's own session client: the root one may already be bound to another server."""
    yield from api_client_for(local_cluster.config.kubeconfig)


@pytest.fixture(autouse=True)
def gentle_cluster(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test starts with the hostile switches off (KServe reverting its routes, as it does)."""
    yield
    if "local_cluster" not in request.fixturenames:
        return
    local_cluster: LocalCluster = request.getfixturevalue("local_cluster")
    local_cluster.deployment_hostility.old_pods_linger_s = 0.0
    local_cluster.deployment_hostility.extra_startup_s = 0.0
    local_cluster.kserve_hostility.revert_route_edits = True

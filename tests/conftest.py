"""Fixtures shared by every test area: one local API server per session, kubectl and the
Python client pointed at it.

The server is started once and shared, so tests must use their own namespaces and names
(`unique_name`, the `namespace` fixture). kubectl runs with a fresh discovery cache per test
(`KUBECACHEDIR`): it would otherwise remember another server's, or an older, discovery.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from kubectl_harness import (
    KUBECTL_BINARIES,
    PINNED_KUBECTL,
    Kubectl,
    api_client_for,
    kubectl_for,
    unique_name,
)
from kubernetes import client as k8s_client

from sim.apiserver.server import APIServer
from sim.cluster import LocalCluster, LocalClusterConfig


@pytest.fixture(autouse=True)
def _no_log_handler_outlives_its_test() -> Iterator[None]:
    """A command run in-process (`kcanary controller ...`) points the root logger at the
    stderr of its moment, which pytest closes after the test; a later test's warnings would then
    print "--- Logging error ---" into the output it checks. Handlers a test added go with it."""
    root = logging.getLogger()
    before = set(root.handlers)
    yield
    for handler in root.handlers[:]:
        if handler not in before and type(handler) is logging.StreamHandler:
            root.removeHandler(handler)


@pytest.fixture(scope="session")
def api_server() -> Iterator[APIServer]:
    """The session's local API server (CRDs from deploy/crds and sim/crds installed)."""
    server = APIServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def local_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    """The session's whole local cluster (API server, KServe stand-in, pods, gateway, load
    generator, real Prometheus), shared by every end-to-end area: tests use their own
    namespaces and names, and run their ISVCs side by side."""
    kubeconfig = tmp_path_factory.mktemp("local-cluster") / "kubeconfig"
    cluster = LocalCluster(LocalClusterConfig(kubeconfig=kubeconfig, seed=11))
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def kubeconfig_path(api_server: APIServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return api_server.write_kubeconfig(tmp_path_factory.mktemp("kube") / "config")


@pytest.fixture(params=KUBECTL_BINARIES, ids=lambda b: "kubectl-pinned" if b == PINNED_KUBECTL
                else "kubectl-system")  # fmt: skip
def kubectl(request: pytest.FixtureRequest, kubeconfig_path: Path, tmp_path: Path) -> Kubectl:
    """kubectl against the session server, once per available kubectl binary."""
    return kubectl_for(str(request.param), kubeconfig_path, tmp_path / "kubecache")


@pytest.fixture
def pinned_kubectl(kubeconfig_path: Path, tmp_path: Path) -> Kubectl:
    """The dev extra's kubectl only, for tests where one binary is enough."""
    assert PINNED_KUBECTL is not None, "the dev extra's kubectl is not installed"
    return kubectl_for(PINNED_KUBECTL, kubeconfig_path, tmp_path / "kubecache")


@pytest.fixture(scope="session")
def kube_api_client(kubeconfig_path: Path) -> Iterator[k8s_client.ApiClient]:
    """A `kubernetes` ApiClient configured from the session kubeconfig.

    pytest caches a session fixture once, whichever `kubeconfig_path` it was first built from:
    an area that points `kubeconfig_path` at another server must override this fixture too
    (`api_client_for`), or it would get the first area's client.
    """
    yield from api_client_for(kubeconfig_path)


@pytest.fixture
def namespace(kube_api_client: k8s_client.ApiClient) -> Iterator[str]:
    """A fresh namespace for one test, deleted afterwards."""
    name = unique_name("ns")
    core = k8s_client.CoreV1Api(kube_api_client)
    core.create_namespace(k8s_client.V1Namespace(metadata=k8s_client.V1ObjectMeta(name=name)))
    try:
        yield name
    finally:
        core.delete_namespace(name)


def manifest_yaml(documents: Sequence[str]) -> str:
    return "\n---\n".join(documents)

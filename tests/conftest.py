"""Fixtures shared by every test area: one local API server per session, kubectl and the
Python client pointed at it.

The server is started once and shared, so tests must use their own namespaces and names
(`unique_name`, the `namespace` fixture). kubectl runs with a fresh discovery cache per test
(`KUBECACHEDIR`): it would otherwise remember another server's, or an older, discovery.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config

from sim.apiserver.server import APIServer

REPO_ROOT = Path(__file__).resolve().parents[1]

# The kubectl pinned by the dev extra lives next to the interpreter; older distributions ship
# another one on PATH. Both must work against the local server.
PINNED_KUBECTL = shutil.which("kubectl", path=str(Path(sys.executable).parent))
SYSTEM_KUBECTL = "/usr/bin/kubectl" if Path("/usr/bin/kubectl").exists() else None
KUBECTL_BINARIES = [binary for binary in (PINNED_KUBECTL, SYSTEM_KUBECTL) if binary]

_counter = itertools.count()


def unique_name(prefix: str = "t") -> str:
    """A DNS-label name no other test in this session uses."""
    return f"{prefix}-{next(_counter)}-{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True)
class Kubectl:
    """One kubectl binary bound to a kubeconfig and its own discovery cache."""

    binary: str
    kubeconfig: Path
    cache_dir: Path

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["KUBECONFIG"] = str(self.kubeconfig)
        env["KUBECACHEDIR"] = str(self.cache_dir)
        env["HOME"] = str(self.cache_dir)
        return env

    def run(
        self,
        *args: str,
        input: str | None = None,
        check: bool = True,
        timeout: float = 60,
    ) -> subprocess.CompletedProcess[str]:
        """Run kubectl; with `check`, a non-zero exit fails the test showing its stderr."""
        completed = subprocess.run(
            [self.binary, *args],
            input=input,
            capture_output=True,
            text=True,
            env=self.env,
            timeout=timeout,
            check=False,
        )
        if check and completed.returncode != 0:
            pytest.fail(
                f"kubectl {' '.join(args)} exited {completed.returncode}\n"
                f"stdout: {completed.stdout}\nstderr: {completed.stderr}"
            )
        return completed

    def popen(self, *args: str) -> subprocess.Popen[str]:
        """Start kubectl in the background (for `get -w`); the caller must stop it."""
        return subprocess.Popen(
            [self.binary, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env,
        )


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
def kubeconfig_path(api_server: APIServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return api_server.write_kubeconfig(tmp_path_factory.mktemp("kube") / "config")


def kubectl_for(binary: str, kubeconfig: Path, cache_dir: Path) -> Kubectl:
    cache_dir.mkdir(parents=True, exist_ok=True)
    return Kubectl(binary=binary, kubeconfig=kubeconfig, cache_dir=cache_dir)


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
    """A `kubernetes` ApiClient configured from the session kubeconfig."""
    api_client = k8s_config.new_client_from_config(config_file=str(kubeconfig_path))
    try:
        yield api_client
    finally:
        api_client.close()


@pytest.fixture
def namespace(kube_api_client: k8s_client.ApiClient) -> Iterator[str]:
    """A fresh namespace for one test, deleted afterwards."""
    name = unique_name("ns")
    core = k8s_client.CoreV1Api(kube_api_client)
    core.create_namespace({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    try:
        yield name
    finally:
        core.delete_namespace(name)


def manifest_yaml(documents: Sequence[str]) -> str:
    return "\n---\n".join(documents)

"""Running kubectl against the local API server from tests: which binaries, with which
environment, and names that do not collide between tests sharing one server."""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config

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


def kubectl_for(binary: str, kubeconfig: Path, cache_dir: Path) -> Kubectl:
    cache_dir.mkdir(parents=True, exist_ok=True)
    return Kubectl(binary=binary, kubeconfig=kubeconfig, cache_dir=cache_dir)


def api_client_for(kubeconfig: Path) -> Iterator[k8s_client.ApiClient]:
    api_client: k8s_client.ApiClient = k8s_config.new_client_from_config(  # type: ignore[no-untyped-call]
        config_file=str(kubeconfig)
    )
    try:
        yield api_client
    finally:
        api_client.close()  # type: ignore[no-untyped-call]

"""Acting as a ServiceAccount against the session API server: its token, kubeconfig and kubectl,
and manifests applied as the admin."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import requests
from kubectl_harness import PINNED_KUBECTL, Kubectl, kubectl_for

from sim.apiserver.server import APIServer


@dataclass(frozen=True)
class Account:
    """A ServiceAccount with a token, and kubectl and HTTP access as it."""

    namespace: str
    name: str
    token: str
    kubectl: Kubectl
    server: APIServer

    @property
    def user(self) -> str:
        return f"system:serviceaccount:{self.namespace}:{self.name}"

    def session(self) -> requests.Session:
        session = requests.Session()
        session.trust_env = False
        session.verify = str(self.server.ca_path)
        session.headers["Authorization"] = f"Bearer {self.token}"
        return session


def service_account(
    server: APIServer, admin: Kubectl, namespace: str, name: str, directory: Path
) -> Account:
    """Create the ServiceAccount (as the admin) and a kubeconfig that authenticates as it."""
    admin.run("create", "serviceaccount", name, "-n", namespace)
    token = server.service_account_token(namespace, name)
    kubeconfig = server.write_kubeconfig(directory / f"{name}.kubeconfig", token=token)
    assert PINNED_KUBECTL is not None
    kubectl = kubectl_for(PINNED_KUBECTL, kubeconfig, directory / f"{name}-cache")
    return Account(namespace, name, token, kubectl, server)

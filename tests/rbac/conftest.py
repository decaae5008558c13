"""The RBAC tests: an admin kubectl (the pinned binary) and a fresh ServiceAccount per test."""

from __future__ import annotations

from pathlib import Path

import pytest
from kubectl_harness import Kubectl, unique_name
from rbac_access import Account, service_account

from sim.apiserver.server import APIServer


@pytest.fixture
def account(
    api_server: APIServer, pinned_kubectl: Kubectl, namespace: str, tmp_path: Path
) -> Account:
    """A ServiceAccount in the test's namespace, bound to nothing yet."""
    return service_account(api_server, pinned_kubectl, namespace, unique_name("sa"), tmp_path)

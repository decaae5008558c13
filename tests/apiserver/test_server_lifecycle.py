"""Starting and stopping `APIServer` directly, as other parts' tests and tools do."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest
import requests

from sim.apiserver.control_plane import CRDFileError
from sim.apiserver.server import APIServer


def test_a_server_with_no_crds_serves_built_in_kinds_and_frees_its_port(tmp_path: Path) -> None:
    with APIServer(crd_dirs=()) as server:
        port = server.port
        session = requests.Session()
        session.trust_env = False
        response = session.get(
            f"{server.url}/apis",
            verify=str(server.ca_path),
            headers={"Authorization": f"Bearer {server.token}"},
        )
        session.close()
        groups = {group["name"] for group in response.json()["groups"]}
        assert "apps" in groups and "serving.kserve.io" not in groups
        kubeconfig = server.write_kubeconfig(tmp_path / "config")
        assert server.token in kubeconfig.read_text()
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))  # nothing listens there any more
        probe.listen()


def test_a_missing_crd_directory_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(CRDFileError, match=re.escape(f"CRD directory {missing} does not exist")):
        APIServer(crd_dirs=[missing]).start()


def test_a_crd_directory_holding_something_else_is_refused(tmp_path: Path) -> None:
    (tmp_path / "thing.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    with pytest.raises(CRDFileError, match="may hold only CustomResourceDefinitions"):
        APIServer(crd_dirs=[tmp_path]).start()


def test_an_invalid_crd_file_says_why(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
        "metadata: {name: things.example.com}\nspec: {group: example.com}\n"
    )
    with pytest.raises(CRDFileError, match=re.escape("cannot install CRD things.example.com")):
        APIServer(crd_dirs=[tmp_path]).start()

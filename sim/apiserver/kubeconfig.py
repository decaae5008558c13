"""The kubeconfig a client needs to reach the local API server: its URL, CA and bearer token."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import yaml


def kubeconfig_document(
    *, server: str, ca_pem: bytes, token: str, context: str = "kcanary-local"
) -> dict[str, Any]:
    """A one-cluster, one-user kubeconfig whose current context is `context`."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [
            {
                "name": context,
                "cluster": {
                    "server": server,
                    "certificate-authority-data": base64.b64encode(ca_pem).decode("ascii"),
                },
            }
        ],
        "users": [{"name": context, "user": {"token": token}}],
        "contexts": [
            {
                "name": context,
                "context": {"cluster": context, "user": context, "namespace": "default"},
            }
        ],
        "current-context": context,
    }


def write_kubeconfig(path: Path, document: dict[str, Any]) -> Path:
    """Write atomically (readers never see half a file) and readable by the owner only."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(yaml.safe_dump(document, sort_keys=False))
    partial.chmod(0o600)
    os.replace(partial, path)
    return path

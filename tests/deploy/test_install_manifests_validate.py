"""Every shipped manifest is valid for Kubernetes 1.37, checked offline, and both install
variants build with kubectl's kustomize."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml
from install_build import CRD_FILE, DEPLOY, by_kind, kustomize, one, overlay
from servicemonitor_schema import SERVICE_MONITOR

KUBERNETES_VERSION = "1.37.0"
CUSTOM_SCHEMAS = {("monitoring.coreos.com/v1", "ServiceMonitor"): SERVICE_MONITOR}


def validate(doc: dict[str, Any]) -> None:
    """Strict validation (unknown fields fail) against the schema of the object's kind."""
    custom = CUSTOM_SCHEMAS.get((doc.get("apiVersion", ""), doc.get("kind", "")))
    if custom is not None:
        jsonschema.validate(doc, custom)
    else:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def _manifest_files() -> list[Path]:
    """Plain manifests: every YAML under deploy/ that is not a kustomization file."""
    return sorted(
        p
        for p in DEPLOY.rglob("*.yaml")
        if p.name != "kustomization.yaml" and "kind:" in p.read_text(encoding="utf-8")
    )


@pytest.mark.parametrize("path", _manifest_files(), ids=lambda p: str(p.relative_to(DEPLOY)))
def test_shipped_manifest_validates_offline(path: Path) -> None:
    docs = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
    assert docs, path
    for doc in docs:
        validate(doc)


@pytest.fixture(scope="module")
def cluster_wide() -> list[dict[str, Any]]:
    return kustomize(DEPLOY)


@pytest.fixture(scope="module")
def namespaced(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    return kustomize(overlay(tmp_path_factory.mktemp("overlay"), components=["namespaced"]))


@pytest.fixture(scope="module")
def with_token(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    root = tmp_path_factory.mktemp("overlay")
    return kustomize(overlay(root, components=["components/prometheus-token"]))


def test_cluster_wide_build_validates_and_holds_exactly_the_crd(
    cluster_wide: list[dict[str, Any]],
) -> None:
    for doc in cluster_wide:
        validate(doc)
    crds = by_kind(cluster_wide, "CustomResourceDefinition")
    assert len(crds) == 1
    assert crds[0] == yaml.safe_load(CRD_FILE.read_text(encoding="utf-8"))


def test_namespaced_build_validates_and_holds_exactly_the_crd(
    namespaced: list[dict[str, Any]],
) -> None:
    for doc in namespaced:
        validate(doc)
    crds = by_kind(namespaced, "CustomResourceDefinition")
    assert len(crds) == 1
    assert crds[0] == yaml.safe_load(CRD_FILE.read_text(encoding="utf-8"))


def test_token_component_build_validates(with_token: list[dict[str, Any]]) -> None:
    for doc in with_token:
        validate(doc)


def test_enabling_the_namespaced_component_in_deploy_kustomization_builds(
    tmp_path: Path,
) -> None:
    """The README's route: uncomment `- namespaced` in a copy of deploy/kustomization.yaml."""
    copy_root = tmp_path / "deploy"
    shutil.copytree(DEPLOY, copy_root)
    kustomization = copy_root / "kustomization.yaml"
    text = kustomization.read_text(encoding="utf-8")
    assert "  # - namespaced" in text
    kustomization.write_text(text.replace("  # - namespaced", "  - namespaced"), encoding="utf-8")
    docs = kustomize(copy_root)
    assert not by_kind(docs, "ClusterRole")
    assert one(docs, "Role", "kcanary-controller")["metadata"]["namespace"] == "models"


def test_validators_reject_a_misspelt_field(cluster_wide: list[dict[str, Any]]) -> None:
    """The offline checks are not vacuous: an unknown field fails both kinds of validation."""
    deployment = copy.deepcopy(one(cluster_wide, "Deployment"))
    deployment["spec"]["replica"] = 2
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(deployment)
    monitor = copy.deepcopy(one(cluster_wide, "ServiceMonitor"))
    monitor["spec"]["endpoints"][0]["honourLabels"] = True
    with pytest.raises(jsonschema.ValidationError):
        validate(monitor)
    monitor = copy.deepcopy(one(cluster_wide, "ServiceMonitor"))
    monitor["spec"]["endpoints"][0]["interval"] = "30 seconds"
    with pytest.raises(jsonschema.ValidationError):
        validate(monitor)

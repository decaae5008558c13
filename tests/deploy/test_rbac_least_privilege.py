"""The controller's RBAC grants exactly what it uses, cluster-wide or in one namespace."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from install_build import DEPLOY, WATCHED_NAMESPACE, by_kind, kustomize, one, overlay

SERVICE_ACCOUNT = {
    "kind": "ServiceAccount",
    "name": "kcanary-controller",
    "namespace": "kcanary-system",
}

ALL = ("get", "list", "watch", "create", "update", "patch", "delete")

# (apiGroup, resource) -> verbs; what the controller does in a watched namespace.
EXPECTED_RULES: dict[tuple[str, str], set[str]] = {
    ("serving.kserve.io", "inferenceservices"): set(ALL),
    ("serving.kserve.io", "inferenceservices/finalizers"): {"update"},
    ("kcanary.io", "inferencerollouts"): set(ALL),
    ("kcanary.io", "inferencerollouts/status"): {"get", "update", "patch"},
    ("networking.istio.io", "virtualservices"): set(ALL),
    ("gateway.networking.k8s.io", "httproutes"): set(ALL),
    ("apps", "deployments"): {"get", "list", "watch"},
    ("", "events"): {"create", "patch"},
}


def grants(rules: list[dict[str, Any]]) -> dict[tuple[str, str, str], set[str]]:
    """(apiGroup, resource, resourceName or '*') -> verbs, with every rule expanded."""
    found: dict[tuple[str, str, str], set[str]] = {}
    for rule in rules:
        assert "nonResourceURLs" not in rule
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                for name in rule.get("resourceNames", ["*"]):
                    found.setdefault((group, resource, name), set()).update(rule["verbs"])
    return found


def _no_wildcards(rules: list[dict[str, Any]]) -> None:
    for rule in rules:
        for key in ("apiGroups", "resources", "verbs"):
            assert "*" not in rule[key], rule


@pytest.fixture(scope="module")
def cluster_wide() -> list[dict[str, Any]]:
    return kustomize(DEPLOY)


@pytest.fixture(scope="module")
def namespaced(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    return kustomize(overlay(tmp_path_factory.mktemp("overlay"), components=["namespaced"]))


def test_cluster_role_grants_only_what_the_controller_uses(
    cluster_wide: list[dict[str, Any]],
) -> None:
    role = one(cluster_wide, "ClusterRole", "kcanary-controller")
    _no_wildcards(role["rules"])
    expected = {(g, r, "*"): verbs for (g, r), verbs in EXPECTED_RULES.items()}
    assert grants(role["rules"]) == expected
    binding = one(cluster_wide, "ClusterRoleBinding", "kcanary-controller")
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": "kcanary-controller",
    }
    assert binding["subjects"] == [SERVICE_ACCOUNT]


def test_no_rule_reads_secrets_anywhere(cluster_wide: list[dict[str, Any]]) -> None:
    """The Prometheus token comes from a mounted Secret, never from the API."""
    for doc in by_kind(cluster_wide, "ClusterRole") + by_kind(cluster_wide, "Role"):
        for rule in doc["rules"]:
            assert "secrets" not in rule["resources"], doc["metadata"]["name"]


def test_lease_is_only_in_the_controller_namespace_and_only_its_own(
    cluster_wide: list[dict[str, Any]],
) -> None:
    role = one(cluster_wide, "Role", "kcanary-leader-election")
    assert role["metadata"]["namespace"] == "kcanary-system"
    assert grants(role["rules"]) == {
        ("coordination.k8s.io", "leases", "*"): {"create"},
        ("coordination.k8s.io", "leases", "kcanary-controller"): {"get", "update"},
    }
    binding = one(cluster_wide, "RoleBinding", "kcanary-leader-election")
    assert binding["metadata"]["namespace"] == "kcanary-system"
    assert binding["roleRef"]["name"] == "kcanary-leader-election"
    assert binding["subjects"] == [SERVICE_ACCOUNT]
    args = one(cluster_wide, "Deployment")["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--lease-name=kcanary-controller" in args


def test_inferenceservice_config_is_readable_in_kserve_namespace_only(
    cluster_wide: list[dict[str, Any]],
) -> None:
    role = one(cluster_wide, "Role", "kcanary-read-inferenceservice-config")
    assert role["metadata"]["namespace"] == "kserve"
    assert grants(role["rules"]) == {("", "configmaps", "inferenceservice-config"): {"get"}}
    binding = one(cluster_wide, "RoleBinding", "kcanary-read-inferenceservice-config")
    assert binding["metadata"]["namespace"] == "kserve"
    assert binding["subjects"] == [SERVICE_ACCOUNT]


def test_namespaced_variant_grants_the_same_rules_in_one_namespace_only(
    namespaced: list[dict[str, Any]], cluster_wide: list[dict[str, Any]]
) -> None:
    assert not by_kind(namespaced, "ClusterRole")
    assert not by_kind(namespaced, "ClusterRoleBinding")
    role = one(namespaced, "Role", "kcanary-controller")
    assert role["metadata"]["namespace"] == WATCHED_NAMESPACE
    cluster_role = one(cluster_wide, "ClusterRole", "kcanary-controller")
    assert role["rules"] == cluster_role["rules"]
    binding = one(namespaced, "RoleBinding", "kcanary-controller")
    assert binding["metadata"]["namespace"] == WATCHED_NAMESPACE
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": "kcanary-controller",
    }
    assert binding["subjects"] == [SERVICE_ACCOUNT]
    # The lease and KServe ConfigMap Roles stay as they are.
    one(namespaced, "Role", "kcanary-leader-election")
    one(namespaced, "Role", "kcanary-read-inferenceservice-config")


def test_namespaced_controller_watches_only_the_granted_namespace(
    namespaced: list[dict[str, Any]],
) -> None:
    args = one(namespaced, "Deployment")["spec"]["template"]["spec"]["containers"][0]["args"]
    assert [a for a in args if a.startswith("--namespace")] == [f"--namespace={WATCHED_NAMESPACE}"]


def test_role_file_documents_the_same_rules_as_the_cluster_role() -> None:
    """The two rule lists are hand-written in two files; they must not drift apart."""
    cluster_role = yaml.safe_load((DEPLOY / "rbac" / "cluster-role.yaml").read_text())
    role, _ = yaml.safe_load_all(
        Path(DEPLOY / "namespaced" / "watched-namespace-role.yaml").read_text()
    )
    assert role["rules"] == cluster_role["rules"]

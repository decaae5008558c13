"""The controller's Deployment is highly available, probed, bounded and locked down, and its
metrics are scraped through the Service and ServiceMonitor."""

from __future__ import annotations

import argparse
from typing import Any

import pytest
from install_build import DEPLOY, kustomize, one, overlay

from kcanary.controller_command import register


def _controller_flags() -> set[str]:
    """The long options the real `kcanary controller` parser accepts: the manifests are checked
    against the command itself, not against a copy of its flag list."""
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    controller = parser._subparsers._group_actions[0].choices["controller"]  # type: ignore[union-attr]
    return {
        option
        for action in controller._actions
        for option in action.option_strings
        if option.startswith("--") and option != "--help"
    }


CONTROLLER_FLAGS = _controller_flags()


@pytest.fixture(scope="module")
def docs() -> list[dict[str, Any]]:
    return kustomize(DEPLOY)


def _pod(docs: list[dict[str, Any]]) -> dict[str, Any]:
    pod: dict[str, Any] = one(docs, "Deployment", "kcanary-controller")["spec"]["template"]
    return pod


def _container(docs: list[dict[str, Any]]) -> dict[str, Any]:
    (container,) = _pod(docs)["spec"]["containers"]
    assert container["name"] == "controller"
    return dict(container)


def test_two_replicas_with_leader_election_spread_across_nodes(
    docs: list[dict[str, Any]],
) -> None:
    deployment = one(docs, "Deployment", "kcanary-controller")
    assert deployment["metadata"]["namespace"] == "kcanary-system"
    assert deployment["spec"]["replicas"] == 2
    assert "--leader-elect" in _container(docs)["args"]
    anti = _pod(docs)["spec"]["affinity"]["podAntiAffinity"]
    (term,) = anti["preferredDuringSchedulingIgnoredDuringExecution"]
    assert term["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
    assert (
        term["podAffinityTerm"]["labelSelector"]["matchLabels"]
        == deployment["spec"]["selector"]["matchLabels"]
    )


def test_args_and_environment_are_controller_flags(docs: list[dict[str, Any]]) -> None:
    container = _container(docs)
    for arg in container["args"]:
        assert arg.split("=", 1)[0] in CONTROLLER_FLAGS, arg
    env = {e["name"]: e for e in container["env"]}
    assert env["KCANARY_PROMETHEUS_URL"]["value"].startswith("http")
    for name in env:
        flag = "--" + name.removeprefix("KCANARY_").lower().replace("_", "-")
        assert flag in CONTROLLER_FLAGS, name
    assert "--metrics-addr=:8080" in container["args"]
    assert "--health-addr=:8081" in container["args"]


def test_probes_use_the_health_port_and_metrics_its_own(docs: list[dict[str, Any]]) -> None:
    container = _container(docs)
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"metrics": 8080, "health": 8081}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "health"}
    assert container["startupProbe"]["httpGet"]["port"] == "health"


def test_resources_are_requested_and_limited(docs: list[dict[str, Any]]) -> None:
    resources = _container(docs)["resources"]
    assert set(resources["requests"]) == {"cpu", "memory"}
    assert set(resources["limits"]) == {"cpu", "memory"}


def test_pod_runs_non_root_read_only_without_capabilities(docs: list[dict[str, Any]]) -> None:
    pod = _pod(docs)["spec"]
    assert pod["serviceAccountName"] == "kcanary-controller"
    assert pod["automountServiceAccountToken"] is True
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 65532
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    context = _container(docs)["securityContext"]
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"] == {"drop": ["ALL"]}
    namespace = one(docs, "Namespace", "kcanary-system")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_disruption_budget_keeps_one_replica(docs: list[dict[str, Any]]) -> None:
    pdb = one(docs, "PodDisruptionBudget", "kcanary-controller")
    assert pdb["spec"]["minAvailable"] == 1
    labels = _pod(docs)["metadata"]["labels"]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()


def test_metrics_are_scraped_through_service_and_servicemonitor(
    docs: list[dict[str, Any]],
) -> None:
    labels = _pod(docs)["metadata"]["labels"]
    service = one(docs, "Service", "kcanary-controller-metrics")
    assert service["spec"]["selector"].items() <= labels.items()
    (port,) = service["spec"]["ports"]
    assert port == {"name": "metrics", "port": 8080, "targetPort": "metrics", "protocol": "TCP"}

    monitor = one(docs, "ServiceMonitor", "kcanary-controller")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    )
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": ["kcanary-system"]}
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] == "metrics"
    assert endpoint["path"] == "/metrics"
    # Keeps the rollouts' own `namespace` label, which the dashboards select on.
    assert endpoint["honorLabels"] is True


def test_prometheus_token_component_mounts_the_secret_read_only(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    root = tmp_path_factory.mktemp("overlay")
    built = kustomize(overlay(root, components=["components/prometheus-token"]))
    pod = one(built, "Deployment")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["prometheus-token"]["secret"]["secretName"] == "kcanary-prometheus"
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    assert mounts["prometheus-token"]["readOnly"] is True
    env = {e["name"]: e["value"] for e in container["env"]}
    token_file = env["KCANARY_PROMETHEUS_BEARER_TOKEN_FILE"]
    assert token_file == mounts["prometheus-token"]["mountPath"] + "/token"

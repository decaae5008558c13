"""The ClusterRoles aggregated into `view` and `edit` grant exactly what the plugin's verbs do
with the API, and nothing more."""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from install_build import DEPLOY, kustomize, one
from test_rbac_least_privilege import grants

from kcanary.kube import Cluster

ISVCS = ("serving.kserve.io", "inferenceservices")
ROLLOUTS = ("kcanary.io", "inferencerollouts")
EVENTS = ("", "events")

# Every request a `Cluster` method makes: (apiGroup, resource, verb). A watch goes to the list
# endpoint with watch=true, which the API server authorizes as `watch`.
READS: dict[str, tuple[str, str, str]] = {
    "isvc": (*ISVCS, "get"),
    "managed_isvc": (*ISVCS, "get"),
    "selected_isvcs": (*ISVCS, "list"),
    "rollout": (*ROLLOUTS, "get"),
    "rollouts": (*ROLLOUTS, "list"),
    "watch_rollouts": (*ROLLOUTS, "watch"),
    "events": (*EVENTS, "list"),
    "watch_events": (*EVENTS, "watch"),
}
# Only the action verbs and `set model` make these: they change the InferenceService, and an
# action waits on a watch of it for the controller's answer.
CHANGES: dict[str, tuple[str, str, str]] = {
    "set_action": (*ISVCS, "patch"),
    "set_model": (*ISVCS, "patch"),
    "watch_isvc": (*ISVCS, "watch"),
}
# Kubernetes's own `view` role already grants these, so kcanary's roles leave them out.
BUILT_IN_VIEW = {(*EVENTS, "get"), (*EVENTS, "list"), (*EVENTS, "watch")}

AGGREGATE = "rbac.authorization.k8s.io/aggregate-to-"


def _granted(role: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {
        (group, resource, verb)
        for (group, resource, name), verbs in grants(role["rules"]).items()
        if name == "*"
        for verb in verbs
    }


@pytest.fixture(scope="module")
def cluster_wide() -> list[dict[str, Any]]:
    return kustomize(DEPLOY)


def test_every_api_call_of_the_plugin_is_accounted_for() -> None:
    """A new `Cluster` method must say what it asks of the API before these roles pass."""
    methods = {
        name
        for name, _ in inspect.getmembers(Cluster, inspect.isfunction)
        if not name.startswith("_") and name != "close"
    }
    assert methods == set(READS) | set(CHANGES)


def test_view_role_grants_what_the_read_verbs_need(cluster_wide: list[dict[str, Any]]) -> None:
    role = one(cluster_wide, "ClusterRole", "kcanary-aggregate-to-view")
    labels = role["metadata"]["labels"]
    assert {k: v for k, v in labels.items() if k.startswith(AGGREGATE)} == {
        f"{AGGREGATE}view": "true"
    }
    assert _granted(role) == set(READS.values()) - BUILT_IN_VIEW


def test_edit_role_adds_only_what_the_action_verbs_need(
    cluster_wide: list[dict[str, Any]],
) -> None:
    """`edit` includes `view` (Kubernetes aggregates the one into the other), so this role holds
    only the changes; `admin` gets them too."""
    role = one(cluster_wide, "ClusterRole", "kcanary-aggregate-to-edit")
    labels = role["metadata"]["labels"]
    assert {k: v for k, v in labels.items() if k.startswith(AGGREGATE)} == {
        f"{AGGREGATE}edit": "true",
        f"{AGGREGATE}admin": "true",
    }
    view = one(cluster_wide, "ClusterRole", "kcanary-aggregate-to-view")
    assert _granted(role) == set(CHANGES.values()) - _granted(view)


def test_plugin_roles_are_bound_to_nobody(cluster_wide: list[dict[str, Any]]) -> None:
    for kind in ("ClusterRoleBinding", "RoleBinding"):
        for binding in (d for d in cluster_wide if d["kind"] == kind):
            assert not binding["roleRef"]["name"].startswith("kcanary-aggregate"), binding

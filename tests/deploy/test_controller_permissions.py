"""The controller needs every rule the shipped RBAC grants, and nothing more.

Controllers run side by side on the session's local cluster, each as its own copy of the
shipped ServiceAccount, in its own namespace (`--namespace`) with its own ISVC: two with
exactly the rules of `kubectl kustomize deploy/` (one per route kind) take a good canary all the
way to promotion without a single 403, and for every rule of the shipped ClusterRole and Roles,
a controller without that one rule either never gets its canary promoted or logs the 403 it
hit. The local API server enforces RBAC as a real one does, including the finalizers
permission that setting blockOwnerDeletion needs.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml
from controller_permissions import PermissionRun, RuleRef, RunResult, shipped_rules
from install_build import DEPLOY, kustomize, overlay

from sim.cluster import LocalCluster

RBAC_FILES = ("rbac/cluster-role.yaml", "rbac/kserve-config.yaml", "rbac/leader-election.yaml")
SHIPPED_RULES = shipped_rules(
    [doc for f in RBAC_FILES for doc in yaml.safe_load_all((DEPLOY / f).read_text()) if doc]
)
FULL_RUNS = ("istio", "gateway-api")
# The namespaced variant (deploy/namespaced/: a Role in the watched namespace instead of the
# ClusterRole) is run in full once.
NAMESPACED_RUN = "full:namespaced"
ROLLOUT_DEADLINE_S = 180.0
# How long a reduced controller may still take once the full ones have been promoted.
GRACE_AFTER_FULL_S = 25.0


def router_without(rule: RuleRef) -> str:
    """An HTTPRoute rule matters only to an ISVC routed by Gateway API; every other rule is
    tried with Istio."""
    return "gateway-api" if "httproutes" in (rule.rule.get("resources") or []) else "istio"


class Runs:
    """All runs, started together; results by key."""

    def __init__(
        self,
        cluster: LocalCluster,
        documents: list[dict[str, Any]],
        namespaced_documents: list[dict[str, Any]],
        root: Path,
    ) -> None:
        tag = uuid.uuid4().hex[:5]
        self.runs: dict[str, PermissionRun] = {
            NAMESPACED_RUN: PermissionRun(
                cluster,
                namespaced_documents,
                f"perm-{tag}-namespaced",
                without=None,
                router="istio",
                workdir=root / "namespaced",
            )
        }
        for index, router in enumerate(FULL_RUNS):
            self.runs[f"full:{router}"] = PermissionRun(
                cluster, documents, f"perm-{tag}-full-{index}",
                without=None, router=router, workdir=root / f"full-{router}",
            )  # fmt: skip
        for index, rule in enumerate(SHIPPED_RULES):
            self.runs[rule.id] = PermissionRun(
                cluster, documents, f"perm-{tag}-{index}",
                without=rule, router=router_without(rule), workdir=root / f"rule-{index}",
            )  # fmt: skip
        self._full_done_at: float | None = None
        self._full_left = sum(key.startswith("full:") for key in self.runs)
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._pool = ThreadPoolExecutor(max_workers=len(self.runs), thread_name_prefix="perm")
        self.results = {key: self._pool.submit(self._run, key) for key in self.runs}

    def _past_deadline(self) -> bool:
        return time.monotonic() - self._started > ROLLOUT_DEADLINE_S

    def _give_up(self, full: bool) -> Callable[[], bool]:
        def give_up() -> bool:
            if self._past_deadline():
                return True
            done_at = self._full_done_at
            return (
                not full and done_at is not None and time.monotonic() - done_at > GRACE_AFTER_FULL_S
            )

        return give_up

    def _run(self, key: str) -> RunResult:
        full = key.startswith("full:")
        result = self.runs[key].run(self._give_up(full))
        if full:
            with self._lock:
                self._full_left -= 1
                if self._full_left == 0:
                    self._full_done_at = time.monotonic()
        return result

    def result(self, key: str) -> RunResult:
        return self.results[key].result(timeout=ROLLOUT_DEADLINE_S + 60)

    def stop(self) -> None:
        for run in self.runs.values():
            run.stop()
        self._pool.shutdown(wait=True, cancel_futures=True)


@pytest.fixture(scope="module")
def shipped_documents() -> list[dict[str, Any]]:
    return kustomize(DEPLOY)


@pytest.fixture(scope="module")
def runs(
    local_cluster: LocalCluster,
    shipped_documents: list[dict[str, Any]],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Runs]:
    namespaced = kustomize(
        overlay(tmp_path_factory.mktemp("namespaced-overlay"), components=["namespaced"])
    )
    runs = Runs(
        local_cluster, shipped_documents, namespaced, tmp_path_factory.mktemp("permissions")
    )
    try:
        yield runs
    finally:
        runs.stop()


def _tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.splitlines()[-lines:])


def test_the_tested_rules_are_those_kustomize_installs(
    shipped_documents: list[dict[str, Any]],
) -> None:
    def described(rules: list[RuleRef]) -> list[str]:
        return sorted(f"{r.kind}/{r.name}#{r.index}: {sorted(r.rule.items())}" for r in rules)

    # The ClusterRoles aggregated into `view` and `edit` are for people using the plugin
    # (tests/deploy/test_plugin_roles.py), bound to no one by the install.
    controller_documents = [doc for doc in shipped_documents if not _for_people(doc)]
    assert described(shipped_rules(controller_documents)) == described(SHIPPED_RULES)


def _for_people(document: dict[str, Any]) -> bool:
    labels = (document.get("metadata") or {}).get("labels") or {}
    return any(key.startswith("rbac.authorization.k8s.io/aggregate-to-") for key in labels)


@pytest.mark.parametrize("key", [*(f"full:{router}" for router in FULL_RUNS), NAMESPACED_RUN])
def test_the_shipped_rbac_lets_the_controller_promote_a_good_canary(runs: Runs, key: str) -> None:
    result = runs.result(key)
    assert not result.forbidden, f"the controller was refused: {result.forbidden}"
    assert result.promoted, (
        f"{result.namespace}: not promoted (last status {result.last_status})\n{_tail(result.log)}"
    )


@pytest.mark.parametrize("rule", SHIPPED_RULES, ids=lambda r: r.id)
def test_without_any_one_rule_the_rollout_fails(runs: Runs, rule: RuleRef) -> None:
    result = runs.result(rule.id)
    assert result.forbidden or not result.promoted, (
        f"without {rule.id} the controller still promoted its canary and was never refused: "
        "the rule is not needed"
    )

"""`kubectl annotate ... kcanary.io/action=...` takes effect within two seconds, and the public
host answers V1 and V2 inference requests at every phase, from the primary and from the canary.

The ISVC here has long steps, so nothing moves but what the person asks for. A steady V1 and V2
load runs through every phase, promotion and rollback included, and every one of its requests
must be answered 200; probes at each phase check who served them.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from e2e_batch import Batch
from e2e_controllers import ControllerProcess
from e2e_rollouts import (
    NamespacePool,
    Rollouts,
    annotated_isvc,
    call_model,
    public_host,
    served_by_workload,
)
from kubectl_harness import PINNED_KUBECTL, Kubectl, kubectl_for
from polling import wait_until

from sim.cluster import LocalCluster
from sim.kube_calls import INFERENCE_SERVICES
from sim.load import Target
from sim.modelserver.naming import Protocol

NAME = "iris"
PRIMARY, CANARY = f"{NAME}-primary-predictor", f"{NAME}-predictor"
ACTION_DEADLINE_S = 2.0
PROBES = 40
BACKGROUND_RPS = 25.0
"""Per protocol: over more than 100 requests of each in the few seconds the actions take."""
# Models that never fail, so that every probe must succeed.
FIRST_URI, SECOND_URI, THIRD_URI = (f"sim://iris/v{n}?p50_ms=5" for n in (1, 2, 3))


@pytest.fixture
def kubectl(kubeconfig_path: Path, tmp_path: Path) -> Kubectl:
    assert PINNED_KUBECTL is not None, "the dev extra's kubectl is not installed"
    return kubectl_for(PINNED_KUBECTL, kubeconfig_path, tmp_path / "kubecache")


@pytest.fixture
def quiet_isvc(
    batch: Batch, controller: ControllerProcess, rollouts: Rollouts, namespaces: NamespacePool
) -> Iterator[str]:
    """A managed ISVC at Stable with long steps, once the batch has ended; its namespace."""
    batch.wait_all()  # the local cluster on a small machine cannot take both at once
    namespace = namespaces.take()
    # The steps hold for people to act on: a passing canary must not end them early.
    rollouts.create(
        annotated_isvc(
            NAME,
            namespace,
            router="istio",
            storage_uri=FIRST_URI,
            step_duration="10m",
            extra_annotations={"kcanary.io/advance-on-pass": "false"},
        )
    )
    rollouts.wait_phase(namespace, NAME, "Stable", timeout_s=90)
    yield namespace
    # Whatever state a failure left it in, it must not go on rolling out beside later tests.
    rollouts.calls.delete(INFERENCE_SERVICES, namespace, NAME)


class Person:
    """Annotates the ISVC with kubectl and times how long until the status shows the effect."""

    def __init__(self, kubectl: Kubectl, rollouts: Rollouts, namespace: str) -> None:
        self._kubectl = kubectl
        self._rollouts = rollouts
        self._namespace = namespace
        self.latencies: list[tuple[str, float]] = []

    def act(self, action: str, effect: Callable[[Mapping[str, Any]], bool]) -> None:
        self._kubectl.run(
            "annotate", "isvc", NAME, "-n", self._namespace,
            f"kcanary.io/action={action}", "--overwrite",
        )  # fmt: skip
        annotated = time.monotonic()  # the write is done once kubectl has returned
        seen: dict[str, Any] = {}

        def shown() -> bool:
            seen.clear()
            seen.update(self._rollouts.status(self._namespace, NAME))
            return effect(seen)

        wait_until(shown, 15, lambda: f"{action} to take effect (status {seen})")
        self.latencies.append((action, round(time.monotonic() - annotated, 3)))
        annotations = self._rollouts.isvc(self._namespace, NAME)["metadata"].get("annotations")
        wait_until(
            lambda: (
                "kcanary.io/action"
                not in (
                    self._rollouts.isvc(self._namespace, NAME)["metadata"].get("annotations") or {}
                )
            ),
            5,
            f"the {action} annotation to be consumed ({annotations})",
        )


def probe(
    cluster: LocalCluster, namespace: str, protocol: str
) -> tuple[Counter[int], Counter[str]]:
    """PROBES requests of one protocol to the public host: statuses, and who served them."""
    host = public_host(cluster, namespace, NAME)
    before = served_by_workload(cluster, namespace)
    statuses = Counter(call_model(cluster, host, NAME, protocol) for _ in range(PROBES))
    return statuses, served_by_workload(cluster, namespace) - before


def assert_served(
    cluster: LocalCluster, namespace: str, by: set[str], *, each: bool = True
) -> None:
    """Every probe answered 200, served by the workloads `by` (each of them, with `each`)."""
    for protocol in ("v1", "v2"):
        statuses, served = probe(cluster, namespace, protocol)
        assert statuses == Counter({200: PROBES}), f"{protocol}: {statuses}"
        assert set(served) <= by, f"{protocol} requests served by {dict(served)}, not {by}"
        if each:
            assert set(served) == by, f"{protocol} requests served by {dict(served)}, not {by}"


@pytest.fixture
def steady_load(local_cluster: LocalCluster, quiet_isvc: str) -> Iterator[list[Target]]:
    """V1 and V2 requests to the ISVC for the whole test; stopped and drained afterwards."""
    load = local_cluster.load
    assert load is not None
    host = public_host(local_cluster, quiet_isvc, NAME)
    targets = [Target(host, NAME, protocol) for protocol in (Protocol.V1, Protocol.V2)]
    for target in targets:
        load.set_rate(target, BACKGROUND_RPS)
    try:
        yield targets
    finally:
        for target in targets:
            load.set_rate(target, 0)


def assert_every_request_answered_200(cluster: LocalCluster, targets: list[Target]) -> None:
    load = cluster.load
    assert load is not None
    for target in targets:
        load.set_rate(target, 0)

    def drained() -> bool:
        counts = load.counts()
        return all(counts[t].answered == counts[t].sent for t in targets)

    wait_until(drained, 20, "the steady load's requests in flight to be answered")
    for target in targets:
        counts = load.counts()[target]
        assert counts.sent > 100, f"{target.protocol}: only {counts.sent} requests"
        assert counts.statuses == {200: counts.sent}, f"{target.protocol}: {counts.statuses}"


def test_actions_by_kubectl_annotate_take_effect_within_two_seconds_and_requests_succeed(
    local_cluster: LocalCluster,
    kubectl: Kubectl,
    rollouts: Rollouts,
    quiet_isvc: str,
    steady_load: list[Target],
) -> None:
    namespace = quiet_isvc
    person = Person(kubectl, rollouts, namespace)
    assert_served(local_cluster, namespace, {PRIMARY})

    rollouts.change_model(namespace, NAME, SECOND_URI)
    rollouts.wait_phase(namespace, NAME, "Progressing", timeout_s=30)
    person.act("pause", lambda s: s.get("phase") == "Paused")
    # 10% of 40 probes may all miss the canary: here only that every probe succeeds.
    assert_served(local_cluster, namespace, {PRIMARY, CANARY}, each=False)
    person.act("resume", lambda s: s.get("phase") == "Progressing")
    person.act("promote", lambda s: s.get("currentStep") == 1 and s.get("canaryWeight") == 25)
    person.act("promote", lambda s: s.get("currentStep") == 2 and s.get("canaryWeight") == 50)
    assert_served(local_cluster, namespace, {PRIMARY, CANARY})
    person.act("promote-full", lambda s: s.get("phase") in ("Promoting", "Stable"))
    status = rollouts.wait_phase(namespace, NAME, "Stable", timeout_s=60)
    assert status["history"][-1]["outcome"] == "promoted", status["history"]
    wait_until(
        lambda: set(probe(local_cluster, namespace, "v1")[1]) == {PRIMARY}, 10, "all on primary"
    )
    assert_served(local_cluster, namespace, {PRIMARY})

    rollouts.change_model(namespace, NAME, THIRD_URI)
    rollouts.wait_phase(namespace, NAME, "Progressing", timeout_s=30)
    person.act("abort", lambda s: s.get("phase") in ("RollingBack", "Aborted"))
    status = rollouts.wait_phase(namespace, NAME, "Aborted", timeout_s=30)
    assert status["canaryWeight"] == 0
    assert status["history"][-1]["outcome"] == "aborted", status["history"]
    wait_until(
        lambda: set(probe(local_cluster, namespace, "v1")[1]) == {PRIMARY}, 10, "all on primary"
    )
    assert_served(local_cluster, namespace, {PRIMARY})

    slow = [(action, s) for action, s in person.latencies if s > ACTION_DEADLINE_S]
    assert not slow, f"actions slower than {ACTION_DEADLINE_S}s: {person.latencies}"
    assert_every_request_answered_200(local_cluster, steady_load)

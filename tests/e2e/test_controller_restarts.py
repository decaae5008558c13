"""A controller killed with SIGKILL mid-rollout continues from the status when started again: at
the same step, without moving traffic twice, without losing a decision, with one history entry
per rollout.

These tests own their controllers, which watch only namespaces the session controller does not,
so killing them disturbs no other test. They start once the concurrent batch has ended: on a
two-core machine the local cluster cannot serve both at once.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from e2e_batch import Batch
from e2e_controllers import ControllerProcess, start_controller
from e2e_rollouts import (
    ERROR_URI,
    GOOD_URI,
    Rollouts,
    TrafficLog,
    annotated_isvc,
    rollout_ended,
    set_load,
    unwatched_namespace,
)
from polling import wait_until

from sim.cluster import LocalCluster

NAME = "iris"


class OwnController:
    """A test's own controller for its own namespaces, restartable; stopped at the end."""

    def __init__(
        self, cluster: LocalCluster, prometheus_url: str, namespaces: list[str], log: Path
    ) -> None:
        self._cluster = cluster
        self._prometheus_url = prometheus_url
        self.namespaces = namespaces
        self.log = log
        self.process: ControllerProcess | None = None
        self.kills = 0

    def start(self) -> None:
        self.process = start_controller(
            kubeconfig=self._cluster.config.kubeconfig,
            prometheus_url=self._prometheus_url,
            log_path=self.log,
            namespaces=self.namespaces,
        )

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.kills += 1

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()


@pytest.fixture
def own_controller(
    batch: Batch,
    local_cluster: LocalCluster,
    prometheus_url: str,
    rollouts: Rollouts,
    tmp_path: Path,
) -> Iterator[OwnController]:
    batch.wait_all()  # the local cluster on a small machine cannot take both at once
    namespaces = [unwatched_namespace(rollouts) for _ in range(2)]
    controller = OwnController(local_cluster, prometheus_url, namespaces, tmp_path / "own.log")
    controller.start()
    try:
        yield controller
    finally:
        controller.stop()
        for namespace in namespaces:
            set_load(local_cluster, namespace, NAME, 0)


def final_weights(traffic_log: TrafficLog, namespace: str) -> list[int]:
    """The route's weights once the log has the decision's return to 0: the route is written
    before the status that reports the decision, but the log's watch may deliver it later."""

    def weights() -> list[int]:
        return [change.weight for change in traffic_log.record(namespace, NAME).weights]

    wait_until(lambda: weights()[-1:] == [0], 20, lambda: f"the route back to 0 ({weights()})")
    return weights()


def assert_never_shifted_twice(weights: list[int]) -> None:
    """Within one rollout the canary weight only grows, each value once, then drops to 0."""
    assert weights and weights[-1] == 0, weights
    rising = [w for w in weights[:-1] if w != 0] if weights[0] == 0 else weights[:-1]
    assert rising == sorted(set(rising)), f"route weights seen: {weights}"
    assert weights.count(0) <= 2, f"route weights seen: {weights}"


def test_a_killed_controller_resumes_at_the_same_step(
    local_cluster: LocalCluster,
    rollouts: Rollouts,
    traffic_log: TrafficLog,
    own_controller: OwnController,
) -> None:
    namespace = own_controller.namespaces[0]
    rollouts.create(annotated_isvc(NAME, namespace, router="istio", step_duration="8s"))
    rollouts.wait_phase(namespace, NAME, "Stable", timeout_s=90)
    set_load(local_cluster, namespace, NAME, 10)
    rollouts.change_model(namespace, NAME, GOOD_URI)
    before: dict[str, Any] = {}

    def at_second_step() -> bool:
        before.clear()
        before.update(rollouts.status(namespace, NAME))
        return before.get("phase") == "Progressing" and before.get("currentStep") == 1

    wait_until(at_second_step, 60, lambda: f"the second step (status {before})")
    own_controller.kill()
    killed_at = before
    own_controller.start()
    # Once the new process has analysed again, it is still at the step it was killed at.
    after: dict[str, Any] = {}

    def analysed_again() -> bool:
        after.clear()
        after.update(rollouts.status(namespace, NAME))
        last = (after.get("lastAnalysis") or {}).get("time")
        return bool(last != (killed_at.get("lastAnalysis") or {}).get("time"))

    wait_until(analysed_again, 30, "an analysis by the restarted controller")
    assert after["rolloutStartedAt"] == killed_at["rolloutStartedAt"]
    assert after.get("currentStep", 0) >= 1, after
    if after.get("currentStep") == 1:
        assert after["stepStartedAt"] == killed_at["stepStartedAt"]
    status = rollouts.wait_decision(namespace, NAME, GOOD_URI, timeout_s=90)
    assert status["phase"] == "Stable" and status["history"][-1]["outcome"] == "promoted"
    assert [h["storageUri"] for h in status["history"]].count(GOOD_URI) == 1, status["history"]
    weights = final_weights(traffic_log, namespace)
    assert_never_shifted_twice(weights)
    assert [w for w in weights if w not in (0, 100)] == [10, 25, 50], weights


@dataclass(frozen=True)
class KillCase:
    router: str
    canary_uri: str
    expected: str


KILL_CASES = (
    KillCase("istio", GOOD_URI, "promoted"),
    KillCase("kserve", ERROR_URI, "rolled-back"),
)


def kill_after_a_route_write(
    controller: OwnController, rollouts: Rollouts, traffic_log: TrafficLog, namespaces: list[str]
) -> int:
    """SIGKILL as soon as a route's weight changes, when the status write that follows the
    route write is often not done yet; how many rollouts were caught in between."""
    seen = {ns: len(traffic_log.record(ns, NAME).weights) for ns in namespaces}
    moved: list[str] = []

    def route_moved() -> bool:
        moved[:] = [ns for ns in namespaces if len(traffic_log.record(ns, NAME).weights) > seen[ns]]
        return bool(moved)

    try:
        wait_until(route_moved, 8, "a route write")
    except AssertionError:
        moved.clear()  # no step changed meanwhile: this kill lands wherever it lands
    controller.kill()
    caught = 0
    for namespace in moved:
        route = traffic_log.record(namespace, NAME).weights[-1].weight
        if rollouts.status(namespace, NAME).get("canaryWeight") != route:
            caught += 1
    return caught


def test_random_kills_never_shift_traffic_twice_or_lose_a_decision(
    local_cluster: LocalCluster,
    rollouts: Rollouts,
    traffic_log: TrafficLog,
    own_controller: OwnController,
) -> None:
    cases = dict(zip(own_controller.namespaces, KILL_CASES, strict=True))
    for namespace, case in cases.items():
        rollouts.create(annotated_isvc(NAME, namespace, router=case.router, step_duration="5s"))
    for namespace, case in cases.items():
        rollouts.wait_phase(namespace, NAME, "Stable", timeout_s=90)
        set_load(local_cluster, namespace, NAME, 10 if case.expected == "promoted" else 25)
        rollouts.change_model(namespace, NAME, case.canary_uri)
    chooser = random.Random(7)
    between_patch_and_status = 0
    deadline = time.monotonic() + 180
    pending = dict(cases)
    while pending:
        assert time.monotonic() < deadline, f"undecided after the kills: {sorted(pending)}"
        if chooser.random() < 0.5:
            between_patch_and_status += kill_after_a_route_write(
                own_controller, rollouts, traffic_log, list(pending)
            )
        else:
            threading.Event().wait(chooser.uniform(0.2, 2.5))  # a random moment to kill at
            own_controller.kill()
        own_controller.start()
        for namespace in list(pending):
            if rollout_ended(rollouts.status(namespace, NAME), pending[namespace].canary_uri):
                del pending[namespace]
    assert own_controller.kills >= 4
    for namespace, case in cases.items():
        status = rollouts.status(namespace, NAME)
        history = status["history"]
        assert [h["storageUri"] for h in history].count(case.canary_uri) == 1, history
        assert history[-1]["outcome"] == case.expected, (case, history[-1])
        assert status["canaryWeight"] == 0
        assert_never_shifted_twice(final_weights(traffic_log, namespace))
    print(
        f"kills: {own_controller.kills}, caught between a route write and the status write: "
        f"{between_patch_and_status}"
    )

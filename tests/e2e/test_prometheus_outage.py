"""With Prometheus stopped, or frozen (SIGSTOP: it accepts connections and answers nothing), a
rollout holds: neither promoted nor rolled back, same phase and step, and any analysis written
meanwhile says NoData. It carries on once Prometheus is back.

An outage touches every rollout in the session, so this runs after the concurrent batch has
ended, on an ISVC of its own, and keeps each outage short (8 s stopped; 13 s frozen, past the
controller's 10 s query timeout). A step ends early when the canary proves itself, so holding
means no step change while there is no data.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from e2e_batch import Batch
from e2e_controllers import ControllerProcess
from e2e_rollouts import (
    GOOD_URI,
    NamespacePool,
    Rollouts,
    annotated_isvc,
    set_load,
)
from polling import wait_until

from sim.cluster import LocalCluster
from sim.kube_calls import INFERENCE_SERVICES
from sim.prometheus import PrometheusRunner

NAME = "iris"
STEP_S = 30.0  # long enough for both outages within the rollout
FREEZE_S = 13.0  # beyond the controller's 10 s query timeout
STOP_S = 10.0


@pytest.fixture
def rolling(
    batch: Batch,
    controller: ControllerProcess,
    local_cluster: LocalCluster,
    rollouts: Rollouts,
    namespaces: NamespacePool,
) -> Iterator[str]:
    """An ISVC whose good canary is at its first step, analysed at least once; its namespace."""
    batch.wait_all()
    namespace = namespaces.take()
    # Both outages must fall within the rollout: its steps last their duration, Pass or not.
    rollouts.create(
        annotated_isvc(
            NAME,
            namespace,
            router="istio",
            step_duration=f"{STEP_S:.0f}s",
            extra_annotations={"kcanary.io/advance-on-pass": "false"},
        )
    )
    rollouts.wait_phase(namespace, NAME, "Stable", timeout_s=60)
    set_load(local_cluster, namespace, NAME, 10)
    rollouts.change_model(namespace, NAME, GOOD_URI)
    try:
        yield namespace
    finally:
        set_load(local_cluster, namespace, NAME, 0)
        # Whatever state a failure left it in, it must not go on rolling out beside later tests.
        rollouts.calls.delete(INFERENCE_SERVICES, namespace, NAME)


def hold_through(outage_s: float, rollouts: Rollouts, namespace: str) -> tuple[str, set[str]]:
    """Poll the status for `outage_s`: it must keep phase and step throughout; the phase and
    the verdicts of the analyses seen meanwhile."""
    first = rollouts.status(namespace, NAME)
    verdicts = set()
    end = time.monotonic() + outage_s
    while time.monotonic() < end:
        last = rollouts.status(namespace, NAME)
        assert (last.get("phase"), last.get("currentStep")) == (
            first.get("phase"),
            first.get("currentStep"),
        ), f"moved during the outage: {first} -> {last}"
        analysis = last.get("lastAnalysis") or {}
        if analysis.get("time") != (first.get("lastAnalysis") or {}).get("time"):
            verdicts.add(str(analysis.get("verdict")))
        threading.Event().wait(0.1)
    return str(first.get("phase")), verdicts


def prometheus_of(cluster: LocalCluster) -> PrometheusRunner:
    assert cluster.prometheus is not None
    return cluster.prometheus


def test_a_rollout_holds_while_prometheus_is_stopped_or_frozen_and_then_carries_on(
    local_cluster: LocalCluster, rollouts: Rollouts, rolling: str
) -> None:
    namespace = rolling
    prometheus = prometheus_of(local_cluster)

    def analysed_since(moment: str) -> bool:
        """Progressing, with an analysis on data newer than `moment`."""
        status = rollouts.status(namespace, NAME)
        analysis = status.get("lastAnalysis") or {}
        return (
            status.get("phase") == "Progressing"
            and analysis.get("verdict") in ("Pass", "Inconclusive")
            and str(analysis.get("time")) > moment
        )

    wait_until(lambda: analysed_since(""), 60, "an analysis of the canary")
    prometheus.stop_process()
    try:
        phase, verdicts = hold_through(STOP_S, rollouts, namespace)
    finally:
        prometheus.start_again()
    assert phase == "Progressing"
    assert verdicts <= {"NoData"}, f"analyses without Prometheus said {verdicts}"

    back = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    wait_until(lambda: analysed_since(back), 60, "an analysis once Prometheus is back")
    prometheus.freeze()
    try:
        phase, verdicts = hold_through(FREEZE_S, rollouts, namespace)
    finally:
        prometheus.thaw()
    assert phase == "Progressing"
    assert verdicts <= {"NoData"}, f"analyses without Prometheus said {verdicts}"

    status = rollouts.wait_decision(namespace, NAME, GOOD_URI, timeout_s=90)
    assert status["phase"] == "Stable", status
    assert status["history"][-1]["outcome"] == "promoted", status["history"]

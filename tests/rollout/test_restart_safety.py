"""A controller killed between any two actions, or before or after the status write, and
started again from the status, moves traffic exactly as an uninterrupted one and decides once."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

import pytest
from fake_rollout_cluster import FakeCluster, Killed

from rollout.evidence import Verdict

V2, V3 = "s3://models/iris/v2", "s3://models/iris/v3"


def fails_once_at_fifty(cluster: FakeCluster) -> Verdict:
    """Like real evidence, harm once seen stays seen: the window covers the whole rollout."""
    return Verdict.FAIL if 50 in cluster.weights[1:] else Verdict.PASS


def always_pass(cluster: FakeCluster) -> Verdict:
    return Verdict.PASS


def never_decides(cluster: FakeCluster) -> Verdict:
    return Verdict.INCONCLUSIVE


def passes_in_the_extension(cluster: FakeCluster) -> Verdict:
    """Inconclusive until 90 s at 50%: past the last step's 1m, inside its extension."""
    at_fifty = cluster.route_weight == 50 and cluster.now - cluster.weight_times[-1] >= timedelta(
        seconds=90
    )
    return Verdict.PASS if at_fifty else Verdict.INCONCLUSIVE


Scenario = Callable[[FakeCluster, int], None]
"""What people do at tick i of a rollout."""


def no_one_acts(cluster: FakeCluster, tick: int) -> None:
    return None


def someone_promotes_then_pauses_and_resumes(cluster: FakeCluster, tick: int) -> None:
    if tick == 3:
        cluster.ask("promote")
    if tick == 20:
        cluster.ask("pause")
    if tick == 40:
        cluster.ask("resume")


def a_newer_revision_arrives(cluster: FakeCluster, tick: int) -> None:
    if tick == 15:
        cluster.deploy(V3)


def someone_aborts(cluster: FakeCluster, tick: int) -> None:
    if tick == 10:
        cluster.ask("abort")


FULL_STEPS = {"kcanary.io/advance-on-pass": "false"}
ROLLBACK_ON_INCONCLUSIVE = {"kcanary.io/analysis": "onInconclusive: rollback"}
SCENARIOS: list[tuple[str, str, Callable[[FakeCluster], Verdict], Scenario, Mapping[str, str]]] = [
    ("promotion", "istio", always_pass, no_one_acts, {}),
    ("full-steps", "istio", always_pass, no_one_acts, FULL_STEPS),
    ("rollback", "gateway-api", fails_once_at_fifty, no_one_acts, {}),
    ("manual", "istio", always_pass, someone_promotes_then_pauses_and_resumes, FULL_STEPS),
    ("superseded", "istio", always_pass, a_newer_revision_arrives, FULL_STEPS),
    ("abort", "istio", always_pass, someone_aborts, FULL_STEPS),
    ("extended", "istio", never_decides, no_one_acts, {}),
    ("extended-then-passed", "istio", passes_in_the_extension, no_one_acts, {}),
    ("extended-then-rolled-back", "istio", never_decides, no_one_acts, ROLLBACK_ON_INCONCLUSIVE),
    ("kserve-promotion", "kserve", always_pass, no_one_acts, {}),
    ("kserve-rollback", "kserve", fails_once_at_fifty, no_one_acts, {}),
]


def play(
    traffic: str,
    verdict: Callable[[FakeCluster], Verdict],
    people: Scenario,
    annotations: Mapping[str, str],
    rng: random.Random | None,
) -> FakeCluster:
    cluster = FakeCluster(verdict=verdict)
    cluster.annotations["kcanary.io/traffic"] = traffic
    cluster.annotations.update(annotations)
    if traffic == "kserve":  # KServe takes a while to roll a promoted revision out
        cluster.router_rollout_time = timedelta(seconds=30)
    cluster.run_until("Stable")
    cluster.deploy(V2)
    for tick in range(160):
        people(cluster, tick)
        kill_at = None
        if rng is not None and rng.random() < 0.4:
            kill_at = rng.randrange(0, 8)
        # A kill ends this controller; the next reconcile is a fresh one reading the status.
        with contextlib.suppress(Killed):
            cluster.reconcile(kill_at=kill_at)
        cluster.advance(5)
    return cluster


def outcomes(cluster: FakeCluster) -> list[tuple[str, str | None]]:
    return [(e["storageUri"], e.get("outcome")) for e in cluster.status.get("history", [])]


def step_end(cluster: FakeCluster) -> tuple[object, object]:
    """Which step ended last and why (a kill may delay it by a tick, so not when)."""
    end = cluster.status.get("lastStepEnd") or {}
    return end.get("step"), end.get("reason")


def step_ends(cluster: FakeCluster) -> list[tuple[object, object]]:
    """Every step end the status recorded, in order: which step and why."""
    ends: list[dict[str, Any]] = []
    for status in cluster.statuses:
        end = status.get("lastStepEnd")
        if end is not None and (not ends or ends[-1] != end):
            ends.append(end)
    return [(end["step"], end["reason"]) for end in ends]


def assert_same_step_ends(killed: FakeCluster, reference: FakeCluster, seed: int) -> None:
    """The killed run's status records the reference's step ends, at most one fewer.

    A controller killed between the route write and the status write of a step change leaves
    the route at the new weight and the status at the step before (traffic first, status
    second: rollout.actions). Its successor decides that step change again, and records its end
    a tick late, unless the next look, with the new weight's traffic in it, shows harm: harm rolls
    back before any step ends, so the step change is never recorded and the status stays at the
    step it had. Only the last step end can be missing so, and only on a rollback.
    """
    ends, expected = step_ends(killed), step_ends(reference)
    if ends == expected:
        assert step_end(killed) == step_end(reference), f"seed {seed}"
        return
    assert ends == expected[:-1], f"seed {seed}"
    decided = killed.status["history"][-1]
    assert (decided["outcome"], decided["reason"]) == ("rolled-back", "analysis failed: Fail"), (
        f"seed {seed}: only harm preempts the replay of a step change"
    )
    step, _ = expected[-1]
    assert killed.status["currentStep"] == step, f"seed {seed}: the status stays at its step"


def taken(cluster: FakeCluster) -> list[str]:
    return [
        record["action"]
        for entry in cluster.status.get("history", [])
        for record in entry.get("actions", [])
    ]


@pytest.mark.parametrize(
    ("name", "traffic", "verdict", "people", "annotations"),
    SCENARIOS,
    ids=[s[0] for s in SCENARIOS],
)
def test_random_kills_never_move_traffic_twice_nor_decide_twice(
    name: str,
    traffic: str,
    verdict: Callable[[FakeCluster], Verdict],
    people: Scenario,
    annotations: Mapping[str, str],
) -> None:
    reference = play(traffic, verdict, people, annotations, None)
    assert reference.phase in ("Stable", "RolledBack", "Aborted"), reference.phase
    for seed in range(8):
        killed = play(traffic, verdict, people, annotations, random.Random(seed))
        assert killed.weights == reference.weights, f"seed {seed}"
        assert outcomes(killed) == outcomes(reference), f"seed {seed}"
        assert taken(killed) == taken(reference), f"seed {seed}"
        assert killed.phase == reference.phase, f"seed {seed}"
        assert_same_step_ends(killed, reference, seed)
        assert len(killed.decisions) <= len(reference.decisions), f"seed {seed}"
        assert set(killed.decisions) <= set(reference.decisions), f"seed {seed}"


def test_the_reference_runs_do_what_their_names_say() -> None:
    results = {
        name: play(traffic, verdict, people, annotations, None)
        for name, traffic, verdict, people, annotations in SCENARIOS
    }
    assert outcomes(results["promotion"]) == [(V2, "promoted")]
    assert outcomes(results["full-steps"]) == [(V2, "promoted")]
    assert outcomes(results["extended"]) == [(V2, "promoted")]
    assert outcomes(results["extended-then-passed"]) == [(V2, "promoted")]
    assert outcomes(results["extended-then-rolled-back"]) == [(V2, "rolled-back")]
    ended = {name: step_end(cluster)[1] for name, cluster in results.items()}
    assert ended["promotion"] == "evidence"
    assert ended["full-steps"] == "duration"
    assert ended["extended"] == "extension-limit"
    assert ended["extended-then-passed"] == "evidence"
    assert outcomes(results["rollback"]) == [(V2, "rolled-back")]
    assert taken(results["manual"]) == ["promote", "pause", "resume"]
    assert outcomes(results["superseded"]) == [(V2, "superseded"), (V3, "promoted")]
    assert outcomes(results["abort"]) == [(V2, "aborted")]
    assert outcomes(results["kserve-promotion"]) == [(V2, "promoted")]
    assert results["kserve-promotion"].weights == [0, 10, 25, 50, 100, 0]
    assert outcomes(results["kserve-rollback"]) == [(V2, "rolled-back")]


def test_harm_right_after_a_step_change_the_status_missed_rolls_back_from_the_step_it_has() -> None:
    """Killed between the route write to 50% and the status write; the next look already holds
    the canary's failures at 50%: it rolls back, once, and the status claims no step it did not
    record (the case `assert_same_step_ends` allows)."""
    cluster = FakeCluster(verdict=fails_once_at_fifty)
    cluster.run_until("Stable")
    cluster.deploy(V2)
    while cluster.route_weight != 50:
        # Killed after its first action: only the reconcile that moves traffic loses its status.
        with contextlib.suppress(Killed):
            cluster.reconcile(kill_at=1 if cluster.route_weight == 25 else None)
        cluster.advance(5)
    assert cluster.status["currentStep"] == 1, "the move to 50% is not in the status"
    cluster.run_until("RolledBack", every=5)
    assert cluster.weights == [0, 10, 25, 50, 0]
    assert cluster.decisions == ["rolled_back"]
    assert cluster.status["currentStep"] == 1
    assert step_ends(cluster) == [(0, "evidence")]

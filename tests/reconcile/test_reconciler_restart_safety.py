"""A controller killed at any of its writes and started afresh continues from the status: no
weight is written twice, no decision is lost or repeated, one history entry per rollout."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from reconcile_world import ScriptedAnalyst, World, weights_seen

from rollout.evidence import Verdict

V1, V2 = "s3://models/iris/v1", "s3://models/iris/v2"

Scenario = Callable[[World], None]


def promotion(world: World) -> None:
    world.run("iris", lambda w: w.phase("iris") == "Stable")
    world.deploy("iris", V2)
    world.run(
        "iris",
        lambda w: w.phase("iris") == "Stable" and w.status("iris")["stable"]["storageUri"] == V2,
    )


def rollback(world: World) -> None:
    world.analyst.verdict = lambda job: Verdict.FAIL if job.canary_weight >= 25 else Verdict.PASS
    world.run("iris", lambda w: w.phase("iris") == "Stable")
    world.deploy("iris", V2)
    world.run("iris", lambda w: w.phase("iris") == "RolledBack")


def abort_by_hand(world: World) -> None:
    world.run("iris", lambda w: w.phase("iris") == "Stable")
    world.deploy("iris", V2)
    world.run("iris", lambda w: w.route_weight("iris") == 10)
    world.annotate("iris", "kcanary.io/action", "abort", manager="kubectl-annotate")
    world.run("iris", lambda w: w.phase("iris") == "Aborted")


SCENARIOS: dict[str, tuple[Scenario, str, str]] = {
    "promotion": (promotion, "promoted", "promoted"),
    "rollback": (rollback, "rolled-back", "rolled_back"),
    "abort": (abort_by_hand, "aborted", "aborted"),
}


def play(scenario: Scenario, kill_at: int | None) -> World:
    world = World(ScriptedAnalyst())
    world.add_isvc("iris", V1)
    world.store.kill_at = kill_at
    scenario(world)
    return world


@pytest.mark.parametrize("name", SCENARIOS)
def test_a_kill_at_any_write_neither_repeats_nor_loses_anything(name: str) -> None:
    scenario, outcome, decision = SCENARIOS[name]
    reference = play(scenario, None)
    (entry,) = reference.status("iris")["history"]
    assert entry["outcome"] == outcome
    assert reference.decisions(decision) == 1
    for kill_at in range(reference.store.controller_writes):
        killed = play(scenario, kill_at)
        assert killed.store.kill_at is None, "the kill never happened"
        assert weights_seen(killed) == weights_seen(reference), f"killed at write {kill_at}"
        history = killed.status("iris")["history"]
        assert [(e["storageUri"], e["outcome"]) for e in history] == [(V2, outcome)]
        assert [a["action"] for a in history[0].get("actions", [])] == [
            a["action"] for a in entry.get("actions", [])
        ], f"killed at write {kill_at}"
        assert killed.phase("iris") == reference.phase("iris")
        assert killed.decisions(decision) <= 1, f"killed at write {kill_at}"

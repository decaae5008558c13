"""Manual actions in every phase: taken once, recorded with who asked, or refused with a
Warning that says why; the annotation is always removed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fake_rollout_cluster import FakeCluster, Killed

from rollout.actions import ConsumeAction, EventType
from rollout.evidence import Verdict
from rollout.machine import step
from rollout.status import from_status
from rollout.transition import Transition

V2 = "s3://models/iris/v2"


def initializing() -> FakeCluster:
    cluster = FakeCluster(primary_ready_after=timedelta(hours=1))
    cluster.reconcile()
    return cluster


def stable() -> FakeCluster:
    cluster = FakeCluster()
    cluster.run_until("Stable")
    return cluster


def waiting_for_canary() -> FakeCluster:
    cluster = stable()
    cluster.canary_ready = False
    cluster.deploy(V2)
    cluster.reconcile()
    return cluster


def progressing() -> FakeCluster:
    cluster = stable()
    cluster.deploy(V2)
    cluster.reconcile()
    assert cluster.route_weight == 10
    return cluster


def paused() -> FakeCluster:
    cluster = stable()
    cluster.annotations["kcanary.io/steps"] = "10,pause,50"
    cluster.deploy(V2)
    cluster.run_until("Paused")
    return cluster


def paused_by_user() -> FakeCluster:
    cluster = progressing()
    cluster.ask("pause")
    cluster.reconcile()
    assert cluster.phase == "Paused"
    return cluster


def promoting() -> FakeCluster:
    cluster = stable()
    cluster.annotations["kcanary.io/steps"] = "50"
    cluster.primary_ready_after = timedelta(hours=1)
    cluster.deploy(V2)
    cluster.run_until("Promoting")
    return cluster


def rolling_back() -> FakeCluster:
    cluster = stable()
    cluster.verdict = lambda c: Verdict.FAIL
    cluster.deploy(V2)
    cluster.run_until("RollingBack")
    return cluster


def rolled_back() -> FakeCluster:
    cluster = rolling_back()
    cluster.run_until("RolledBack")
    return cluster


def aborted() -> FakeCluster:
    cluster = progressing()
    cluster.ask("abort")
    cluster.run_until("Aborted")
    return cluster


PHASES: dict[str, Callable[[], FakeCluster]] = {
    "Initializing": initializing,
    "Stable": stable,
    "Progressing": progressing,
    "Paused": paused,
    "Promoting": promoting,
    "RollingBack": rolling_back,
    "RolledBack": rolled_back,
    "Aborted": aborted,
}

# (action, phase) -> phase after the reconcile that takes it; missing pairs are refused.
TAKEN = {
    ("promote", "Progressing"): "Progressing",
    ("promote", "Paused"): "Progressing",
    ("promote-full", "Progressing"): "Promoting",
    ("promote-full", "Paused"): "Promoting",
    ("abort", "Progressing"): "RollingBack",
    ("abort", "Paused"): "RollingBack",
    ("pause", "Progressing"): "Paused",
    ("resume", "Paused"): "Progressing",
    ("retry", "RolledBack"): "Progressing",
    ("retry", "Aborted"): "Progressing",
}

ACTIONS = ["promote", "promote-full", "abort", "pause", "resume", "retry"]


def records(status: dict[str, Any]) -> list[dict[str, Any]]:
    return [record for entry in status.get("history", []) for record in entry.get("actions", [])]


def refusal(action: str, phase: str) -> str:
    if action in ("promote", "promote-full"):
        return f"{action}: no rollout to promote (phase {phase})"
    if action == "abort":
        if phase == "Promoting":
            return "abort: the promotion is under way and cannot be aborted"
        return f"abort: no rollout to abort (phase {phase})"
    if action == "pause":
        if phase == "Paused":
            return "pause: the rollout is already paused"
        return f"pause: no rollout to pause (phase {phase})"
    if action == "resume":
        return f"resume: rollout is not paused (phase {phase})"
    return (
        f"retry: nothing to retry: only a rolled back or aborted rollout can be retried "
        f"(phase {phase})"
    )


@pytest.mark.parametrize("phase", list(PHASES))
@pytest.mark.parametrize("action", ACTIONS)
def test_every_action_in_every_phase(action: str, phase: str) -> None:
    cluster = PHASES[phase]()
    assert cluster.phase == phase
    records_before = records(cluster.status)
    events_before = len(cluster.events)
    cluster.ask(action)
    transition = cluster.reconcile()
    new_events = cluster.events[events_before:]
    assert transition.after_commit.count(ConsumeAction(action)) == 1
    assert "kcanary.io/action" not in cluster.annotations
    expected = TAKEN.get((action, phase))
    if expected is None:
        about_actions = [e for e in new_events if e.reason in ("ActionRejected", "ActionTaken")]
        assert [(e.type, e.reason, e.message) for e in about_actions] == [
            (EventType.WARNING, "ActionRejected", refusal(action, phase))
        ]
        assert records(cluster.status) == records_before
        return
    assert cluster.phase == expected
    record = cluster.status["history"][-1]["actions"][-1]
    assert (record["action"], record["by"]) == (action, "alice")
    assert record["message"].startswith(f"{action} by alice: ")
    taken = [e for e in new_events if e.reason == "ActionTaken"]
    assert [(e.type, e.message) for e in taken] == [(EventType.NORMAL, record["message"])]


def test_promote_moves_to_the_next_step_now() -> None:
    cluster = progressing()
    cluster.ask("promote")
    cluster.reconcile()
    assert (cluster.status["currentStep"], cluster.route_weight) == (1, 25)


def test_promote_on_the_last_step_promotes() -> None:
    cluster = progressing()
    for _ in range(3):
        cluster.ask("promote")
        cluster.reconcile()
        cluster.advance(1)
    assert cluster.phase == "Promoting"
    cluster.run_until("Stable")
    assert cluster.status["history"][-1]["outcome"] == "promoted"


def test_promote_full_skips_the_remaining_steps() -> None:
    cluster = progressing()
    cluster.ask("promote-full")
    cluster.run_until("Stable")
    assert cluster.weights == [0, 10, 0]
    assert cluster.status["history"][-1]["reason"] == "promote-full by alice"


def test_abort_rolls_back_with_outcome_aborted_and_who_asked() -> None:
    cluster = progressing()
    cluster.action_by = "bob"
    cluster.ask("abort")
    cluster.run_until("Aborted")
    entry = cluster.status["history"][-1]
    assert (entry["outcome"], entry["reason"]) == ("aborted", "aborted by bob")
    assert cluster.route_weight == 0
    assert cluster.decisions == ["aborted"]


def test_a_manual_pause_holds_past_the_step_duration_until_resumed() -> None:
    cluster = paused_by_user()
    cluster.run(30 * 60)
    assert cluster.phase == "Paused" and cluster.route_weight == 10
    cluster.ask("resume")
    cluster.reconcile()
    assert cluster.phase == "Progressing"
    cluster.reconcile()
    assert cluster.route_weight == 25, "the step had lasted long enough: it ends at once"


def test_retry_rolls_the_same_canary_out_again_in_a_new_history_entry() -> None:
    cluster = rolled_back()
    cluster.verdict = lambda c: Verdict.PASS
    cluster.ask("retry")
    cluster.run_until("Stable")
    first, second = cluster.status["history"]
    assert first["revision"] == second["revision"]
    assert (first["outcome"], second["outcome"]) == ("rolled-back", "promoted")
    assert second["actions"][0]["action"] == "retry"


def test_an_action_written_with_a_new_revision_applies_to_its_rollout() -> None:
    cluster = rolled_back()
    cluster.deploy("s3://models/iris/v3")
    cluster.ask("retry")
    cluster.reconcile()
    assert cluster.status["canary"]["storageUri"] == "s3://models/iris/v3"
    refused = [e.message for e in cluster.events if e.reason == "ActionRejected"]
    assert refused == [
        "retry: nothing to retry: only a rolled back or aborted rollout can be retried "
        "(phase Progressing)"
    ]
    cluster.deploy("s3://models/iris/v4")
    cluster.ask("pause")
    cluster.reconcile()
    assert cluster.phase == "Paused"
    assert cluster.status["canary"]["storageUri"] == "s3://models/iris/v4"


def test_a_paused_rollout_waits_for_resume_even_once_the_canary_is_ready() -> None:
    cluster = waiting_for_canary()
    cluster.ask("pause")
    cluster.reconcile()
    cluster.canary_ready = True
    cluster.run(5 * 60)
    assert cluster.phase == "Paused" and cluster.route_weight == 0
    cluster.ask("resume")
    cluster.reconcile()
    assert cluster.phase == "Progressing" and cluster.route_weight == 10


def step_only(cluster: FakeCluster) -> Transition:
    return step(from_status(cluster.status), cluster.observe(), cluster.now)


def test_promote_before_the_canary_is_ready_is_refused() -> None:
    cluster = waiting_for_canary()
    cluster.ask("promote")
    cluster.reconcile()
    assert cluster.events[-1].message == "promote: the canary is not ready yet"
    assert cluster.route_weight == 0


def test_an_unknown_action_is_refused_with_the_list_of_actions() -> None:
    cluster = progressing()
    cluster.ask("rollback")
    cluster.reconcile()
    assert cluster.events[-1].message == (
        '"rollback" is not an action: use one of promote, promote-full, abort, pause, resume, retry'
    )
    assert "kcanary.io/action" not in cluster.annotations


def test_an_action_waits_while_the_strategy_is_invalid() -> None:
    cluster = progressing()
    cluster.annotations["kcanary.io/interval"] = "soon"
    cluster.ask("promote")
    cluster.reconcile()
    assert cluster.annotations["kcanary.io/action"] == "promote"
    del cluster.annotations["kcanary.io/interval"]
    cluster.reconcile()
    assert "kcanary.io/action" not in cluster.annotations
    assert cluster.route_weight == 25


def test_a_crash_before_the_annotation_is_removed_does_not_take_it_twice() -> None:
    cluster = progressing()
    cluster.ask("promote")
    kill_after_status = len(step_only(cluster).before_commit) + 1
    with pytest.raises(Killed):
        cluster.reconcile(kill_at=kill_after_status)
    assert cluster.annotations["kcanary.io/action"] == "promote"
    assert cluster.status["currentStep"] == 1
    cluster.advance(5)
    replay = cluster.reconcile()
    assert "kcanary.io/action" not in cluster.annotations
    assert cluster.status["currentStep"] == 1 and cluster.route_weight == 25
    assert not any(e.reason == "ActionTaken" for e in cluster.events[-len(replay.actions) :])
    records = cluster.status["history"][-1]["actions"]
    assert [r["action"] for r in records] == ["promote"]


def test_a_stale_read_of_a_taken_action_is_only_removed() -> None:
    cluster = progressing()
    cluster.ask("promote")
    cluster.reconcile()
    cluster.annotations["kcanary.io/action"] = "promote"  # a cache that has not seen the removal
    cluster.advance(5)
    cluster.reconcile()
    assert cluster.status["currentStep"] == 1
    assert "kcanary.io/action" not in cluster.annotations


def test_the_same_action_asked_again_later_is_taken_again() -> None:
    cluster = progressing()
    cluster.ask("promote")
    cluster.reconcile()
    cluster.advance(5)
    cluster.ask("promote")
    cluster.reconcile()
    assert cluster.status["currentStep"] == 2 and cluster.route_weight == 50


def test_a_controller_clock_behind_the_api_server_still_takes_an_action_once() -> None:
    cluster = progressing()
    cluster.ask("promote")
    cluster.action_at = cluster.now + timedelta(seconds=30)  # the API server's clock is ahead
    kill_after_status = len(step_only(cluster).before_commit) + 1
    with pytest.raises(Killed):
        cluster.reconcile(kill_at=kill_after_status)
    cluster.advance(5)
    cluster.reconcile()
    assert cluster.status["currentStep"] == 1 and cluster.route_weight == 25

"""Every phase transition of the state machine, driven tick by tick with a fake clock (how the
analysis's verdicts move a rollout is in `test_rollout_analysis_verdicts`)."""

from __future__ import annotations

import itertools
from datetime import timedelta

from fake_rollout_cluster import FakeCluster, history, revision, stable_cluster, warnings

from rollout.actions import EmitEvent, EnsurePrimary, EventType, HandBack, SetWeight
from rollout.evidence import Verdict
from rollout.machine import step
from rollout.status import from_status, to_status

V1, V2, V3 = "s3://models/iris/v1", "s3://models/iris/v2", "s3://models/iris/v3"


def full_steps_cluster() -> FakeCluster:
    """Steps that last their whole duration even while the canary passes."""
    return stable_cluster(**{"advance-on-pass": "false"})


# -- Initializing -------------------------------------------------------------------------------


def test_initializing_creates_the_primary_and_routes_only_once_it_is_ready() -> None:
    cluster = FakeCluster(primary_ready_after=timedelta(seconds=30))
    first = cluster.reconcile()
    assert first.before_commit == (EnsurePrimary(revision(V1)),)
    assert cluster.phase == "Initializing"
    assert cluster.route_weight is None
    cluster.advance(10)
    assert not any(isinstance(a, SetWeight) for a in cluster.reconcile().actions)
    cluster.advance(30)
    last = cluster.reconcile()
    assert SetWeight(0) in last.before_commit
    assert cluster.phase == "Stable"
    assert cluster.status["stable"]["revision"] == revision(V1).hash
    assert cluster.status["conditions"][0]["type"] == "Ready"
    assert cluster.status["conditions"][0]["status"] == "True"


def test_kserve_mode_puts_the_zero_percent_guard_on_without_a_primary() -> None:
    cluster = FakeCluster()
    cluster.annotations["kcanary.io/traffic"] = "kserve"
    transition = cluster.reconcile()
    assert transition.before_commit == (SetWeight(0),)
    assert cluster.phase == "Stable"
    assert cluster.primary_revision is None


def test_an_existing_primary_is_the_stable_revision_when_taking_over() -> None:
    cluster = FakeCluster(primary_revision=revision(V1), storage_uri=V2)
    cluster.reconcile()
    assert cluster.phase == "Stable"
    cluster.reconcile()
    assert cluster.status["stable"]["revision"] == revision(V1).hash
    assert cluster.phase == "Progressing"
    assert cluster.status["canary"]["revision"] == revision(V2).hash


# -- Progressing to promotion -------------------------------------------------------------------


def test_a_good_canary_walks_every_step_for_the_step_duration_and_is_promoted() -> None:
    cluster = full_steps_cluster()
    cluster.deploy(V2)
    cluster.run_until("Stable", every=5)
    assert cluster.weights == [0, 10, 25, 50, 0]
    times = cluster.weight_times
    for started, ended in itertools.pairwise(times[1:5]):
        assert ended - started >= timedelta(minutes=1)
    assert cluster.status["stable"]["revision"] == revision(V2).hash
    assert "canary" not in cluster.status
    assert cluster.primary_revision == revision(V2)
    (entry,) = history(cluster)
    assert entry["outcome"] == "promoted"
    assert entry["reason"] == "all 3 steps passed"
    assert entry["storageUri"] == V2 and "finishedAt" in entry
    assert cluster.decisions == ["promoted"]


def test_the_canary_takes_no_traffic_until_it_is_ready_and_its_rollout_complete() -> None:
    cluster = stable_cluster()
    cluster.canary_ready = False
    cluster.deploy(V2)
    cluster.run(60)
    assert cluster.phase == "Progressing" and cluster.route_weight == 0
    assert "rolloutStartedAt" not in cluster.status
    cluster.canary_ready = True
    cluster.rollout_complete = False
    cluster.run(30)
    assert cluster.route_weight == 0
    cluster.rollout_complete = True
    cluster.reconcile()
    assert cluster.route_weight == 10
    assert cluster.status["rolloutStartedAt"] == cluster.status["stepStartedAt"]


def test_a_canary_not_ready_by_the_progress_deadline_is_rolled_back() -> None:
    cluster = stable_cluster()
    cluster.canary_ready = False
    cluster.deploy(V2)
    cluster.run(9 * 60 + 50)
    assert cluster.phase == "Progressing"
    cluster.run_until("RolledBack")
    (entry,) = history(cluster)
    assert entry["outcome"] == "rolled-back"
    assert entry["reason"] == "canary not ready within the progress deadline (10m)"
    assert cluster.weights == [0]
    assert any("progress deadline" in message for message in warnings(cluster))


def test_promotion_keeps_the_split_until_the_primary_is_ready_with_the_canary() -> None:
    cluster = stable_cluster(steps="50")
    cluster.primary_ready_after = timedelta(seconds=45)
    cluster.deploy(V2)
    cluster.run_until("Promoting")
    cluster.run(40)
    assert cluster.phase == "Promoting" and cluster.route_weight == 50
    assert cluster.primary_revision == revision(V2)
    cluster.run_until("Stable")
    assert cluster.weights == [0, 50, 0]


def test_kserve_promotion_waits_for_the_router_then_guards_at_zero_again() -> None:
    cluster = FakeCluster()
    cluster.annotations["kcanary.io/traffic"] = "kserve"
    cluster.run_until("Stable")
    cluster.deploy(V2)
    cluster.run_until("Stable")
    assert cluster.weights == [0, 10, 25, 50, 100, 0]
    assert cluster.primary_revision is None
    assert history(cluster)[0]["outcome"] == "promoted"


# -- Pauses -------------------------------------------------------------------------------------


def test_an_indefinite_pause_step_holds_the_weight_until_resumed() -> None:
    cluster = stable_cluster(steps="10,pause,50")
    cluster.deploy(V2)
    cluster.run_until("Paused")
    cluster.run(60 * 60)
    assert cluster.phase == "Paused" and cluster.route_weight == 10
    paused = next(c for c in cluster.status["conditions"] if c["type"] == "Progressing")
    assert (paused["status"], paused["reason"]) == ("Unknown", "PauseStep")
    cluster.ask("resume")
    cluster.reconcile()
    assert cluster.phase == "Progressing" and cluster.route_weight == 50
    assert cluster.status["currentStep"] == 2


def test_a_timed_pause_step_ends_by_itself() -> None:
    cluster = stable_cluster(steps="10,pause:5m,50")
    cluster.deploy(V2)
    cluster.run_until("Paused")
    paused_at = cluster.now
    cluster.run_until("Progressing")
    assert cluster.now - paused_at >= timedelta(minutes=5)
    assert cluster.route_weight == 50
    assert any(event.reason == "Resumed" for event in cluster.events)


def test_harm_during_a_pause_still_rolls_back() -> None:
    cluster = stable_cluster(steps="10,pause,50")
    cluster.deploy(V2)
    cluster.run_until("Paused")
    cluster.verdict = lambda c: Verdict.FAIL
    cluster.run_until("RolledBack")
    assert cluster.route_weight == 0


# -- New revisions ------------------------------------------------------------------------------


def test_a_new_revision_mid_rollout_restarts_against_the_same_stable() -> None:
    cluster = full_steps_cluster()
    cluster.deploy(V2)
    cluster.run(90)
    assert cluster.route_weight == 25
    cluster.canary_ready = False
    cluster.deploy(V3)
    cluster.reconcile()
    assert cluster.route_weight == 0
    assert cluster.status["stable"]["revision"] == revision(V1).hash
    assert cluster.status["canary"]["revision"] == revision(V3).hash
    assert cluster.status["currentStep"] == 0 and "lastAnalysis" not in cluster.status
    cluster.canary_ready = True
    cluster.run_until("Stable")
    first, second = history(cluster)
    assert (first["storageUri"], first["outcome"]) == (V2, "superseded")
    assert first["reason"] == f"revision {revision(V3).hash} replaced it"
    assert (second["storageUri"], second["outcome"]) == (V3, "promoted")
    assert cluster.weights == [0, 10, 25, 0, 10, 25, 50, 0]


def test_going_back_to_stable_mid_rollout_ends_it_without_a_decision() -> None:
    cluster = stable_cluster()
    cluster.deploy(V2)
    cluster.run(30)
    cluster.deploy(V1)
    cluster.reconcile()
    assert cluster.phase == "Stable" and cluster.route_weight == 0
    assert history(cluster)[0]["outcome"] == "superseded"
    assert cluster.decisions == []


def test_reverting_after_a_rollback_settles_to_stable_without_a_rollout() -> None:
    cluster = stable_cluster()
    cluster.verdict = lambda c: Verdict.FAIL
    cluster.deploy(V2)
    cluster.run_until("RolledBack")
    cluster.run(10 * 60)
    assert cluster.phase == "RolledBack", "a rejected canary is not retried by itself"
    cluster.deploy(V1)
    cluster.reconcile()
    assert cluster.phase == "Stable"
    assert len(history(cluster)) == 1 and "canary" not in cluster.status


def test_a_newer_revision_after_a_rollback_rolls_out() -> None:
    cluster = stable_cluster()
    cluster.verdict = lambda c: Verdict.FAIL if c.storage_uri == V2 else Verdict.PASS
    cluster.deploy(V2)
    cluster.run_until("RolledBack")
    cluster.deploy(V3)
    cluster.run_until("Stable")
    assert [entry["outcome"] for entry in history(cluster)] == ["rolled-back", "promoted"]


def test_a_new_revision_after_the_primary_took_the_canary_waits_for_the_promotion() -> None:
    cluster = stable_cluster(steps="50")
    cluster.primary_ready_after = timedelta(seconds=45)
    cluster.deploy(V2)
    cluster.run_until("Promoting")
    cluster.reconcile()
    assert cluster.primary_revision == revision(V2)
    cluster.deploy(V3)
    cluster.run_until("Progressing")
    assert cluster.status["stable"]["revision"] == revision(V2).hash
    assert cluster.status["canary"]["revision"] == revision(V3).hash
    first, second = history(cluster)
    assert (first["storageUri"], first["outcome"]) == (V2, "promoted")
    assert (second["storageUri"], "outcome" in second) == (V3, False)


def test_a_new_revision_before_the_copy_supersedes_the_promotion() -> None:
    cluster = stable_cluster(steps="50")
    cluster.deploy(V2)
    cluster.run_until("Promoting", every=5)
    cluster.primary_revision = revision(V1)  # the copy has not been made yet
    state = from_status(cluster.status)
    cluster.deploy(V3)
    result = step(state, cluster.observe(), cluster.now)
    assert result.state.phase.value == "Progressing"
    assert result.state.canary == revision(V3)
    assert result.state.history[0].outcome is not None
    assert result.state.history[0].outcome.value == "superseded"


# -- Strategy removed or unusable ---------------------------------------------------------------


def test_removing_the_strategy_while_stable_hands_traffic_back() -> None:
    cluster = stable_cluster()
    del cluster.annotations["kcanary.io/strategy"]
    transition = cluster.reconcile()
    assert transition.before_commit == (HandBack(),)
    assert cluster.handed_back


def test_removing_the_strategy_mid_rollout_rolls_back_first() -> None:
    cluster = full_steps_cluster()
    cluster.deploy(V2)
    cluster.run(90)
    del cluster.annotations["kcanary.io/strategy"]
    first = cluster.reconcile()
    assert SetWeight(0) in first.before_commit and HandBack() not in first.actions
    assert cluster.phase == "RollingBack"
    cluster.reconcile()
    assert cluster.phase == "RolledBack" and not cluster.handed_back
    assert history(cluster)[0]["reason"] == "the kcanary.io/strategy annotation was removed"
    cluster.reconcile()
    assert cluster.handed_back


def test_an_invalid_strategy_is_invalid_spec_and_moves_no_traffic() -> None:
    cluster = full_steps_cluster()
    cluster.deploy(V2)
    cluster.run(30)
    weight = cluster.route_weight
    cluster.annotations["kcanary.io/steps"] = "10,abc"
    cluster.route_weight = 99  # even a drifted route is left alone
    for _ in range(5):
        transition = cluster.reconcile()
        assert transition.before_commit == ()
        cluster.advance(60)
    ready = cluster.status["conditions"][0]
    assert (ready["type"], ready["status"], ready["reason"]) == ("Ready", "False", "InvalidSpec")
    expected = (
        'kcanary.io/steps: "10,abc": step 2 "abc" is not a percentage 1-100 or '
        '"pause"/"pause:DURATION"'
    )
    assert ready["message"] == expected
    assert warnings(cluster) == [expected], "one Warning Event per distinct problem"
    assert cluster.phase == "Progressing"
    cluster.annotations["kcanary.io/steps"] = "10,25,50"
    cluster.reconcile()
    assert cluster.route_weight == cluster.status["canaryWeight"] != 99
    assert weight == 10 and cluster.route_weight == 25, "the step ended while held: next step"
    assert cluster.status["conditions"][0]["status"] == "True"


def test_an_invalid_strategy_from_the_start_never_initializes() -> None:
    cluster = FakeCluster()
    cluster.annotations["kcanary.io/interval"] = "fast"
    transition = cluster.reconcile()
    assert transition.before_commit == ()
    assert cluster.phase == "Initializing"
    assert [type(a) for a in transition.actions] == [EmitEvent]


# -- Level-based traffic ------------------------------------------------------------------------


def test_a_route_edited_by_someone_else_is_put_back() -> None:
    cluster = stable_cluster()
    cluster.route_weight = 30
    assert cluster.reconcile().before_commit == (SetWeight(0),)


def test_an_idle_rollout_asks_for_nothing_and_its_status_does_not_change() -> None:
    cluster = stable_cluster()
    cluster.advance(60)
    before = dict(cluster.status)
    transition = cluster.reconcile()
    assert transition.actions == ()
    assert cluster.status == before


def test_a_missing_primary_is_recreated_while_stable() -> None:
    cluster = stable_cluster()
    cluster.primary_revision = None
    assert cluster.reconcile().before_commit == (EnsurePrimary(revision(V1)),)


def test_the_status_reports_the_isvc_generation() -> None:
    cluster = stable_cluster()
    assert cluster.status["observedGeneration"] == 1
    assert all(c["observedGeneration"] == 1 for c in cluster.status["conditions"])
    assert to_status(from_status(cluster.status)) == cluster.status


def test_a_reconcile_between_ticks_mid_rollout_changes_nothing() -> None:
    cluster = stable_cluster()
    cluster.deploy(V2)
    cluster.reconcile()
    cluster.advance(3)
    before = dict(cluster.status)
    transition = cluster.reconcile(analysis=False)
    assert transition.actions == ()
    assert cluster.status == before


def test_a_primary_not_ready_after_the_deadline_during_promotion_is_reported_once() -> None:
    cluster = stable_cluster(steps="50")
    cluster.primary_ready_after = timedelta(minutes=30)
    cluster.deploy(V2)
    cluster.run_until("Promoting")
    cluster.run(20 * 60)
    assert cluster.phase == "Promoting" and cluster.route_weight == 50
    stalled = [e for e in cluster.events if e.reason == "PromotionStalled"]
    assert len(stalled) == 1 and stalled[0].type is EventType.WARNING
    assert "not ready after the progress deadline (10m)" in cluster.status["message"]
    cluster.run_until("Stable")

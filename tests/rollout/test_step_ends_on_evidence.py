"""A weight step ends before its duration once the analysis shows non-inferiority
(`advanceOnPass`), tick by tick with a fake clock: not before one interval into the step, never
for a pause step, not while the split does not match the weights; and the Events and the status
say what ended each step."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import timedelta

from fake_rollout_cluster import FakeCluster, history, revision, stable_cluster

from rollout.actions import EventType
from rollout.evidence import Verdict
from rollout.status import parse_time

V2 = "s3://models/iris/v2"


def step_lengths(cluster: FakeCluster) -> list[timedelta]:
    """How long each weight step of a promoted rollout lasted: until the next weight, and the
    last one until the promotion began (the route moves back to stable a little later)."""
    times = cluster.weight_times[1:-1]
    promoted = parse_time(cluster.status["lastStepEnd"]["at"])
    return [later - earlier for earlier, later in itertools.pairwise([*times, promoted])]


def passes_after(seconds: float) -> Callable[[FakeCluster], Verdict]:
    """Pass once the canary has been at its current weight this long; Inconclusive before."""

    def verdict(cluster: FakeCluster) -> Verdict:
        at_weight = cluster.now - cluster.weight_times[-1]
        return Verdict.PASS if at_weight >= timedelta(seconds=seconds) else Verdict.INCONCLUSIVE

    return verdict


def test_a_pass_ends_each_weight_step_early_and_the_events_say_so() -> None:
    cluster = stable_cluster(**{"step-duration": "2m"})
    cluster.verdict = passes_after(90)
    cluster.deploy(V2)
    cluster.run_until("Stable", every=10)
    assert cluster.weights == [0, 10, 25, 50, 0]
    assert step_lengths(cluster) == [timedelta(seconds=90)] * 3
    canary = revision(V2).hash
    started = [e for e in cluster.events if e.reason == "StepStarted"]
    assert [(e.type, e.message) for e in started] == [
        (EventType.NORMAL, f"step 1/3: 10% of traffic to canary {canary}"),
        (
            EventType.NORMAL,
            f"step 2/3: 25% of traffic to canary {canary} "
            "(step 1 ended early: non-inferiority shown after 1m30s)",
        ),
        (
            EventType.NORMAL,
            f"step 3/3: 50% of traffic to canary {canary} "
            "(step 2 ended early: non-inferiority shown after 1m30s)",
        ),
    ]
    reason = "all 3 steps passed (step 3 ended early: non-inferiority shown after 1m30s)"
    (promoting,) = [e for e in cluster.events if e.reason == "Promoting"]
    assert promoting.message == f"promoting {canary}: {reason}"
    assert history(cluster)[0]["reason"] == reason
    assert cluster.status["lastStepEnd"]["step"] == 2
    assert cluster.status["lastStepEnd"]["reason"] == "evidence"


def test_the_status_names_what_ended_the_last_step_while_the_next_one_runs() -> None:
    # The first step ends on its first look, 10s in, which the default 30s warm-up would leave
    # out: no step ends on a warm-up look (test_warm_up_holds_the_first_step.py).
    cluster = stable_cluster(warmup="0s")
    cluster.deploy(V2)
    cluster.reconcile()
    assert "lastStepEnd" not in cluster.status, "no step has ended yet"
    cluster.advance(10)
    cluster.reconcile()
    assert cluster.route_weight == 25
    assert cluster.status["lastStepEnd"] == {
        "step": 0,
        "reason": "evidence",
        "at": cluster.status["stepStartedAt"],
    }
    assert cluster.status["message"].endswith(
        "(step 1 ended early: non-inferiority shown after 10s)"
    )


def test_a_pass_counts_only_one_interval_into_the_step() -> None:
    # Without a warm-up: the default 30s, as long as the interval here, would hold the first
    # step past its first interval, to the first look after the warm-up.
    cluster = stable_cluster(interval="30s", warmup="0s")
    cluster.deploy(V2)
    cluster.run_until("Stable", every=5)
    # Every look passes, but each step waits for an analysis with its own weight in the data.
    assert step_lengths(cluster) == [timedelta(seconds=30)] * 3


def test_without_advance_on_pass_a_passing_step_lasts_its_duration() -> None:
    cluster = stable_cluster(**{"advance-on-pass": "false"})
    cluster.deploy(V2)
    cluster.run_until("Stable", every=5)
    assert step_lengths(cluster) == [timedelta(minutes=1)] * 3
    assert cluster.status["lastStepEnd"]["reason"] == "duration"
    assert history(cluster)[0]["reason"] == "all 3 steps passed"
    started = [e.message for e in cluster.events if e.reason == "StepStarted"]
    assert started[1].endswith("(step 1 ended after 1m: its time was up, analysis Pass)")


def test_a_timed_pause_step_is_never_cut_short_by_a_pass() -> None:
    # Without a warm-up, so the 10% step ends on its first look, 10s in: what is measured is
    # the pause after it.
    cluster = stable_cluster(steps="10,pause:1m,50", warmup="0s")
    cluster.deploy(V2)
    cluster.run_until("Stable", every=5)
    assert cluster.weights == [0, 10, 50, 0]
    # 10 s at 10% (ended on evidence), then the whole minute of the pause.
    assert step_lengths(cluster)[0] == timedelta(seconds=70)
    paused = next(e.message for e in cluster.events if e.reason == "Paused")
    assert paused.endswith(
        "paused at 10% for 1m (step 1 ended early: non-inferiority shown after 10s)"
    )
    resumed = [e.message for e in cluster.events if e.reason == "StepStarted"][-1]
    assert resumed.endswith("(step 2 ended after 1m: its time was up)")


def test_an_indefinite_pause_step_waits_for_a_person_however_well_the_canary_does() -> None:
    cluster = stable_cluster(steps="10,pause,50")
    cluster.deploy(V2)
    cluster.run(30 * 60)
    assert cluster.phase == "Paused" and cluster.route_weight == 10


def test_a_sample_ratio_mismatch_stops_an_early_end() -> None:
    cluster = stable_cluster()
    cluster.split_matches = lambda c: c.route_weight != 25
    cluster.deploy(V2)
    cluster.run(10 * 60, every=5)
    assert cluster.phase == "Progressing" and cluster.route_weight == 25
    assert "sample-ratio mismatch" in cluster.status["message"]
    cluster.split_matches = lambda c: True
    cluster.run_until("Stable", every=5)
    assert cluster.weights == [0, 10, 25, 50, 0]


def test_a_manual_promote_is_recorded_as_the_end_of_the_step() -> None:
    cluster = stable_cluster(**{"advance-on-pass": "false"})
    cluster.deploy(V2)
    cluster.reconcile()
    cluster.advance(10)
    cluster.ask("promote")
    cluster.reconcile()
    assert cluster.route_weight == 25
    assert cluster.status["lastStepEnd"]["reason"] == "manual"
    assert cluster.status["message"] == f"step 2/3: 25% of traffic to canary {revision(V2).hash}"

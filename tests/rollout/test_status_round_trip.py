"""The status is the whole state: what a controller writes, a restarted one reads back."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from fake_rollout_cluster import FakeCluster

from rollout.evidence import AnalysisSummary, Verdict
from rollout.revision import Revision
from rollout.state import (
    ActionRecord,
    Condition,
    HistoryEntry,
    Outcome,
    Pause,
    Phase,
    RolloutState,
    StepEnd,
    StepEndReason,
)
from rollout.status import from_status, to_status
from rollout.stepping import start_rollout

T0 = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)


def every_state_of(cluster: FakeCluster, steps: int) -> list[RolloutState]:
    states = []
    for _ in range(steps):
        states.append(cluster.reconcile().state)
        cluster.advance(7)
    return states


def test_every_state_of_a_rollout_reads_back_unchanged() -> None:
    cluster = FakeCluster()
    cluster.annotations["kcanary.io/steps"] = "10,pause:30s,25,pause,50"
    states = every_state_of(cluster, 3)
    cluster.deploy("s3://models/iris/v2")
    cluster.verdict = lambda c: Verdict.NO_DATA if c.route_weight == 25 else Verdict.PASS
    states += every_state_of(cluster, 40)
    cluster.verdict = lambda c: Verdict.PASS
    states += every_state_of(cluster, 20)
    assert cluster.phase == "Paused"
    cluster.ask("resume")
    states += every_state_of(cluster, 20)
    cluster.deploy("s3://models/iris/v3")
    cluster.verdict = lambda c: Verdict.FAIL
    cluster.ask("pause")
    states += every_state_of(cluster, 10)
    cluster.ask("resume")
    states += every_state_of(cluster, 10)
    phases = {state.phase for state in states}
    assert phases >= {
        Phase.INITIALIZING,
        Phase.STABLE,
        Phase.PROGRESSING,
        Phase.PAUSED,
        Phase.PROMOTING,
        Phase.ROLLED_BACK,
    }
    assert any(state.no_data_since is not None for state in states)
    assert any(state.pause is not None and state.pause.by_user for state in states)
    for state in states:
        assert from_status(to_status(state)) == state, state.phase


def test_a_fully_populated_state_reads_back_unchanged() -> None:
    stable = Revision("aaaaaaaaaa", "s3://m/v1", "sklearn", "iris-predictor-00001")
    canary = Revision("bbbbbbbbbb", "s3://m/v2", "sklearn:1", "iris-predictor-00002")
    check = {
        "name": "error-rate",
        "metric": "errorRate",
        "verdict": "NoData",
        "stable": {"requests": 100, "errors": 1},
        "canary": None,
        "effect": 0.01,
        "interval": [0.0, 0.02],
        "evalue": 1.5,
        "threshold": 20.0,
        "samples": 100,
    }
    state = RolloutState(
        phase=Phase.PAUSED,
        message="paused by alice",
        observed_generation=4,
        current_step=2,
        canary_weight=25,
        stable=stable,
        canary=canary,
        rollout_started_at=T0,
        step_started_at=T0 + timedelta(minutes=3),
        pause=Pause(by_user=True, since=T0 + timedelta(minutes=4)),
        extension_started_at=T0 + timedelta(minutes=5),
        last_step_end=StepEnd(1, StepEndReason.EVIDENCE, T0 + timedelta(minutes=3)),
        last_analysis=AnalysisSummary(T0 + timedelta(minutes=5), Verdict.NO_DATA, (check,)),
        no_data_since=T0 + timedelta(minutes=2),
        conditions=(
            Condition("Ready", "True", "Paused", "paused by alice", T0, 4),
            Condition("Progressing", "Unknown", "PausedByUser", "m", T0 + timedelta(minutes=4), 4),
            Condition("Analysis", "Unknown", "NoData", "NoData", T0 + timedelta(minutes=2), 4),
        ),
        history=(
            HistoryEntry(
                Revision("cccccccccc", "s3://m/v0", "sklearn"),
                T0 - timedelta(days=1),
                T0 - timedelta(hours=23),
                Outcome.ROLLED_BACK,
                "analysis failed: Fail (error-rate)",
                (ActionRecord("pause", None, T0 - timedelta(hours=23, minutes=30), "paused"),),
            ),
            HistoryEntry(
                canary.with_revision_name(None),
                T0,
                actions=(ActionRecord("pause", "alice", T0 + timedelta(minutes=4), "paused"),),
            ),
        ),
    )
    status = to_status(state)
    assert from_status(status) == state
    assert status["stable"] == {
        "revision": "aaaaaaaaaa",
        "storageUri": "s3://m/v1",
        "modelFormat": "sklearn",
        "revisionName": "iris-predictor-00001",
    }
    assert status["rolloutStartedAt"] == "2026-05-01T12:00:00Z"
    assert status["lastAnalysis"]["checks"] == [check]
    assert status["extensionStartedAt"] == "2026-05-01T12:05:00Z"
    assert status["lastStepEnd"] == {"step": 1, "reason": "evidence", "at": "2026-05-01T12:03:00Z"}
    assert set(status) == {
        "phase",
        "message",
        "observedGeneration",
        "currentStep",
        "canaryWeight",
        "stable",
        "canary",
        "rolloutStartedAt",
        "stepStartedAt",
        "extensionStartedAt",
        "lastStepEnd",
        "lastAnalysis",
        "conditions",
        "history",
    }
    assert set(status["history"][0]) == {
        "revision",
        "storageUri",
        "modelFormat",
        "startedAt",
        "finishedAt",
        "outcome",
        "reason",
        "actions",
    }
    assert set(status["history"][0]["actions"][0]) == {"action", "at", "message"}


def test_an_empty_status_is_a_new_rollout() -> None:
    assert from_status({}) == RolloutState()
    assert from_status(None).phase is Phase.INITIALIZING


def test_an_unreadable_status_says_so() -> None:
    try:
        from_status({"phase": "Exploding"})
    except ValueError as error:
        assert "cannot read the InferenceRollout status" in str(error)
    else:
        raise AssertionError("no error")


def test_times_are_rfc3339_utc_to_the_second() -> None:
    cluster = FakeCluster()
    cluster.now = datetime(2026, 5, 1, 14, 0, 0, 987654, tzinfo=UTC)
    cluster.reconcile()
    times = [c["lastTransitionTime"] for c in cluster.status["conditions"]]
    assert times == ["2026-05-01T14:00:00Z"] * 3


def test_analysis_times_with_fractions_of_a_second_read_back_unchanged() -> None:
    cluster = FakeCluster()
    cluster.run_until("Stable")
    cluster.deploy("s3://models/iris/v2")
    cluster.reconcile()
    cluster.advance(10.25)
    state = cluster.reconcile().state
    assert state.last_analysis is not None
    assert state.last_analysis.time.microsecond == 0
    assert from_status(to_status(state)) == state


def test_a_serverless_canary_keeps_its_knative_name_in_canary_but_not_in_history() -> None:
    named = Revision("bbbbbbbbbb", "s3://m/v2", "sklearn", "iris-predictor-00002")
    cluster = FakeCluster()
    cluster.run_until("Stable")
    state = from_status(cluster.status)
    started = start_rollout(state, named, T0).state
    status = to_status(started)
    assert status["canary"]["revisionName"] == "iris-predictor-00002"
    assert "revisionName" not in status["history"][-1]
    assert from_status(status) == started


def test_each_weight_change_of_a_rollout_starts_a_period_the_status_keeps() -> None:
    cluster = FakeCluster()
    cluster.annotations["kcanary.io/steps"] = "10,pause:30s,25,50"
    cluster.run(30)
    cluster.deploy("s3://models/iris/v2")
    cluster.verdict = lambda c: Verdict.INCONCLUSIVE
    seen: list[list[tuple[int, str]]] = []
    for _ in range(200):
        cluster.reconcile()
        periods = [(p["weight"], p["since"]) for p in cluster.status.get("weightPeriods") or []]
        if periods and (not seen or seen[-1] != periods):
            seen.append(periods)
        if cluster.phase == "Stable":
            break
        cluster.advance(5)
    assert cluster.phase == "Stable"
    final = seen[-1]
    # The pause keeps 10% (no new period); each later step's period starts when it was entered.
    assert [weight for weight, _ in final] == [10, 25, 50]
    assert [since for _, since in final] == sorted({since for _, since in final})
    assert all(earlier == later[: len(earlier)] for earlier, later in itertools.pairwise(seen))
    cluster.deploy("s3://models/iris/v3")
    cluster.reconcile()
    periods = cluster.status.get("weightPeriods") or []
    assert [p["weight"] for p in periods] == [10], "the next rollout starts its own periods"
    assert periods[0]["since"] > final[-1][1]

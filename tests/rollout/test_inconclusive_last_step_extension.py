"""An undecided last step is extended (`extendInconclusive`) before `onInconclusive` applies,
tick by tick with a fake clock: a Pass in the extension promotes, harm rolls back, the end of
the extension applies each policy, 0s turns it off, and a restarted controller continues the
same extension from the status."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from fake_rollout_cluster import FakeCluster, history, revision, stable_cluster

from rollout.actions import EventType
from rollout.annotations import parse_strategy
from rollout.evidence import AnalysisSummary, Verdict
from rollout.extension import leans_towards_harm
from rollout.schedule import next_wakeup
from rollout.status import format_time, from_status, parse_time, to_status
from rollout.strategy import Strategy

V2 = "s3://models/iris/v2"
EXTENSION = timedelta(minutes=3)


def extended(**annotations: str) -> tuple[FakeCluster, datetime]:
    """A rollout whose analysis never decides, run until its last step (50%, 1m) is extended;
    also when the extension started."""
    cluster = stable_cluster(**annotations)
    cluster.verdict = lambda c: Verdict.INCONCLUSIVE
    cluster.deploy(V2)
    deadline = cluster.now + timedelta(hours=1)
    while "extensionStartedAt" not in cluster.status:
        assert cluster.now < deadline, cluster.status.get("message")
        cluster.advance(10)
        cluster.reconcile()
    return cluster, parse_time(cluster.status["extensionStartedAt"])


def strategy_of(cluster: FakeCluster) -> Strategy:
    strategy = parse_strategy(cluster.annotations)
    assert isinstance(strategy, Strategy)
    return strategy


def step_extended_events(cluster: FakeCluster) -> list[str]:
    return [e.message for e in cluster.events if e.reason == "StepExtended"]


def test_an_inconclusive_last_step_is_extended_and_says_so_once() -> None:
    cluster, started = extended()
    assert cluster.phase == "Progressing" and cluster.route_weight == 50
    message = (
        "step 3/3: extending at 50%: inconclusive after 1m with the evidence leaning towards "
        "harm, up to 3m more for a decision (then onInconclusive: promote)"
    )
    assert cluster.status["message"] == message
    assert started - parse_time(cluster.status["stepStartedAt"]) == timedelta(minutes=1)
    cluster.run(2 * 60)
    assert cluster.phase == "Progressing" and cluster.status["message"] == message
    (event,) = [e for e in cluster.events if e.reason == "StepExtended"]
    assert (event.type, event.message) == (EventType.NORMAL, message)
    assert cluster.decisions == []


def test_an_undecided_last_step_whose_evidence_leans_away_from_harm_is_not_extended() -> None:
    cluster = stable_cluster()
    cluster.verdict = lambda c: Verdict.INCONCLUSIVE
    cluster.harm_evalue = lambda c: 0.4
    cluster.deploy(V2)
    cluster.run(10 * 60)
    assert "extensionStartedAt" not in cluster.status
    assert step_extended_events(cluster) == []
    assert cluster.status["lastStepEnd"]["reason"] == "duration"
    assert cluster.phase == "Stable"


def test_the_extension_starts_only_once_the_evidence_leans_towards_harm() -> None:
    # Leaning away when the step's time is up: onInconclusive applies then, not later.
    cluster = stable_cluster(analysis="onInconclusive: hold")
    cluster.verdict = lambda c: Verdict.INCONCLUSIVE
    cluster.harm_evalue = lambda c: 0.99
    cluster.deploy(V2)
    cluster.run(10 * 60)
    assert "extensionStartedAt" not in cluster.status
    assert "(onInconclusive: hold)" in cluster.status["message"]


@pytest.mark.parametrize(
    ("name", "leans"),
    [
        ("latency-slo", True),
        ("latency-slo-p99", True),
        ("latency-slo-p99.9", True),
        ("error-rate-harm", True),
        ("latency-noninferiority", False),
        ("sample-ratio", False),
    ],
)
def test_every_rollback_check_counts_towards_harm_whatever_its_quantile(
    name: str, leans: bool
) -> None:
    checks = ({"name": name, "verdict": "Inconclusive", "evalue": 2.0},)
    last = AnalysisSummary(datetime(2026, 5, 1), Verdict.INCONCLUSIVE, checks)
    assert leans_towards_harm(last) is leans


def test_the_extension_ends_once_the_evidence_no_longer_leans_towards_harm() -> None:
    cluster, started = extended()
    cluster.run(60)
    assert cluster.phase == "Progressing"
    cluster.harm_evalue = lambda c: 0.5
    cluster.run(20)
    assert cluster.phase in ("Promoting", "Stable")
    assert cluster.now < started + EXTENSION
    assert cluster.status["lastStepEnd"]["reason"] == "extension-cleared"
    (promoting,) = [e.message for e in cluster.events if e.reason == "Promoting"]
    assert "the evidence no longer leaning towards harm" in promoting


def test_a_pass_during_the_extension_promotes_at_once() -> None:
    cluster, started = extended()
    cluster.run(60)
    cluster.verdict = lambda c: Verdict.PASS
    cluster.reconcile()
    assert cluster.phase == "Promoting" and cluster.now < started + EXTENSION
    assert cluster.status["lastStepEnd"]["reason"] == "evidence"
    assert "extensionStartedAt" not in cluster.status
    cluster.run_until("Stable")
    assert history(cluster)[0]["reason"] == (
        "all 3 steps passed (step 3 ended: non-inferiority shown after 2m)"
    )


def test_harm_during_the_extension_rolls_back() -> None:
    cluster, _ = extended()
    cluster.run(30)
    cluster.verdict = lambda c: Verdict.FAIL
    cluster.run_until("RolledBack")
    assert cluster.weights == [0, 10, 25, 50, 0]
    assert history(cluster)[0]["reason"] == "analysis failed: Fail"


def test_when_the_extension_runs_out_on_inconclusive_promote_applies() -> None:
    cluster, started = extended()
    cluster.now = started + EXTENSION - timedelta(seconds=1)
    cluster.reconcile()
    assert cluster.phase == "Progressing", "not a second early"
    cluster.advance(1)
    cluster.reconcile()
    assert cluster.phase == "Promoting"
    assert cluster.status["lastStepEnd"] == {
        "step": 2,
        "reason": "extension-limit",
        "at": format_time(started + EXTENSION),
    }
    reason = (
        "step 3 ended after 4m: still Inconclusive at the end of its 3m extension "
        "(onInconclusive: promote)"
    )
    (promoting,) = [e for e in cluster.events if e.reason == "Promoting"]
    assert promoting.message == f"promoting {revision(V2).hash}: {reason}"
    cluster.run_until("Stable")
    assert history(cluster)[0]["reason"] == reason
    assert len(step_extended_events(cluster)) == 1


def test_when_the_extension_runs_out_on_inconclusive_rollback_applies() -> None:
    cluster, started = extended(analysis="onInconclusive: rollback")
    assert cluster.status["message"].endswith("(then onInconclusive: rollback)")
    cluster.run_until("RolledBack")
    (entry,) = history(cluster)
    assert entry["outcome"] == "rolled-back"
    assert entry["reason"] == (
        "the last step was still inconclusive at the end of its 3m extension "
        "(onInconclusive: rollback)"
    )
    rolled = next(e for e in cluster.events if e.reason == "AnalysisInconclusive")
    assert rolled.type is EventType.WARNING
    assert cluster.weights == [0, 10, 25, 50, 0]
    assert (
        started + EXTENSION
        <= parse_time(entry["finishedAt"])
        < started + EXTENSION + timedelta(seconds=30)
    )


def test_when_the_extension_runs_out_on_inconclusive_hold_waits_for_a_person() -> None:
    cluster, started = extended(analysis="onInconclusive: hold")
    cluster.run(30 * 60)
    assert cluster.phase == "Progressing" and cluster.route_weight == 50
    assert cluster.status["message"] == (
        "step 3/3: the last step was still inconclusive at the end of its 3m extension "
        "(onInconclusive: hold); promote or abort by hand"
    )
    assert len(step_extended_events(cluster)) == 1
    assert parse_time(cluster.status["extensionStartedAt"]) == started
    cluster.verdict = lambda c: Verdict.PASS  # evidence still promotes
    cluster.run_until("Stable")
    assert history(cluster)[0]["outcome"] == "promoted"


def test_zero_seconds_turns_the_extension_off() -> None:
    cluster = stable_cluster(**{"extend-inconclusive": "0s"})
    cluster.verdict = lambda c: Verdict.INCONCLUSIVE
    cluster.deploy(V2)
    cluster.run_until("Promoting")
    assert step_extended_events(cluster) == []
    assert "extensionStartedAt" not in cluster.status
    assert cluster.status["lastStepEnd"]["reason"] == "duration"
    assert history(cluster)[0]["reason"] == (
        "step 3 ended after 1m: its time was up, analysis Inconclusive (onInconclusive: promote)"
    )


def test_a_middle_step_is_never_extended() -> None:
    cluster = stable_cluster()
    cluster.verdict = lambda c: Verdict.INCONCLUSIVE if c.route_weight == 10 else Verdict.PASS
    cluster.deploy(V2)
    cluster.run_until("Stable")
    assert step_extended_events(cluster) == []
    started = [e.message for e in cluster.events if e.reason == "StepStarted"]
    assert started[1].endswith("(step 1 ended after 1m: its time was up, analysis Inconclusive)")


def test_a_restarted_controller_continues_the_same_extension() -> None:
    cluster, started = extended()
    cluster.run(90)
    state = from_status(cluster.status)
    assert from_status(to_status(state)) == state
    # A new controller has nothing but what the API server returns.
    cluster.status = json.loads(json.dumps(cluster.status))
    cluster.run(60)
    assert parse_time(cluster.status["extensionStartedAt"]) == started
    assert len(step_extended_events(cluster)) == 1
    cluster.run_until("Promoting", every=1)
    assert cluster.now == started + EXTENSION


@pytest.mark.parametrize("interval", ["10s", "1h"])
def test_the_end_of_the_extension_is_a_wakeup(interval: str) -> None:
    cluster, started = extended()
    cluster.annotations["kcanary.io/interval"] = interval
    state = from_status(cluster.status)
    wake = next_wakeup(state, strategy_of(cluster), started + timedelta(minutes=2, seconds=55))
    assert wake == started + EXTENSION


def test_a_split_mismatch_holds_past_the_end_of_the_extension() -> None:
    cluster, started = extended()
    cluster.split_matches = lambda c: False
    cluster.run(10 * 60)
    assert cluster.now > started + EXTENSION
    assert cluster.phase == "Progressing" and "sample-ratio mismatch" in cluster.status["message"]
    cluster.split_matches = lambda c: True
    cluster.reconcile()
    assert cluster.phase == "Promoting"
    assert cluster.status["lastStepEnd"]["reason"] == "extension-limit"


def test_missing_data_during_the_extension_holds_then_the_extension_resumes() -> None:
    cluster, started = extended()
    cluster.verdict = lambda c: Verdict.NO_DATA
    cluster.run(60)
    assert "holding, no analysis data" in cluster.status["message"]
    cluster.verdict = lambda c: Verdict.INCONCLUSIVE
    cluster.reconcile()
    assert cluster.status["message"].startswith("step 3/3: extending at 50%: inconclusive after 1m")
    assert parse_time(cluster.status["extensionStartedAt"]) == started


def test_a_step_added_after_an_extended_one_ends_the_extension_without_evidence() -> None:
    cluster, _ = extended()
    cluster.annotations["kcanary.io/steps"] = "10,25,50,75"
    cluster.reconcile()
    assert cluster.route_weight == 75 and "extensionStartedAt" not in cluster.status
    assert cluster.status["lastStepEnd"]["reason"] == "duration"
    assert cluster.status["message"].endswith(
        "(step 3 ended after 1m: its time was up, analysis Inconclusive)"
    )

"""How the analysis's verdicts move a rollout, tick by tick with a fake clock: Inconclusive
steps and `onInconclusive`, the sample-ratio hold, harm, and no data under each policy."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from fake_rollout_cluster import history, revision, stable_cluster

from rollout.actions import EventType
from rollout.evidence import Verdict
from rollout.machine import step
from rollout.status import from_status

V1, V2, V3 = "s3://models/iris/v1", "s3://models/iris/v2", "s3://models/iris/v3"


def test_an_inconclusive_step_in_the_middle_still_advances() -> None:
    cluster = stable_cluster()
    cluster.verdict = lambda c: Verdict.INCONCLUSIVE if c.route_weight == 10 else Verdict.PASS
    cluster.deploy(V2)
    cluster.run_until("Stable")
    assert cluster.weights == [0, 10, 25, 50, 0]


@pytest.mark.parametrize(
    ("policy", "phase", "outcome"),
    [("promote", "Stable", "promoted"), ("rollback", "RolledBack", "rolled-back")],
)
def test_an_inconclusive_last_step_follows_on_inconclusive(
    policy: str, phase: str, outcome: str
) -> None:
    cluster = stable_cluster(analysis=f"onInconclusive: {policy}")
    cluster.verdict = lambda c: Verdict.INCONCLUSIVE
    cluster.deploy(V2)
    cluster.run_until(phase)
    assert history(cluster)[0]["outcome"] == outcome


def test_an_inconclusive_last_step_under_hold_waits_for_a_person() -> None:
    cluster = stable_cluster(analysis="onInconclusive: hold")
    cluster.verdict = lambda c: Verdict.INCONCLUSIVE
    cluster.deploy(V2)
    cluster.run(30 * 60)
    assert cluster.phase == "Progressing" and cluster.route_weight == 50
    assert "onInconclusive: hold" in cluster.status["message"]
    cluster.verdict = lambda c: Verdict.PASS
    cluster.run_until("Stable")


def test_a_sample_ratio_mismatch_holds_the_step_and_warns_once() -> None:
    cluster = stable_cluster()
    cluster.verdict = lambda c: Verdict.INCONCLUSIVE
    cluster.split_matches = lambda c: c.route_weight != 25
    cluster.deploy(V2)
    cluster.run(20 * 60, every=5)
    assert cluster.phase == "Progressing" and cluster.route_weight == 25
    assert "sample-ratio mismatch" in cluster.status["message"]
    mismatch = [e for e in cluster.events if e.reason == "SampleRatioMismatch"]
    assert len(mismatch) == 1 and mismatch[0].type is EventType.WARNING
    cluster.split_matches = lambda c: True
    cluster.run_until("Stable", every=5)
    assert cluster.weights == [0, 10, 25, 50, 0]
    assert history(cluster)[0]["outcome"] == "promoted"


def test_a_sample_ratio_mismatch_at_the_last_step_waits_for_a_person_to_promote() -> None:
    cluster = stable_cluster()  # onInconclusive: promote, the default
    cluster.verdict = lambda c: Verdict.INCONCLUSIVE
    cluster.split_matches = lambda c: c.route_weight != 50
    cluster.deploy(V2)
    cluster.run(30 * 60, every=5)
    assert cluster.phase == "Progressing" and cluster.route_weight == 50
    assert cluster.decisions == []
    assert "sample-ratio mismatch" in cluster.status["message"]
    cluster.ask("promote")  # a person who has checked the route can still promote
    cluster.run_until("Stable", every=5)
    assert cluster.decisions == ["promoted"]


def test_a_sample_ratio_mismatch_does_not_stop_a_rollback_on_harm() -> None:
    cluster = stable_cluster()
    cluster.split_matches = lambda c: False
    cluster.verdict = lambda c: Verdict.FAIL if c.route_weight == 10 else Verdict.INCONCLUSIVE
    cluster.deploy(V2)
    cluster.run_until("RolledBack", every=5)
    assert cluster.weights == [0, 10, 0]


# -- Analysis verdicts that stop a rollout ------------------------------------------------------


def test_harm_rolls_back_at_once_and_all_traffic_returns_to_stable() -> None:
    cluster = stable_cluster()
    cluster.verdict = lambda c: Verdict.FAIL if c.route_weight == 25 else Verdict.PASS
    cluster.deploy(V2)
    cluster.run_until("RollingBack", every=5)
    assert cluster.route_weight == 0, "the rollback decision moves traffic in the same reconcile"
    assert cluster.status["canaryWeight"] == 0
    cluster.run_until("RolledBack")
    assert cluster.weights == [0, 10, 25, 0]
    (entry,) = history(cluster)
    assert entry["outcome"] == "rolled-back"
    assert entry["reason"] == "analysis failed: Fail"
    assert cluster.decisions == ["rolled_back"]
    assert cluster.status["canary"]["revision"] == revision(V2).hash


def test_no_data_holds_the_step_until_the_limit_then_rolls_back() -> None:
    cluster = stable_cluster()
    cluster.verdict = lambda c: Verdict.NO_DATA if c.route_weight == 25 else Verdict.PASS
    cluster.deploy(V2)
    cluster.run_until("Progressing")
    cluster.run(60 + 10)
    assert cluster.route_weight == 25
    started = cluster.now
    cluster.run(4 * 60)
    assert cluster.phase == "Progressing" and cluster.route_weight == 25
    assert "holding, no analysis data" in cluster.status["message"]
    cluster.run_until("RolledBack")
    assert cluster.now - started < timedelta(minutes=6)
    assert history(cluster)[0]["reason"] == "analysis had no data for 5m (noData.limit)"


def test_data_coming_back_ends_the_hold() -> None:
    cluster = stable_cluster()
    cluster.deploy(V2)
    cluster.verdict = lambda c: Verdict.NO_DATA
    cluster.run(4 * 60)
    cluster.verdict = lambda c: Verdict.PASS
    cluster.run_until("Stable")
    assert history(cluster)[0]["outcome"] == "promoted"


def test_no_data_under_policy_fail_rolls_back_at_once() -> None:
    cluster = stable_cluster(analysis="noData: {policy: fail}")
    cluster.verdict = lambda c: Verdict.NO_DATA
    cluster.deploy(V2)
    cluster.run_until("RolledBack")
    assert cluster.weights == [0, 10, 0]
    assert history(cluster)[0]["reason"] == "analysis has no data (noData.policy: fail)"


def test_no_data_under_policy_pass_lets_the_steps_advance() -> None:
    cluster = stable_cluster(analysis="noData: {policy: pass}")
    cluster.verdict = lambda c: Verdict.NO_DATA
    cluster.deploy(V2)
    cluster.run_until("Stable")
    assert cluster.weights == [0, 10, 25, 50, 0]


def test_an_analysis_of_another_revision_is_ignored() -> None:
    cluster = stable_cluster()
    cluster.deploy(V2)
    cluster.reconcile()
    state = from_status(cluster.status)
    observed = cluster.observe()
    assert observed.analysis is not None
    stale = dataclasses.replace(observed.analysis, revision=revision(V3).hash, verdict=Verdict.FAIL)
    cluster.advance(10)
    result = step(state, dataclasses.replace(observed, analysis=stale), cluster.now)
    assert result.state.phase.value == "Progressing"
    assert result.state.last_analysis == state.last_analysis

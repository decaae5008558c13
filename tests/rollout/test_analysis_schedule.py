"""Analysis ticks are anchored at rolloutStartedAt + k * interval, so a restart keeps them; the
other wake-ups are the deadlines a decision waits for."""

from __future__ import annotations

from datetime import timedelta

from fake_rollout_cluster import FakeCluster

from rollout.annotations import parse_strategy
from rollout.evidence import Verdict
from rollout.schedule import next_analysis_at, next_wakeup
from rollout.status import from_status
from rollout.strategy import Strategy

V2 = "s3://models/iris/v2"


def strategy_of(cluster: FakeCluster) -> Strategy:
    strategy = parse_strategy(cluster.annotations)
    assert isinstance(strategy, Strategy)
    return strategy


def rolling_out() -> FakeCluster:
    cluster = FakeCluster()
    cluster.run_until("Stable")
    cluster.deploy(V2)
    cluster.reconcile()
    return cluster


def test_ticks_are_anchored_at_the_rollout_start() -> None:
    cluster = rolling_out()
    state = from_status(cluster.status)
    start = state.rollout_started_at
    assert start is not None
    strategy = strategy_of(cluster)  # interval 10s
    assert next_analysis_at(state, strategy, start) == start + timedelta(seconds=10)
    assert next_analysis_at(state, strategy, start + timedelta(seconds=3)) == start + timedelta(
        seconds=10
    )
    assert next_analysis_at(state, strategy, start + timedelta(seconds=10)) == start + timedelta(
        seconds=20
    )
    later = start + timedelta(minutes=7, seconds=4, milliseconds=500)
    assert next_analysis_at(state, strategy, later) == start + timedelta(minutes=7, seconds=10)


def test_a_restarted_controller_keeps_the_same_ticks() -> None:
    cluster = rolling_out()
    cluster.advance(33)
    cluster.reconcile()
    before = from_status(cluster.status)
    restarted = from_status(dict(cluster.status))
    strategy = strategy_of(cluster)
    assert next_analysis_at(restarted, strategy, cluster.now) == next_analysis_at(
        before, strategy, cluster.now
    )


def test_there_are_no_ticks_without_a_canary_taking_traffic() -> None:
    cluster = FakeCluster()
    cluster.run_until("Stable")
    assert next_analysis_at(from_status(cluster.status), strategy_of(cluster), cluster.now) is None
    cluster.canary_ready = False
    cluster.deploy(V2)
    cluster.reconcile()
    assert next_analysis_at(from_status(cluster.status), strategy_of(cluster), cluster.now) is None


def test_waiting_for_the_canary_wakes_up_at_the_progress_deadline() -> None:
    cluster = FakeCluster()
    cluster.run_until("Stable")
    cluster.canary_ready = False
    cluster.deploy(V2)
    cluster.reconcile()
    wakeup = next_wakeup(from_status(cluster.status), strategy_of(cluster), cluster.now)
    assert wakeup == cluster.now + timedelta(minutes=10)


def test_a_step_end_between_ticks_is_a_wakeup() -> None:
    cluster = FakeCluster()
    cluster.annotations["kcanary.io/interval"] = "45s"
    cluster.run_until("Stable")
    cluster.deploy(V2)
    cluster.reconcile()
    state = from_status(cluster.status)
    assert state.step_started_at is not None
    strategy = strategy_of(cluster)
    just_before_end = state.step_started_at + timedelta(seconds=50)
    assert next_wakeup(state, strategy, just_before_end) == state.step_started_at + timedelta(
        minutes=1
    )


def test_the_no_data_limit_is_a_wakeup() -> None:
    cluster = rolling_out()
    cluster.verdict = lambda c: Verdict.NO_DATA
    cluster.advance(10)
    cluster.reconcile()
    state = from_status(cluster.status)
    assert state.no_data_since is not None
    strategy = strategy_of(cluster).model_copy(update={"interval": timedelta(hours=1)})
    assert next_wakeup(state, strategy, cluster.now) == min(
        state.no_data_since + timedelta(minutes=5),
        (state.step_started_at or cluster.now) + timedelta(minutes=1),
    )

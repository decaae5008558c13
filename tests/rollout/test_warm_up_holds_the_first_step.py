"""No step ends on a look taken during the warm-up, tick by tick with a fake clock.

The fake cluster reads the state back from the status it wrote at every reconcile, as a
restarted controller would, so each test here also shows that the hold is computed from the
persisted `rolloutStartedAt` and the strategy alone.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fake_rollout_cluster import FakeCluster, history, revision, stable_cluster
from pydantic import ValidationError

from rollout.evidence import Verdict
from rollout.status import parse_time
from rollout.strategy import Strategy, TrafficMode
from rollout.warmup import warming_up_at

V2 = "s3://models/iris/v2"


def warm_after(cluster: FakeCluster, warmup: timedelta) -> Verdict:
    """What the reconciler reports: Inconclusive during the warm-up, then Pass."""
    started = cluster.status.get("rolloutStartedAt")
    if started is None or cluster.now <= parse_time(started) + warmup:
        return Verdict.INCONCLUSIVE
    return Verdict.PASS


def step_times(cluster: FakeCluster) -> list[float]:
    """Seconds from the first weight to each later one."""
    first = cluster.weight_times[0]
    return [(moment - first).total_seconds() for moment in cluster.weight_times]


def first_step_s(cluster: FakeCluster) -> float:
    """How long the first weight step lasted: from the route's 10% to its next weight."""
    first = cluster.weights.index(10)
    return (cluster.weight_times[first + 1] - cluster.weight_times[first]).total_seconds()


def test_a_warm_up_longer_than_the_first_step_holds_it_until_a_look_after_the_warm_up() -> None:
    # Steps of 1m, a look every 10s. advanceOnPass off, so the later steps show that the
    # warm-up holds only the first: with it, each would end on its first passing look.
    cluster = stable_cluster(warmup="1m35s", **{"advance-on-pass": "false"})
    cluster.verdict = lambda c: warm_after(c, timedelta(seconds=95))
    cluster.deploy(V2)
    cluster.run(90)
    assert cluster.phase == "Progressing" and cluster.route_weight == 10
    assert cluster.status["lastAnalysis"]["verdict"] == "Inconclusive"
    started = cluster.status["rolloutStartedAt"]
    counts = (parse_time(started) + timedelta(seconds=95)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert cluster.status["message"] == (
        f"step 1/3: holding, warming up: counts start at {counts} (warmup 1m35s); the step "
        "ends on the first analysis after it"
    )
    cluster.run_until("Stable")
    assert cluster.weights == [0, 10, 25, 50, 0]
    assert first_step_s(cluster) == 100, "until the first look after the counts start"
    assert history(cluster)[0]["outcome"] == "promoted"


def test_a_step_whose_time_is_not_up_says_what_it_does_during_the_warm_up() -> None:
    """Nothing holds a step before its duration is up: its message stays its own until then,
    so a person is not told it holds, and the status is not rewritten on every look."""
    cluster = stable_cluster(warmup="1m35s")  # steps of 1m, a look every 10s
    cluster.verdict = lambda c: warm_after(c, timedelta(seconds=95))
    cluster.deploy(V2)
    cluster.run(60)  # looks up to 50s into the first step
    assert cluster.status["lastAnalysis"]["verdict"] == "Inconclusive"
    assert cluster.status["message"] == f"step 1/3: 10% of traffic to canary {revision(V2).hash}"


def test_a_look_in_the_warm_up_ends_no_step_even_if_it_passed() -> None:
    """The reconciler never reports Pass for a warm-up look; the rollout does not depend on it.
    advanceOnPass off, so the later steps show that the warm-up holds only the first."""
    cluster = stable_cluster(warmup="2m", **{"advance-on-pass": "false"})
    cluster.verdict = lambda c: Verdict.PASS
    cluster.deploy(V2)
    cluster.run(120)
    assert cluster.route_weight == 10
    assert cluster.status["message"].startswith("step 1/3: holding, warming up")
    cluster.run_until("Stable")
    assert first_step_s(cluster) == 130


@pytest.mark.parametrize(
    ("warmup", "step", "ends_s"),
    [("0s", "10s", 10), ("30s", "10s", 40), ("30s", "1m", 60)],
)
def test_the_first_step_ends_at_its_time_or_at_the_first_look_after_the_warm_up(
    warmup: str, step: str, ends_s: int
) -> None:
    """0s turns the warm-up off; one shorter than the step changes nothing."""
    cluster = stable_cluster(warmup=warmup, **{"step-duration": step})
    cluster.verdict = lambda c: Verdict.INCONCLUSIVE
    cluster.deploy(V2)
    cluster.run(ends_s + 20)
    assert first_step_s(cluster) == ends_s


@pytest.mark.parametrize("policy", ["rollback", "hold"])
def test_a_single_step_still_warming_up_is_not_judged_inconclusive(policy: str) -> None:
    """With one step, its end is the rollout's: onInconclusive must not act on warm-up alone."""
    cluster = stable_cluster(steps="50", warmup="3m", analysis=f"onInconclusive: {policy}")
    cluster.verdict = lambda c: Verdict.INCONCLUSIVE
    cluster.deploy(V2)
    cluster.run(170)
    assert cluster.phase == "Progressing" and cluster.route_weight == 50
    assert "warming up" in cluster.status["message"]
    assert cluster.decisions == []


def test_with_advance_on_pass_the_first_step_ends_on_the_first_pass_after_the_warm_up() -> None:
    """The first look one interval into the step (10s) is in the warm-up and ends nothing, even
    though it passed; the first after it (40s) ends the step early; the others end one interval
    in."""
    cluster = stable_cluster(warmup="30s")  # the strategy's default, under the 1m step
    cluster.verdict = lambda c: Verdict.PASS
    cluster.deploy(V2)
    cluster.run_until("Stable")
    assert step_times(cluster)[1:4] == [0, 40, 50]
    started = [e.message for e in cluster.events if e.reason == "StepStarted"]
    assert started[1].endswith("(step 1 ended early: non-inferiority shown after 40s)")


def test_warmup_0s_turns_the_hold_off() -> None:
    """Every look passes: without a warm-up the first step ends on its first look one interval
    in, like the others (40s in with the default warm-up, the test above)."""
    cluster = stable_cluster(warmup="0s")
    cluster.verdict = lambda c: Verdict.PASS
    cluster.deploy(V2)
    cluster.run_until("Stable")
    assert step_times(cluster)[1:4] == [0, 10, 20]


def test_a_negative_warm_up_given_in_python_is_refused() -> None:
    with pytest.raises(ValidationError, match="must not be negative: use 0s to turn"):
        Strategy(traffic={"mode": TrafficMode.ISTIO}, warmup=timedelta(seconds=-1))


def test_a_look_is_in_the_warm_up_to_the_second_as_the_status_keeps_it() -> None:
    """The reconciler decides on the look's time, the rollout on the status's copy of it."""
    start = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)
    strategy = Strategy(traffic={"mode": TrafficMode.ISTIO}, warmup=timedelta(seconds=30))
    assert warming_up_at(start, strategy, start + timedelta(seconds=30, milliseconds=900))
    assert not warming_up_at(start, strategy, start + timedelta(seconds=31))
    off = strategy.model_copy(update={"warmup": timedelta(0)})
    assert not warming_up_at(start, off, start)

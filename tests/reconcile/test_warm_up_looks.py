"""During the warm-up the reconciler asks Prometheus nothing and reports Inconclusive (never
NoData); the first look after it counts from `rolloutStartedAt + warmup`, for both revisions."""

from __future__ import annotations

from datetime import timedelta

from reconcile_world import STRATEGY, World, weights_seen

from reconcile.analysis_run import STATUS_CHECK_FIELDS
from rollout.status import parse_time

V1, V2 = "s3://models/iris/v1", "s3://models/iris/v2"
WARMUP = timedelta(seconds=35)  # past the 30s first step: a look every 10s


def warming_world() -> World:
    """iris stable on V1 with a 35s warm-up, then V2 rolling out at its first step."""
    world = World()
    world.add_isvc("iris", V1, {**STRATEGY, "kcanary.io/warmup": "35s"})
    world.run("iris", lambda w: w.phase("iris") == "Stable")
    world.deploy("iris", V2)
    world.run("iris", lambda w: w.route_weight("iris") == 10)
    return world


def test_looks_in_the_warm_up_ask_nothing_and_are_inconclusive_on_every_check() -> None:
    world = warming_world()
    started = parse_time(world.status("iris")["rolloutStartedAt"])
    world.run("iris", lambda w: w.now >= started + WARMUP)
    assert world.analyst.jobs == [], "no look in the warm-up reaches the analyst"
    last = world.status("iris")["lastAnalysis"]
    assert last["verdict"] == "Inconclusive"
    assert parse_time(last["time"]) == started + timedelta(seconds=30)
    assert [check["name"] for check in last["checks"]] == [
        "error-rate-harm",
        "error-rate-noninferiority",
        "latency-harm",
        "latency-noninferiority",
        "sample-ratio",
    ]
    for check in last["checks"]:
        assert set(check) == set(STATUS_CHECK_FIELDS)
        assert check["verdict"] == "Inconclusive"
        assert check["samples"] == {"stable": 0, "canary": 0}
    analysis = next(c for c in world.status("iris")["conditions"] if c["type"] == "Analysis")
    assert analysis["reason"] == "Inconclusive", "NoData would start the no-data limit"
    assert world.status("iris")["message"].startswith("step 1/3: holding, warming up")
    assert world.route_weight("iris") == 10, "the 30s step is held by the warm-up"


def test_the_first_look_after_the_warm_up_counts_from_its_end_and_ends_the_step() -> None:
    world = warming_world()
    started = parse_time(world.status("iris")["rolloutStartedAt"])
    world.run("iris", lambda w: w.route_weight("iris") == 25)
    assert world.now == started + timedelta(seconds=40), "the first tick after the counts start"
    (job,) = world.analyst.jobs
    assert job.since == started + WARMUP
    assert job.warmup == WARMUP
    world.run("iris", lambda w: w.phase("iris") == "Stable")
    assert {job.since for job in world.analyst.jobs} == {started + WARMUP}
    assert weights_seen(world) == [0, 10, 25, 50, 0]


def test_a_controller_restarted_in_the_warm_up_keeps_it() -> None:
    world = warming_world()
    started = parse_time(world.status("iris")["rolloutStartedAt"])
    world.run("iris", lambda w: w.now >= started + timedelta(seconds=20))
    world.fresh_controller()
    world.run("iris", lambda w: w.route_weight("iris") == 25)
    assert world.now == started + timedelta(seconds=40)
    assert [job.since for job in world.analyst.jobs] == [started + WARMUP]

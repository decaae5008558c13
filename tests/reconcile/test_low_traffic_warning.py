"""A rollout whose traffic is too low for its plan to catch a doubled error rate gets one
LowTraffic Warning Event when it starts analysing: never again on later ticks or after a
restart, never at a high rate, never when the rate cannot be read."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from reconcile_world import STRATEGY, World

from analysis.templates import MetricTemplate, RevisionRef
from reconcile.low_traffic import ObservedTraffic

V1, V2 = "s3://models/iris/v1", "s3://models/iris/v2"


@dataclass
class FakeTraffic:
    """Prometheus as the LowTraffic check reads it: a fixed rate, or None (unreadable)."""

    observed: ObservedTraffic | None
    asked: list[tuple[RevisionRef, RevisionRef, datetime, datetime]] = field(default_factory=list)

    def observed_traffic(
        self,
        template: MetricTemplate,
        stable: RevisionRef,
        canary: RevisionRef,
        *,
        since: datetime,
        at: datetime,
    ) -> ObservedTraffic | None:
        self.asked.append((stable, canary, since, at))
        return self.observed


def rollout_started(world: World) -> bool:
    return world.status("iris").get("rolloutStartedAt") is not None


def started_rollout(traffic: FakeTraffic) -> World:
    """iris stable on V1, then V2 rolling out and analysed a few times."""
    world = World(traffic=traffic)
    # Steps that last their duration, so the rollout is still under way for the later ticks.
    world.add_isvc("iris", V1, {**STRATEGY, "kcanary.io/advance-on-pass": "false"})
    world.run("iris", lambda w: w.phase("iris") == "Stable")
    world.deploy("iris", V2)
    world.run("iris", rollout_started)
    world.run("iris", lambda w: len(w.analyst.jobs) >= 3)
    return world


def test_one_warning_names_the_observed_rate_and_the_rate_needed() -> None:
    traffic = FakeTraffic(ObservedTraffic(requests_per_second=3.1, stable_error_rate=None))
    world = started_rollout(traffic)

    (event,) = world.sink.of("LowTraffic")
    assert event["type"] == "Warning"
    message = event["message"]
    assert message.startswith("at 3.1 req/s a doubled error rate (1% -> 2%) is caught before")
    assert "with 90% probability only above" in message
    assert "lengthen the steps" in message
    assert "kcanary sensitivity --rps 3.1 --steps 10,25,50 --step-duration 30s" in message
    # Asked once, for the traffic of the five minutes before the start, stable's and canary's.
    ((stable, canary, since, at),) = traffic.asked
    assert (stable.workload, canary.workload) == ("iris-primary-predictor", "iris-predictor")
    started = datetime.fromisoformat(world.status("iris")["rolloutStartedAt"])
    assert at == started and since == started - timedelta(minutes=5)


def test_the_observed_error_rate_is_the_one_doubled() -> None:
    traffic = FakeTraffic(ObservedTraffic(requests_per_second=1.0, stable_error_rate=0.05))
    world = started_rollout(traffic)

    (event,) = world.sink.of("LowTraffic")
    assert "(5% -> 10%)" in event["message"]


def test_not_repeated_on_later_ticks_nor_after_a_restart() -> None:
    traffic = FakeTraffic(ObservedTraffic(requests_per_second=1.0, stable_error_rate=None))
    world = started_rollout(traffic)
    world.fresh_controller()
    world.run("iris", lambda w: len(w.analyst.jobs) >= 6)

    assert len(world.sink.of("LowTraffic")) == 1
    assert len(traffic.asked) == 1


def test_a_high_rate_or_an_unreadable_one_warns_about_nothing() -> None:
    busy = FakeTraffic(ObservedTraffic(requests_per_second=1000.0, stable_error_rate=None))
    unreadable = FakeTraffic(None)
    for traffic in (busy, unreadable):
        world = started_rollout(traffic)
        assert world.sink.of("LowTraffic") == []
        assert len(traffic.asked) == 1

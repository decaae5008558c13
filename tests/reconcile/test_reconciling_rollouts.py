"""The reconciler walks a canary through its steps against a cluster in memory, writes only what
changed, and reports an unusable strategy without moving traffic."""

from __future__ import annotations

from datetime import timedelta

from reconcile_world import STRATEGY, ScriptedAnalyst, World, weights_seen

from reconcile.resources import INFERENCE_ROLLOUT, INFERENCE_SERVICE
from rollout.evidence import Verdict
from traffic.istio import VIRTUAL_SERVICE
from traffic.store import ObjectRef

V1, V2 = "s3://models/iris/v1", "s3://models/iris/v2"


def stable(world: World) -> bool:
    return world.phase("iris") == "Stable"


def rolled_back(world: World) -> bool:
    return world.phase("iris") == "RolledBack"


def canary_at_ten_percent() -> World:
    """iris stable on V1, then V2 rolling out and at its first step."""
    world = World()
    world.add_isvc("iris", V1)
    world.run("iris", stable)
    world.deploy("iris", V2)
    world.run("iris", lambda w: w.route_weight("iris") == 10)
    return world


def test_first_sight_creates_the_rollout_owned_by_the_isvc_then_the_primary_and_route() -> None:
    world = World()
    world.add_isvc("iris", V1)
    world.run("iris", stable)
    rollout = world.get(INFERENCE_ROLLOUT, "iris")
    assert rollout is not None
    isvc = world.get(INFERENCE_SERVICE, "iris")
    assert isvc is not None
    (owner,) = rollout["metadata"]["ownerReferences"]
    assert owner["uid"] == isvc["metadata"]["uid"]
    assert owner["controller"] is True and owner["blockOwnerDeletion"] is True
    primary = world.get(INFERENCE_SERVICE, "iris-primary")
    assert primary is not None
    assert primary["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "kcanary"
    assert "--model_name=iris" in primary["spec"]["predictor"]["model"]["args"]
    assert world.route_weight("iris") == 0
    assert world.status("iris")["stable"]["storageUri"] == V1


def test_a_good_canary_is_promoted_through_every_step_writing_each_weight_once() -> None:
    world = World()
    world.add_isvc("iris", V1)
    world.run("iris", stable)
    world.deploy("iris", V2)
    world.run("iris", lambda w: stable(w) and w.status("iris")["stable"]["storageUri"] == V2)
    assert weights_seen(world) == [0, 10, 25, 50, 0]
    (entry,) = world.status("iris")["history"]
    assert (entry["storageUri"], entry["outcome"]) == (V2, "promoted")
    primary = world.get(INFERENCE_SERVICE, "iris-primary")
    assert primary is not None
    assert primary["spec"]["predictor"]["model"]["storageUri"] == V2
    assert world.decisions("promoted") == 1
    assert [e["reason"] for e in world.sink.of("Promoted")] == ["Promoted"]


def test_analysis_runs_on_ticks_anchored_at_the_rollout_start() -> None:
    world = World()
    world.add_isvc("iris", V1)
    world.run("iris", stable)
    world.deploy("iris", V2)
    world.run("iris", lambda w: len(w.analyst.jobs) >= 3, every=3.0)
    started = world.analyst.jobs[0].since
    ticks = [job.at - started for job in world.analyst.jobs]
    # Reconciles every 3s see ticks every 10s: one analysis per tick, at the first look after it.
    assert [t // timedelta(seconds=10) for t in ticks] == [1, 2, 3]
    assert all(job.since == started for job in world.analyst.jobs)
    assert world.analyst.jobs[0].stable.workload == "iris-primary-predictor"
    assert world.analyst.jobs[0].canary.workload == "iris-predictor"


def test_a_failing_canary_is_rolled_back_to_zero() -> None:
    world = World(ScriptedAnalyst(verdict=lambda job: Verdict.FAIL))
    world.add_isvc("iris", V1)
    world.run("iris", stable)
    world.deploy("iris", V2)
    world.run("iris", rolled_back)
    assert weights_seen(world) == [0, 10, 0]
    assert world.route_weight("iris") == 0
    (entry,) = world.status("iris")["history"]
    assert entry["outcome"] == "rolled-back"
    assert world.status("iris")["lastAnalysis"]["verdict"] == "Fail"
    assert world.status("iris")["lastAnalysis"]["checks"][0]["samples"] == {
        "stable": 900,
        "canary": 100,
    }
    assert world.decisions("rolled_back") == 1
    assert len(world.sink.of("AnalysisFailed")) == 1


def test_an_invalid_strategy_is_one_warning_and_moves_no_traffic_while_others_roll_out() -> None:
    world = World()
    world.add_isvc("broken", V1, {**STRATEGY, "kcanary.io/steps": "10,abc"})
    world.add_isvc("iris", V1)
    for _ in range(5):
        world.reconcile("broken")
        world.now += timedelta(seconds=5)
    ready = next(c for c in world.status("broken")["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "InvalidSpec")
    assert "kcanary.io/steps" in ready["message"]
    (warning,) = world.sink.of("InvalidSpec")
    assert warning["type"] == "Warning" and warning["count"] == 1
    assert "kcanary.io/steps" in warning["message"]
    assert world.get(VIRTUAL_SERVICE, "broken-kcanary") is None
    assert world.get(INFERENCE_SERVICE, "broken-primary") is None
    world.run("iris", stable)
    assert world.route_weight("iris") == 0


def test_a_runtime_whose_model_name_cannot_be_pinned_is_invalid_spec() -> None:
    world = World()
    world.add_isvc("iris", V1)
    world.store.patch(
        world.store_ref("iris"),
        {"spec": {"predictor": {"model": {"runtime": "my-own-server"}}}},
        resource_version=None,
    )
    world.settle()
    world.reconcile("iris")
    ready = next(c for c in world.status("iris")["conditions"] if c["type"] == "Ready")
    assert ready["reason"] == "InvalidSpec"
    assert "my-own-server" in ready["message"]
    assert world.get(INFERENCE_SERVICE, "iris-primary") is None


def test_reconciling_an_object_that_needs_nothing_writes_nothing() -> None:
    world = World()
    world.add_isvc("iris", V1)
    world.run("iris", stable)
    before = world.store.controller_writes
    for _ in range(20):
        outcome = world.reconcile("iris")
        assert not outcome.wrote_status
        world.now += timedelta(seconds=7)
    assert world.store.controller_writes == before


def test_an_isvc_without_the_strategy_is_left_alone() -> None:
    world = World()
    world.add_isvc("plain", V1, {})
    outcome = world.reconcile("plain")
    assert outcome.error is None and outcome.wake_at is None
    assert world.store.controller_writes == 0
    assert world.get(INFERENCE_ROLLOUT, "plain") is None


def test_a_manual_promote_is_taken_once_recorded_with_who_asked_and_removed() -> None:
    world = canary_at_ten_percent()
    world.annotate("iris", "kcanary.io/action", "promote", manager="kubectl-annotate")
    world.reconcile("iris")
    assert world.route_weight("iris") == 25
    isvc = world.get(INFERENCE_SERVICE, "iris")
    assert isvc is not None
    assert "kcanary.io/action" not in isvc["metadata"]["annotations"]
    (entry,) = world.status("iris")["history"]
    (record,) = entry["actions"]
    assert (record["action"], record["by"]) == ("promote", "kubectl-annotate")
    assert len(world.sink.of("ActionTaken")) == 1


def test_a_second_promote_in_the_same_second_after_the_first_was_removed_is_taken() -> None:
    # managedFields times have whole seconds: the second request carries the same time as the
    # first one's record, and only the removal in between tells it is a new request.
    world = canary_at_ten_percent()
    world.annotate("iris", "kcanary.io/action", "promote", manager="kubectl-annotate")
    world.reconcile("iris")
    assert world.route_weight("iris") == 25
    world.annotate("iris", "kcanary.io/action", "promote", manager="kubectl-annotate")
    world.reconcile("iris")
    assert world.route_weight("iris") == 50
    (entry,) = world.status("iris")["history"]
    assert [record["action"] for record in entry["actions"]] == ["promote", "promote"]


def test_removing_the_strategy_hands_traffic_back_from_stable() -> None:
    world = World()
    world.add_isvc("iris", V1)
    world.run("iris", stable)
    world.annotate("iris", "kcanary.io/strategy", None)
    outcome = world.reconcile("iris")
    assert outcome.error is None
    assert world.get(VIRTUAL_SERVICE, "iris-kcanary") is None
    assert world.get(INFERENCE_SERVICE, "iris-primary") is None
    assert world.get(INFERENCE_ROLLOUT, "iris") is None
    assert len(world.sink.of("HandedBack")) == 1


def test_removing_the_strategy_mid_rollout_rolls_back_before_handing_back() -> None:
    world = canary_at_ten_percent()
    world.annotate("iris", "kcanary.io/strategy", None)
    world.run("iris", lambda w: w.get(INFERENCE_ROLLOUT, "iris") is None)
    assert weights_seen(world) == [0, 10, 0]
    assert world.get(VIRTUAL_SERVICE, "iris-kcanary") is None
    assert world.get(INFERENCE_SERVICE, "iris-primary") is None
    assert world.decisions("rolled_back") == 1


def test_a_route_to_adopt_that_does_not_exist_is_a_warning_and_a_retry_not_a_crash() -> None:
    world = World()
    world.add_isvc("iris", V1, {**STRATEGY, "kcanary.io/route": "my-route"})
    outcome = world.reconcile("iris")
    world.reconcile("iris")
    assert outcome.error is not None and not outcome.conflict
    (warning,) = world.sink.of("TrafficNotRouted")
    assert "my-route" in warning["message"] and warning["count"] == 2
    errors = world.metrics[-1].registry.get_sample_value("kcanary_reconcile_errors_total")
    assert errors == 2


def test_an_isvc_whose_own_ingress_competes_gets_one_warning() -> None:
    world = World()
    world.add_isvc("iris", V1)
    world.store.patch(
        world.store_ref("iris"),
        {"metadata": {"labels": {"networking.kserve.io/visibility": None}}},
        resource_version=None,
    )
    world.run("iris", stable)
    (warning,) = world.sink.of("PublicIngressCompetes")
    assert "cluster-local" in warning["message"] and warning["count"] == 1


def test_the_phase_and_weight_metrics_follow_the_rollout() -> None:
    world = World()
    world.add_isvc("iris", V1)
    world.run("iris", stable)
    world.deploy("iris", V2)
    world.run("iris", lambda w: w.route_weight("iris") == 25)
    metrics = world.metrics[-1].registry.get_sample_value
    labels = {"namespace": "models", "name": "iris"}
    assert metrics("kcanary_canary_weight", labels) == 25
    assert metrics("kcanary_rollout_phase", {**labels, "phase": "Progressing"}) == 1
    assert metrics("kcanary_rollout_phase", {**labels, "phase": "Stable"}) == 0
    check = {**labels, "check": "error-rate-harm", "verdict": "Pass"}
    assert metrics("kcanary_analysis_verdict", check) == 1
    assert metrics("kcanary_analysis_threshold", {**labels, "check": "error-rate-harm"}) == 40


def test_a_restarted_controller_keeps_the_analysis_ticks_where_they_were() -> None:
    world = World()
    world.add_isvc("iris", V1)
    world.run("iris", stable)
    world.deploy("iris", V2)
    world.run("iris", lambda w: len(w.analyst.jobs) >= 2, every=3.0)
    world.fresh_controller()
    world.now += timedelta(seconds=4)
    world.run("iris", lambda w: len(w.analyst.jobs) >= 4, every=3.0)
    started = world.analyst.jobs[0].since
    ticks = [(job.at - started) // timedelta(seconds=10) for job in world.analyst.jobs]
    assert ticks == [1, 2, 3, 4]


def test_a_cache_that_still_shows_a_taken_request_does_not_take_it_again() -> None:
    world = canary_at_ten_percent()
    # No managedFields: nothing says when the request was made.
    world.annotate("iris", "kcanary.io/action", "promote")
    before_consume = world.get(INFERENCE_SERVICE, "iris")
    assert before_consume is not None
    world.reconcile("iris")
    assert world.route_weight("iris") == 25
    world.cache.pinned[world.store_ref("iris")] = before_consume
    for _ in range(3):
        world.reconcile("iris")
    assert world.route_weight("iris") == 25
    (entry,) = world.status("iris")["history"]
    assert [record["action"] for record in entry["actions"]] == ["promote"]


def test_a_cache_behind_the_last_status_write_does_not_move_traffic_back() -> None:
    world = canary_at_ten_percent()
    at_ten = world.get(INFERENCE_ROLLOUT, "iris")
    assert at_ten is not None
    world.run("iris", lambda w: w.route_weight("iris") == 25)
    world.cache.pinned[ObjectRef(INFERENCE_ROLLOUT, "models", "iris")] = at_ten
    for _ in range(3):
        outcome = world.reconcile("iris")
        assert outcome.error is None
    assert weights_seen(world) == [0, 10, 25]


def test_a_route_cache_behind_our_last_route_write_is_not_acted_on() -> None:
    world = canary_at_ten_percent()
    route_at_ten = world.get(VIRTUAL_SERVICE, "iris-kcanary")
    assert route_at_ten is not None
    world.run("iris", lambda w: w.route_weight("iris") == 25)
    world.cache.pinned[ObjectRef(VIRTUAL_SERVICE, "models", "iris-kcanary")] = route_at_ten
    for _ in range(3):
        outcome = world.reconcile("iris")
        assert outcome.error is None
    assert weights_seen(world) == [0, 10, 25]
    assert world.phase("iris") == "Progressing"


def test_a_deleted_isvc_leaves_no_series_behind() -> None:
    world = World()
    world.add_isvc("iris", V1)
    world.run("iris", stable)
    world.deploy("iris", V2)
    world.run("iris", lambda w: len(w.analyst.jobs) >= 1)
    world.store.delete(world.store_ref("iris"))
    outcome = world.reconcile("iris")
    assert outcome.error is None and outcome.wake_at is None
    samples = [
        sample
        for metric in world.metrics[-1].registry.collect()
        for sample in metric.samples
        if sample.labels.get("name") == "iris"
    ]
    assert samples == []


def test_only_a_status_write_that_asked_for_nothing_else_skips_its_own_watch_echo() -> None:
    world = World()
    # Steps that last their duration, so most ticks only refresh lastAnalysis.
    world.add_isvc("iris", V1, {**STRATEGY, "kcanary.io/advance-on-pass": "false"})
    world.run("iris", stable)
    world.deploy("iris", V2)
    echoes: list[tuple[str, bool]] = []

    def watch_echo(w: World) -> bool:
        rollout = w.get(INFERENCE_ROLLOUT, "iris") or {}
        echoes.append(
            (
                str(w.status("iris").get("canaryWeight")),
                w.reconciler.is_echo_of_quiet_write(("models", "iris"), rollout),
            )
        )
        return w.phase("iris") == "Stable" and w.status("iris")["stable"]["storageUri"] == V2

    world.run("iris", watch_echo, every=1.0)
    skipped = [weight for weight, echo in echoes if echo]
    assert skipped, "ticks that only refresh lastAnalysis are echoes"
    # A write that moved traffic is never skipped: its echo's reconcile reads the route back.
    changes = [i for i in range(1, len(echoes)) if echoes[i][0] != echoes[i - 1][0]]
    assert all(not echoes[i][1] for i in changes), echoes
    # Each echo is recognised once only.
    rollout = world.get(INFERENCE_ROLLOUT, "iris") or {}
    assert not world.reconciler.is_echo_of_quiet_write(("models", "iris"), rollout)

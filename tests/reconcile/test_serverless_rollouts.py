"""In Serverless mode KServe splits the traffic: the reconciler walks canaryTrafficPercent through
the steps, analyses Knative's revisions, and promotes once KServe has rolled the canary out."""

from __future__ import annotations

from typing import Any

from reconcile_world import World

from reconcile.resources import INFERENCE_SERVICE
from rollout.evidence import Verdict

V1, V2 = "s3://models/iris/v1", "s3://models/iris/v2"
SERVERLESS = {
    "kcanary.io/strategy": "canary",
    "kcanary.io/traffic": "kserve",
    "kcanary.io/metrics": "knative",
    "kcanary.io/steps": "20,60",
    "kcanary.io/interval": "10s",
    "kcanary.io/step-duration": "30s",
    "serving.kserve.io/deploymentMode": "Serverless",
}


class Knative:
    """KServe in Serverless mode: a Knative revision per spec; a new one takes all traffic
    unless canaryTrafficPercent holds it back."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.revisions: dict[str, str] = {}

    def settle(self, world: World | None = None) -> None:
        ref = self.world.store_ref("iris")
        isvc = self.world.store.get(ref)
        assert isvc is not None
        model = isvc["spec"]["predictor"]["model"]["storageUri"]
        name = self.revisions.setdefault(model, f"iris-predictor-{len(self.revisions) + 1:05d}")
        old = ((isvc.get("status") or {}).get("components") or {}).get("predictor") or {}
        percent = isvc["spec"]["predictor"].get("canaryTrafficPercent")
        rolled = old.get("latestRolledoutRevision") or name
        if percent is None or percent == 100:
            rolled = name
        predictor = {
            "latestCreatedRevision": name,
            "latestReadyRevision": name,
            "latestRolledoutRevision": rolled,
        }
        if old == predictor:
            return
        status = {
            "deploymentMode": "Serverless",
            "observedGeneration": isvc["metadata"]["generation"],
            "conditions": [{"type": "Ready", "status": "True"}],
            "components": {"predictor": predictor},
        }
        self.world.store.patch(ref, {"status": status}, resource_version=None)


def canary_percent(world: World) -> Any:
    isvc = world.get(INFERENCE_SERVICE, "iris")
    assert isvc is not None
    return isvc["spec"]["predictor"].get("canaryTrafficPercent")


def test_a_serverless_canary_is_walked_through_the_steps_and_rolled_out_by_kserve() -> None:
    world = World()
    knative = Knative(world)
    world.add_isvc("iris", V1, SERVERLESS)
    knative.settle()
    percents: list[Any] = []

    def record(_: World) -> None:
        percent = canary_percent(world)
        if not percents or percents[-1] != percent:
            percents.append(percent)

    world.after_settle += [knative.settle, record]
    world.run("iris", lambda w: w.phase("iris") == "Stable")
    assert canary_percent(world) == 0  # the next revision starts guarded
    world.deploy("iris", V2)
    world.run("iris", lambda w: w.status("iris").get("stable", {}).get("storageUri") == V2)
    assert percents == [0, 20, 60, 100, 0]
    jobs = world.analyst.jobs
    assert jobs and {(j.stable.revision, j.canary.revision) for j in jobs} == {
        ("iris-predictor-00001", "iris-predictor-00002")
    }
    (entry,) = world.status("iris")["history"]
    assert entry["outcome"] == "promoted"
    assert world.get(INFERENCE_SERVICE, "iris-primary") is None  # no copy in this mode


def test_a_failing_serverless_canary_goes_back_to_zero_percent() -> None:
    world = World()
    world.analyst.verdict = lambda job: Verdict.FAIL
    knative = Knative(world)
    world.add_isvc("iris", V1, SERVERLESS)
    knative.settle()
    world.after_settle.append(knative.settle)
    world.run("iris", lambda w: w.phase("iris") == "Stable")
    world.deploy("iris", V2)
    world.run("iris", lambda w: w.phase("iris") == "RolledBack")
    assert canary_percent(world) == 0
    isvc = world.get(INFERENCE_SERVICE, "iris")
    assert isvc is not None
    assert isvc["status"]["components"]["predictor"]["latestRolledoutRevision"] == (
        "iris-predictor-00001"
    )

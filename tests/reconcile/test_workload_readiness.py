"""What counts as a serving canary: Ready for its generation, and in Standard mode a finished
Deployment rollout, so no old pod answers under the canary's name; and who asked for an action."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from reconcile_world import World

from reconcile.observe import deployment_complete, is_ready, isvc_workload, manual_request
from reconcile.resources import DEPLOYMENT
from traffic.store import ObjectRef


def deployment(generation: int, observed: int, **status: int) -> dict[str, Any]:
    return {
        "metadata": {"name": "iris-predictor", "generation": generation},
        "spec": {"replicas": 2},
        "status": {"observedGeneration": observed, **status},
    }


def test_a_deployment_is_rolled_out_when_every_replica_is_updated_and_available() -> None:
    done = deployment(3, 3, replicas=2, updatedReplicas=2, availableReplicas=2)
    assert deployment_complete(done)
    old_pod_left = deployment(3, 3, replicas=3, updatedReplicas=2, availableReplicas=3)
    assert not deployment_complete(old_pod_left)
    not_seen = deployment(4, 3, replicas=2, updatedReplicas=2, availableReplicas=2)
    assert not deployment_complete(not_seen)
    unavailable = deployment(3, 3, replicas=2, updatedReplicas=2, availableReplicas=1)
    assert not deployment_complete(unavailable)


def test_an_isvc_is_ready_only_for_the_generation_it_reports() -> None:
    isvc: dict[str, Any] = {
        "metadata": {"generation": 2},
        "spec": {},
        "status": {"observedGeneration": 1, "conditions": [{"type": "Ready", "status": "True"}]},
    }
    assert not is_ready(isvc)
    isvc["status"]["observedGeneration"] = 2
    assert is_ready(isvc)
    assert not isvc_workload(isvc, deployment(1, 0)).serving


def test_the_manual_request_names_the_manager_that_last_set_it() -> None:
    isvc = {
        "metadata": {
            "annotations": {"kcanary.io/action": "pause"},
            "managedFields": [
                {
                    "manager": "kubectl-annotate",
                    "time": "2026-05-01T12:00:00Z",
                    "fieldsV1": {"f:metadata": {"f:annotations": {"f:kcanary.io/action": {}}}},
                },
                {
                    "manager": "kubectl-canary",
                    "time": "2026-05-01T12:05:00Z",
                    "fieldsV1": {"f:metadata": {"f:annotations": {"f:kcanary.io/action": {}}}},
                },
                {
                    "manager": "kserve",
                    "time": "2026-05-01T12:09:00Z",
                    "fieldsV1": {"f:status": {}},
                },
            ],
        }
    }
    request = manual_request(isvc)
    assert request is not None
    assert (request.action, request.by) == ("pause", "kubectl-canary")
    assert request.requested_at == datetime(2026, 5, 1, 12, 5, tzinfo=UTC)


def test_the_canary_takes_no_traffic_until_its_deployment_has_rolled_out() -> None:
    world = World()
    world.add_isvc("iris", "s3://models/iris/v1")
    world.run("iris", lambda w: w.phase("iris") == "Stable")
    ref = ObjectRef(DEPLOYMENT, "models", "iris-predictor")
    world.store.put(ref, deployment(2, 2, replicas=3, updatedReplicas=2, availableReplicas=3))
    world.deploy("iris", "s3://models/iris/v2")
    for _ in range(4):
        world.reconcile("iris")
        world.settle()
        world.now += timedelta(seconds=5)
    assert world.route_weight("iris") == 0
    assert world.status("iris")["phase"] == "Progressing"
    world.store.patch(
        ref,
        {"status": {"replicas": 2, "updatedReplicas": 2, "availableReplicas": 2}},
        resource_version=None,
    )
    world.reconcile("iris")
    assert world.route_weight("iris") == 10

"""On the local cluster with the real Prometheus, the session controller promotes good canaries
through every step on each router, rolls back error and latency regressions with all traffic on
stable, and refuses an unusable strategy without disturbing its neighbour.

The scenarios run concurrently (e2e_batch); each test asserts on its own ISVC. Splits are checked
on what the ingress gateway counted per destination workload while each weight held.
"""

from __future__ import annotations

import pytest
from e2e_batch import INVALID_NAME, ROUTERS, Batch, Outcome
from e2e_rollouts import Rollouts, TrafficLog, within_binomial

STEPS = [10, 25, 50]
MIN_REQUESTS = 60  # over the three steps: a step may end early when the canary proves itself


def route_weights(outcome: Outcome) -> list[int]:
    return [change.weight for change in outcome.record.weights]


def rollout_weights(weights: list[int]) -> list[int]:
    """The weights of the rollout itself: from the first step to the first return to 0."""
    started = next((i for i, w in enumerate(weights) if w != 0), len(weights))
    ended = next((i for i, w in enumerate(weights) if i > started and w == 0), len(weights))
    return weights[started : ended + 1]


def check_every_step_split(outcome: Outcome) -> None:
    """Each step's weight held on the route, and the gateway's split within binomial bounds."""
    checked = []
    requests = 0
    for weight, served in outcome.windows:
        if weight not in STEPS or weight in checked:
            continue
        total = sum(served.values())
        canary = total - served[outcome.stable_during]
        requests += total
        assert within_binomial(canary, total, weight / 100), (
            f"{outcome.scenario.key}: at {weight}% the canary served {canary} of {total} ({served})"
        )
        checked.append(weight)
    assert checked == STEPS, f"weights with a checked split: {checked}"
    assert requests >= MIN_REQUESTS, f"only {requests} requests over the steps"


@pytest.mark.parametrize("key", [f"{router}-good" for router in ROUTERS])
def test_a_good_canary_is_promoted_through_every_step(batch: Batch, key: str) -> None:
    outcome = batch.outcome(key)
    status = outcome.status
    assert status["phase"] == "Stable", status
    assert status["history"][-1]["outcome"] == "promoted", status["history"]
    weights = route_weights(outcome)
    # Each step once and in order, possibly 100 during promotion, then 0 again.
    during = rollout_weights(weights)
    assert [w for w in during if w not in (0, 100)] == STEPS, f"route weights seen: {weights}"
    assert during[-1] == 0 and weights[-1] == 0, f"route weights seen: {weights}"
    check_every_step_split(outcome)


@pytest.mark.parametrize(
    "key", [f"{router}-{kind}" for router in ROUTERS for kind in ("errors", "slow")]
)
def test_a_regression_is_rolled_back_with_all_traffic_on_stable(batch: Batch, key: str) -> None:
    outcome = batch.outcome(key)
    status = outcome.status
    assert status["phase"] == "RolledBack", (status["phase"], status.get("lastAnalysis"))
    assert status["canaryWeight"] == 0
    assert status["history"][-1]["outcome"] == "rolled-back", status["history"]
    weights = route_weights(outcome)
    assert weights[-1] == 0, f"route weights seen: {weights}"
    during = [w for w in weights if w != 0]
    assert during and during == sorted(set(during)), f"route weights seen: {weights}"
    assert sum(outcome.after.values()) > 0, "no traffic after the rollback"
    assert outcome.record_after.weights == outcome.record.weights, (
        f"route writes after the decision: {outcome.record_after}"
    )
    assert set(outcome.after) == {outcome.stable_after}, (outcome.after, outcome.record_after)


@pytest.mark.parametrize(
    ("key", "kind"),
    [(f"{router}-errors", "error") for router in ROUTERS]
    + [(f"{router}-slow", "latency") for router in ROUTERS],
)
def test_a_regression_is_judged_on_what_regressed(batch: Batch, key: str, kind: str) -> None:
    checks = batch.outcome(key).status["lastAnalysis"]["checks"]
    failed = [check["name"] for check in checks if check["verdict"] == "Fail"]
    assert any(kind in name for name in failed), checks


def test_an_invalid_annotation_gives_invalid_spec_and_a_warning_while_another_rolls_out(
    batch: Batch, rollouts: Rollouts, traffic_log: TrafficLog
) -> None:
    batch.outcome("istio-good")  # the neighbour rolled out normally (asserted by its own test)
    namespace = batch.namespaces["istio-good"]
    status = rollouts.status(namespace, INVALID_NAME)
    ready = [c for c in status.get("conditions") or [] if c.get("type") == "Ready"]
    assert ready and ready[0]["status"] == "False", status
    assert ready[0]["reason"] == "InvalidSpec", ready
    assert "kcanary.io/steps" in ready[0]["message"], ready
    warnings = [
        event
        for event in rollouts.events(namespace)
        if event.type == "Warning"
        and event.involved_object.name == INVALID_NAME
        and event.reason == "InvalidSpec"
    ]
    assert len(warnings) == 1, [(e.reason, e.message, e.count) for e in warnings]
    assert "kcanary.io/steps" in (warnings[0].message or "")
    assert traffic_log.record(namespace, INVALID_NAME).weights == [], "traffic moved"

"""At the demo's load and steps (100 requests/s, 10/25/50% for 15 s each) and kcanary's default
analysis, a canary failing 3% of requests where stable fails 1% is rolled back on every router,
and a good canary (1%, as stable) beside it is promoted.

The defaults are the point: a harm margin of 0 and the extension of an undecided last step that
leans towards harm (30 s here, to fit the tests' budget) must be enough to catch a tripled error
rate at this traffic. The pairs run one router at a time after the rest of the batch
(e2e_batch), and each test first checks that the gateway carried the plan's load, so that an
outcome at a fraction of it is not taken for the plan's. Each test prints what the decision took
(seconds from the first step, requests counted for each revision) so that runs can be compared.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import pytest
from e2e_batch import ROUTERS, Batch, Outcome

STEPS = [10, 25, 50]
CARRIED_SHARE = 0.9
"""Of the plan's load, what the gateway must have carried for a test to speak for the plan."""


def harm_check(status: dict[str, Any]) -> dict[str, Any]:
    checks = (status.get("lastAnalysis") or {}).get("checks") or []
    found = [check for check in checks if check["name"] == "error-rate-harm"]
    assert found, f"no error-rate-harm check in the last analysis: {checks}"
    return dict(found[0])


@dataclass(frozen=True)
class Decision:
    """What one rollout's decision took, from the route's first step to its return to 0."""

    seconds: float
    carried_rps: float
    """Requests per second the gateway sent to the ISVC's workloads meanwhile."""
    summary: str

    @classmethod
    def of(cls, outcome: Outcome) -> Decision:
        weights = outcome.record.weights
        first = next(change for change in weights if change.weight != 0)
        back = next(c for c in weights if c.at > first.at and c.weight == 0)
        seconds = back.at - first.at
        carried = sum((Counter(back.served) - Counter(first.served)).values()) / seconds
        status = dict(outcome.status)
        harm = harm_check(status)
        samples = harm.get("samples") or {}
        summary = (
            f"{outcome.scenario.key}: {status.get('phase')} {seconds:.1f}s after the first "
            f"step, gateway carried {carried:.0f}/s; last analysis counted canary "
            f"{samples.get('canary')} stable {samples.get('stable')}; error-rate-harm "
            f"{harm['verdict']} canary {harm.get('canary')} stable {harm.get('stable')} e-value "
            f"{harm.get('evalue')} / {harm.get('threshold')}; {status.get('message')}"
        )
        return cls(seconds, carried, summary)

    def check_load(self, outcome: Outcome) -> None:
        """The rollout ran at the plan's load: otherwise its outcome says nothing of the plan."""
        assert self.carried_rps >= CARRIED_SHARE * outcome.scenario.rps, (
            f"the local cluster carried {self.carried_rps:.0f} requests/s of the "
            f"{outcome.scenario.rps:.0f} offered: {self.summary}"
        )


@pytest.mark.parametrize("router", ROUTERS)
def test_a_tripled_error_rate_is_rolled_back_at_the_demo_load(batch: Batch, router: str) -> None:
    outcome = batch.outcome(f"{router}-tripled-errors-demo-plan")
    decision = Decision.of(outcome)
    print(decision.summary)
    decision.check_load(outcome)
    status = dict(outcome.status)
    assert status["phase"] == "RolledBack", decision.summary
    assert status["canaryWeight"] == 0, decision.summary
    last = status["history"][-1]
    assert last["outcome"] == "rolled-back", status["history"]
    assert "error-rate-harm" in last["reason"], (last["reason"], decision.summary)
    assert harm_check(status)["verdict"] == "Fail", status["lastAnalysis"]
    # Once the route is back at 0, no later write raises the canary's weight, up to the end of
    # a window after the decision.
    weights = [change.weight for change in outcome.record_after.weights]
    started = next(i for i, weight in enumerate(weights) if weight != 0)
    back = next(i for i, weight in enumerate(weights) if i > started and weight == 0)
    assert weights[back:] == [0] * len(weights[back:]), f"route weights seen: {weights}"
    during = weights[started:back]
    assert during == sorted(set(during)) and set(during) <= set(STEPS), (
        f"route weights seen: {weights}"
    )
    assert set(outcome.after) == {outcome.stable_after}, (outcome.after, outcome.record_after)


@pytest.mark.parametrize("router", ROUTERS)
def test_a_good_canary_beside_it_is_promoted_at_the_demo_load(batch: Batch, router: str) -> None:
    outcome = batch.outcome(f"{router}-good-demo-plan")
    decision = Decision.of(outcome)
    print(decision.summary)
    decision.check_load(outcome)
    status = dict(outcome.status)
    assert status["phase"] == "Stable", decision.summary
    assert status["history"][-1]["outcome"] == "promoted", status["history"]
    weights = [change.weight for change in outcome.record.weights]
    started = next(i for i, weight in enumerate(weights) if weight != 0)
    assert [w for w in weights[started:] if w not in (0, 100)] == STEPS, (
        f"route weights seen: {weights}"
    )
    assert weights[-1] == 0, f"route weights seen: {weights}"

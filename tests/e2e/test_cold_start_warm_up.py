"""A canary whose server is five times slower for its first 6 s: promoted when the strategy's
warm-up covers the cold start, rolled back on latency without one. Same canary, same load, side
by side in the batch (e2e_batch), so the second shows that the first could have failed."""

from __future__ import annotations

from e2e_batch import COLD_WARMUP, GOOD_STEP_DURATION, Batch

from rollout.durations import parse_duration


def test_a_cold_starting_canary_is_promoted_when_the_warm_up_covers_its_cold_start(
    batch: Batch,
) -> None:
    outcome = batch.outcome("istio-cold-warmup")
    status = outcome.status
    assert status["phase"] == "Stable", (status["message"], status.get("lastAnalysis"))
    assert status["history"][-1]["outcome"] == "promoted", status["history"]
    changes = outcome.record.weights
    first = next(i for i, change in enumerate(changes) if change.weight == 10)
    assert [c.weight for c in changes[first : first + 3]] == [10, 25, 50], changes
    # The warm-up is longer than the step: the first step lasts until a look after it.
    warmup = parse_duration(COLD_WARMUP).total_seconds()
    assert warmup > parse_duration(GOOD_STEP_DURATION).total_seconds()
    held = changes[first + 1].at - changes[first].at
    assert held >= warmup, f"the first step ended {held:.1f}s in, inside the warm-up"


def test_the_same_cold_start_without_a_warm_up_is_rolled_back_on_latency(batch: Batch) -> None:
    outcome = batch.outcome("istio-cold-no-warmup")
    status = outcome.status
    assert status["phase"] == "RolledBack", (status["message"], status.get("lastAnalysis"))
    assert status["history"][-1]["outcome"] == "rolled-back", status["history"]
    failed = [c["name"] for c in status["lastAnalysis"]["checks"] if c["verdict"] == "Fail"]
    assert any("latency" in name for name in failed), status["lastAnalysis"]
    weights = [change.weight for change in outcome.record.weights if change.weight != 0]
    assert weights == [10], f"rolled back at the first step, in the cold start: {weights}"

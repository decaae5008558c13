"""The decision benchmark's scenarios do what they say to the counts, the oracle decides with
the true effect, and kcanary keeps its false rollbacks within alpha on every good scenario."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from analysis.settings import AnalysisSettings
from bench.deciders import KcanaryDecider, TrueEffectOracle, bad_events
from bench.decision_scenarios import Kind, scenarios
from bench.decisions import excess_per_canary_request
from bench.monte_carlo import monte_carlo_se
from bench.simulator import Behaviour, Effect, PodRestarts, Scenario, Tick, simulate

SETTINGS = AnalysisSettings()
CASES = {case.name: case for case in scenarios()}


class Recorder:
    name = "recorder"

    def __init__(self) -> None:
        self.ticks: list[Tick] = []

    def reset(self, runs: int) -> None:
        self.ticks = []

    def look(self, tick: Tick) -> NDArray[np.bool_]:
        self.ticks.append(tick)
        return np.zeros(tick.stable.requests.shape, dtype=bool)


def test_restarts_lose_what_was_served_since_the_last_scrape() -> None:
    restarts = PodRestarts(canary_probability=0.5, stable_probability=0.0, pods=2)
    scenario = Scenario("restarts", 200.0, restarts=restarts)
    recorder = Recorder()
    outcome = simulate(scenario, [recorder], 400, np.random.default_rng(4))["recorder"]
    last = recorder.ticks[-1]
    # Per restart a pod loses U(0, 15 s) of a 30 s interval, half the revision's traffic.
    expected_loss = 0.5 * 0.5 * (15 / 30) / 2
    seen = last.canary.requests.sum() / outcome.canary_served.sum()
    assert seen == pytest.approx(1 - expected_loss, abs=0.01)
    for arm in (last.stable, last.canary):
        assert np.all(arm.cumulative[:, -1] == arm.requests)
        assert np.all(arm.failures <= arm.requests)
    assert last.stable.requests.sum() == sum(
        t.stable_increment.requests.sum() for t in recorder.ticks
    )


def test_load_stress_raises_both_revisions_errors_and_latency_with_the_load() -> None:
    scenario = Scenario("stress", 50.0, stress=0.5)
    busy = scenario.under_load(Behaviour(), 4.0)
    assert busy.error_rate == pytest.approx(0.02)
    assert busy.latency.p50_s == pytest.approx(0.1)
    assert Scenario("calm", 50.0).under_load(Behaviour(), 4.0) == Behaviour()


def test_the_sample_ratio_scenario_gives_the_canary_less_than_its_weight() -> None:
    recorder = Recorder()
    simulate(
        CASES["A/A, sample-ratio mismatch"].scenario, [recorder], 200, np.random.default_rng(1)
    )
    first = recorder.ticks[0]
    share = first.canary.requests.sum() / (first.canary.requests + first.stable.requests).sum()
    assert share == pytest.approx(0.08, abs=0.005)


def test_the_catalogue_has_every_scenario_the_benchmark_promises() -> None:
    kinds = {name: case.kind for name, case in CASES.items()}
    assert kinds["A/A"] is Kind.GOOD and kinds["errors x1.5"] is Kind.BOUNDARY
    for name in ("errors x2", "errors x5", "p50 +20%", "p50 +50%", "p99-only", "variance-only"):
        assert kinds[name] is Kind.BAD
    assert {CASES["A/A, 1 rps"].scenario.rps, CASES["A/A, 200 rps"].scenario.rps} == {1.0, 200.0}
    assert CASES["A/A, diurnal"].scenario.stress > 0
    assert CASES["A/A, pod restarts"].scenario.restarts is not None


def test_blast_radius_counts_only_what_the_canary_does_worse() -> None:
    assert excess_per_canary_request(CASES["A/A"]) == pytest.approx((0.0, 0.0))
    failed, slow = excess_per_canary_request(CASES["errors x5"])
    assert failed == pytest.approx(0.04) and slow == pytest.approx(0.0)
    failed, slow = excess_per_canary_request(CASES["p99-only"])
    assert failed == 0.0 and 0.01 < slow < 0.03


def _oracle(canary: Behaviour) -> TrueEffectOracle:
    events = bad_events(
        Behaviour(), canary, Scenario("x", 1.0).bounds, SETTINGS.error_rate, SETTINGS.latency
    )
    return TrueEffectOracle(events, alpha=SETTINGS.alpha, rollback_alpha=SETTINGS.rollback_alpha)


@pytest.mark.parametrize(
    "effect", [Effect(error_ratio=5.0), Effect(median_factor=1.5)], ids=["errors-x5", "p50+50%"]
)
def test_the_oracle_rolls_back_a_harmful_canary_no_later_than_kcanary(effect: Effect) -> None:
    canary = effect.applied_to(Behaviour())
    oracle = _oracle(canary)
    scenario = Scenario("bad", 200.0, canary=canary)
    outcomes = simulate(scenario, [oracle, KcanaryDecider(SETTINGS)], 200, np.random.default_rng(3))
    ours, best = outcomes["kcanary"], outcomes["oracle-sprt"]
    assert best.rolled_back.all()
    assert np.median(best.seconds) <= np.median(ours.seconds)


def test_the_oracle_shows_a_good_canary_within_the_tolerance_and_never_rolls_it_back() -> None:
    oracle = _oracle(Behaviour())
    outcome = simulate(Scenario("A/A", 200.0), [oracle], 200, np.random.default_rng(2))
    assert not outcome["oracle-sprt"].rolled_back.any()
    assert (oracle.first_pass_tick >= 0).mean() > 0.95


@pytest.mark.parametrize(
    "name", ["A/A", "A/A, diurnal", "A/A, sample-ratio mismatch", "A/A, pod restarts"]
)
def test_kcanary_false_rollbacks_stay_within_alpha_on_good_scenarios(name: str) -> None:
    runs = 300
    decider = KcanaryDecider(SETTINGS)
    outcome = simulate(CASES[name].scenario, [decider], runs, np.random.default_rng(11))
    rate = outcome["kcanary"].rolled_back.mean()
    assert rate <= SETTINGS.alpha + 3 * monte_carlo_se(SETTINGS.alpha, runs)


def test_kcanary_holds_rather_than_promotes_when_the_split_is_off() -> None:
    runs = 300
    skewed, plain = KcanaryDecider(SETTINGS), KcanaryDecider(SETTINGS)
    simulate(
        CASES["A/A, sample-ratio mismatch"].scenario, [skewed], runs, np.random.default_rng(12)
    )
    simulate(CASES["A/A"].scenario, [plain], runs, np.random.default_rng(12))
    # The canary gets 80% of its weight: by the end of the plan nearly every run sees it.
    assert skewed.split_mismatch.mean() >= 0.9
    assert plain.split_mismatch.mean() <= SETTINGS.alpha + 3 * monte_carlo_se(SETTINGS.alpha, runs)

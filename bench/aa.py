"""A/A validation of kcanary's analysis: false rollbacks, power and cost in virtual time.

Simulated rollouts (steps 10,25,50 %, 2 minutes each, analysis every 30 s) with the canary
identical to stable are judged at every tick by `analysis.evaluate.judge`, the controller's
code; the share of them rolled back is the false rollback rate, which must stay at or below
alpha. The same traffic with a worse canary gives the power and the requests to detection,
compared for error-rate ratios with Wald's SPRT that knows the true rates (the oracle).

kcanary compares the revisions within each period of constant weight. The drift rows show why:
load rising over the rollout makes both revisions fail more and slow down together, and since
the canary's share of requests rises too, the pooled comparison (run alongside on the same
traffic, for contrast only) takes the drift for a canary regression.
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from analysis.count_arrays import CountArrays
from analysis.counts import LatencyHistogram, RevisionCounts
from analysis.evaluate import SplitPeriod, evaluate, judge
from analysis.settings import AnalysisSettings, Tolerance
from analysis.verdict import CODE_OF, Verdict
from bench.aa_report import markdown
from bench.deciders import KcanaryDecider, OracleSprt
from bench.monte_carlo import monte_carlo_se, quantile_or_none, wilson_interval
from bench.simulator import (
    Behaviour,
    Decider,
    Effect,
    Outcome,
    Plan,
    Scenario,
    Tick,
    constant_load,
    simulate,
)

DEFAULT_OUT = Path(__file__).resolve().parent / "results"
BASELINE = Behaviour()  # 1% errors, p50 50 ms, sigma 0.3
PLAN = Plan()
TRAFFIC = (1.0, 200.0)  # the power table's traffic levels
AA_TRAFFIC = (1.0, 10.0, 200.0, 1000.0)  # the A/A table checks a wider range
ALPHAS = (0.05, 0.01)
DRIFT_TRAFFIC = (50.0, 200.0)
# Both revisions' error rates and latencies scale by load ** DRIFT_STRESS: about 0.84x at the
# start of the rising load and 1.22x at its end.
DRIFT_STRESS = 0.3
PER_PERIOD, POOLED = "per period", "pooled"

# name -> the canary's change; the p99-only regression slows 2% of requests 3x (p99 +50%).
EFFECTS: dict[str, Effect] = {
    "error rate x1.5 (at the tolerance)": Effect(error_ratio=1.5),
    "error rate x2": Effect(error_ratio=2.0),
    "error rate x5": Effect(error_ratio=5.0),
    "median latency +20%": Effect(median_factor=1.2),
    "median latency +50%": Effect(median_factor=1.5),
    "p99-only regression": Effect(tail_fraction=0.02, tail_factor=3.0),
    "variance-only (sigma x1.5)": Effect(sigma_factor=1.5),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--runs", type=int, default=2000, help="rollouts per row (>= 100)")
    parser.add_argument("--seed", type=int, default=20261123, help="random seed")
    parser.add_argument("--json", action="store_true", help="print the A/A rows as JSON")
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="directory for aa.md and aa.json"
    )


@dataclass(frozen=True)
class FalseRollbackRow:
    rps: float
    load: str  # constant, swinging +-90% with a 6-minute period, or rising 0.5x to 2x
    alpha: float
    stress: float  # Scenario.stress: how much both revisions degrade with the load
    analysis: str  # per period (kcanary's) or pooled (the contrast)
    runs: int
    false_rollbacks: int
    rate: float
    ci_low: float
    ci_high: float
    within_alpha: bool  # rate <= alpha + 3 Monte-Carlo standard errors
    passed_at_last_look: float  # share of runs shown non-inferior by the last look


def _rng(seed: int, *keys: float) -> np.random.Generator:
    return np.random.default_rng([seed, *(int(k * 1000) for k in keys)])


class _LastTick:
    """A decider that keeps the last tick it saw (to time one look) and never decides."""

    name = "last-tick"

    def __init__(self) -> None:
        self.tick: Tick | None = None

    def reset(self, runs: int) -> None:
        self.tick = None

    def look(self, tick: Tick) -> NDArray[np.bool_]:
        self.tick = tick
        return np.zeros(tick.stable.requests.shape, dtype=bool)


def swinging_load(seconds: float) -> float:
    """Load swinging +-90% around the mean with a 6-minute period: traffic changes as much
    within the rollout as a day's does, while the weights step up."""
    return 1.0 + 0.9 * math.sin(2 * math.pi * seconds / 360.0)


def rising_load(seconds: float) -> float:
    """Load rising linearly from 0.5x to 2x of the mean over the plan's 6 minutes, while the
    weights step up: a rollout started before the daily peak."""
    return 0.5 + 1.5 * min(seconds / 360.0, 1.0)


def _row(
    scenario: Scenario,
    load: str,
    alpha: float,
    decider: KcanaryDecider,
    outcome: Outcome,
) -> FalseRollbackRow:
    runs = outcome.runs
    fired = int(outcome.rolled_back.sum())
    rate = fired / runs
    low, high = wilson_interval(fired, runs)
    return FalseRollbackRow(
        rps=scenario.rps,
        load=load,
        alpha=alpha,
        stress=scenario.stress,
        analysis=PER_PERIOD if decider.per_period else POOLED,
        runs=runs,
        false_rollbacks=fired,
        rate=rate,
        ci_low=low,
        ci_high=high,
        within_alpha=rate <= alpha + 3 * monte_carlo_se(alpha, runs),
        passed_at_last_look=float(np.mean(decider.last_overall == CODE_OF[Verdict.PASS])),
    )


def false_rollbacks(runs: int, seed: int) -> list[FalseRollbackRow]:
    rows = []
    configs = [(rps, "constant", alpha) for rps in AA_TRAFFIC for alpha in ALPHAS]
    configs += [(200.0, "swinging", alpha) for alpha in ALPHAS]
    for rps, load, alpha in configs:
        scenario = Scenario(
            "A/A",
            rps,
            stable=BASELINE,
            canary=BASELINE,
            plan=PLAN,
            load=swinging_load if load == "swinging" else constant_load,
        )
        decider = KcanaryDecider(AnalysisSettings(alpha=alpha))
        outcome = simulate(scenario, [decider], runs, _rng(seed, rps, alpha, len(load)))
        rows.append(_row(scenario, load, alpha, decider, outcome["kcanary"]))
    return rows


def drift_false_rollbacks(
    runs: int, seed: int, stress: float = DRIFT_STRESS
) -> list[FalseRollbackRow]:
    """A/A under a drift both revisions share (rising load with `stress`), judged per period
    and pooled on the same traffic."""
    rows = []
    for rps in DRIFT_TRAFFIC:
        for alpha in ALPHAS:
            scenario = Scenario(
                "A/A, shared drift",
                rps,
                stable=BASELINE,
                canary=BASELINE,
                plan=PLAN,
                load=rising_load,
                stress=stress,
            )
            settings = AnalysisSettings(alpha=alpha)
            ours, pooled = KcanaryDecider(settings), KcanaryDecider(settings, per_period=False)
            outcomes = simulate(scenario, [ours, pooled], runs, _rng(seed, rps, alpha, stress, 7))
            for decider in (ours, pooled):
                rows.append(_row(scenario, "rising", alpha, decider, outcomes[decider.name]))
    return rows


def _oracle_for(effect: Effect, settings: AnalysisSettings) -> OracleSprt | None:
    if effect.error_ratio == 1.0:
        return None
    stable = BASELINE.error_rate
    tolerance = settings.error_rate
    boundary = stable + max(tolerance.absolute, tolerance.relative * stable)
    canary = effect.applied_to(BASELINE).error_rate
    if canary <= boundary:
        return None  # not harm by the tolerance: nothing for an oracle to detect
    return OracleSprt(boundary, canary, settings.rollback_alpha)


def _cost(values: NDArray[Any], q: float) -> float | None:
    value = quantile_or_none(values, q)
    return None if value is None else round(value, 1)


def power(runs: int, seed: int, alpha: float = 0.05) -> list[dict[str, Any]]:
    settings = AnalysisSettings(alpha=alpha)
    rows = []
    for rps in TRAFFIC:
        for index, (name, effect) in enumerate(EFFECTS.items()):
            canary = effect.applied_to(BASELINE)
            scenario = Scenario(name, rps, stable=BASELINE, canary=canary, plan=PLAN)
            deciders: list[Decider] = [KcanaryDecider(settings)]
            oracle = _oracle_for(effect, settings)
            if oracle is not None:
                deciders.append(oracle)
            outcomes = simulate(scenario, deciders, runs, _rng(seed, rps, 100 + index))
            ours = outcomes["kcanary"]
            hit = ours.rolled_back
            row: dict[str, Any] = {
                "scenario": name,
                "rps": rps,
                "alpha": alpha,
                "runs": runs,
                "canary_p50_ms": round(canary.latency.quantile(0.5) * 1000, 1),
                "canary_p99_ms": round(canary.latency.quantile(0.99) * 1000, 1),
                "rolled_back": int(hit.sum()),
                "rate": float(hit.mean()),
                "ci_low": wilson_interval(int(hit.sum()), runs)[0],
                "ci_high": wilson_interval(int(hit.sum()), runs)[1],
                "median_seconds": _cost(ours.seconds[hit], 0.5),
                "p90_seconds": _cost(ours.seconds[hit], 0.9),
                "median_requests": _cost(ours.total_requests[hit], 0.5),
                "p90_requests": _cost(ours.total_requests[hit], 0.9),
                "median_canary_requests": _cost(ours.canary_requests[hit], 0.5),
            }
            if oracle is not None:
                theirs = outcomes[oracle.name]
                found = theirs.rolled_back
                oracle_median = _cost(theirs.canary_requests[found], 0.5)
                row["oracle_rate"] = float(found.mean())
                row["oracle_median_canary_requests"] = oracle_median
                ours_median = row["median_canary_requests"]
                row["requests_vs_oracle"] = (
                    round(ours_median / oracle_median, 2)
                    if ours_median is not None and oracle_median
                    else None
                )
            rows.append(row)
    return rows


WIDE_HARM = Tolerance(absolute=0.005, relative=0.2)
"""A harm margin as wide as the non-inferiority tolerance, for the boundary rows."""


def boundary_validity(runs: int, seed: int) -> list[dict[str, Any]]:
    """With a harm margin of `max(0.5 pp, 20%)`, a canary exactly on it (1.5% against 1%) is
    not harm: its rollback rate tests validity on the edge of the composite null, where it is
    hardest (the default margin 0 makes that edge the A/A rows above), with the usual 30 s
    looks and with looks every 2 s (180 looks)."""
    rows = []
    settings = AnalysisSettings(
        check_latency=False, check_sample_ratio=False, error_rate_harm=WIDE_HARM
    )
    canary = Effect(error_ratio=1.5).applied_to(BASELINE)
    for rps, interval in ((1.0, 30.0), (200.0, 30.0), (1000.0, 30.0), (200.0, 2.0)):
        plan = replace(PLAN, interval_seconds=interval)
        scenario = Scenario("boundary", rps, stable=BASELINE, canary=canary, plan=plan)
        outcome = simulate(scenario, [KcanaryDecider(settings)], runs, _rng(seed, rps, interval))
        fired = int(outcome["kcanary"].rolled_back.sum())
        low, high = wilson_interval(fired, runs)
        rows.append(
            {
                "rps": rps,
                "interval_seconds": interval,
                "looks": len(plan.tick_weights()),
                "alpha_for_the_check": settings.rollback_alpha,
                "runs": runs,
                "rollbacks": fired,
                "rate": fired / runs,
                "ci_low": low,
                "ci_high": high,
            }
        )
    return rows


def cpu_per_tick(seed: int, rollouts: int = 1000) -> dict[str, float]:
    """CPU seconds of one look at `rollouts` rollouts (the last tick, 200 rps): batched through
    `judge` as the simulator does, and one `evaluate` call per rollout as the controller does."""
    keeper = _LastTick()
    scenario = Scenario("A/A", 200.0, stable=BASELINE, canary=BASELINE, plan=PLAN)
    simulate(scenario, [keeper], rollouts, _rng(seed, 3))
    tick = keeper.tick
    assert tick is not None
    settings = AnalysisSettings()

    def arrays(arm: Any) -> CountArrays:
        return CountArrays(arm.requests, arm.failures, tick.bounds, arm.cumulative)

    split = (np.asarray(tick.weights), tick.stable_per_interval, tick.canary_per_interval)
    started = time.process_time()
    judge(settings, arrays(tick.stable), arrays(tick.canary), split)
    batched = time.process_time() - started

    def counts(arm: Any, i: int) -> RevisionCounts:
        histogram = LatencyHistogram(tick.bounds, tuple(int(v) for v in arm.cumulative[i]))
        return RevisionCounts(int(arm.requests[i]), int(arm.failures[i]), histogram)

    inputs = []
    for i in range(rollouts):
        periods = [
            SplitPeriod(w * 100, int(s), int(c))
            for w, s, c in zip(
                tick.weights, tick.stable_per_interval[i], tick.canary_per_interval[i], strict=True
            )
        ]
        inputs.append((counts(tick.stable, i), counts(tick.canary, i), periods))
    started = time.process_time()
    for stable, canary, periods in inputs:
        evaluate(settings, stable=stable, canary=canary, split=periods)
    one_by_one = time.process_time() - started
    return {
        "rollouts": rollouts,
        "batched_judge_cpu_seconds": round(batched, 4),
        "evaluate_per_rollout_cpu_seconds": round(one_by_one, 3),
    }


def _settings_record() -> dict[str, Any]:
    defaults = AnalysisSettings()
    return {
        "steps_percent": list(PLAN.steps),
        "step_seconds": PLAN.step_seconds,
        "interval_seconds": PLAN.interval_seconds,
        "baseline": asdict(BASELINE),
        "histogram": "Istio default buckets (0.5 ms .. 3600 s)",
        "error_rate_tolerance": asdict(defaults.error_rate),
        "latency_tolerance": asdict(defaults.latency),
        "error_rate_harm_margin": asdict(defaults.error_rate_harm),
        "latency_harm_margin": asdict(defaults.latency_harm),
        "checks": "error-rate and latency harm and non-inferiority, sample ratio",
        "on_last_step_without_harm": "promote",
    }


def run(args: argparse.Namespace) -> int:
    runs: int = args.runs
    if runs < 100:
        print("--runs must be at least 100 for a meaningful rate", file=sys.stderr)
        return 2
    started = time.monotonic()
    aa = false_rollbacks(runs, args.seed)
    drift = drift_false_rollbacks(runs, args.seed)
    report: dict[str, Any] = {
        "command": "kcanary bench aa " + shlex.join(f"--runs={runs} --seed={args.seed}".split()),
        "seed": args.seed,
        "settings": _settings_record(),
        "aa": [{k: v for k, v in asdict(row).items() if k != "promoted_passing"} for row in aa],
        "drift_stress": DRIFT_STRESS,
        "drift": [asdict(row) for row in drift],
        "boundary": boundary_validity(runs, args.seed),
        "power": power(runs, args.seed),
        "cpu": cpu_per_tick(args.seed),
    }
    report["wall_seconds"] = round(time.monotonic() - started, 1)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    (out / "aa.json").write_text(json.dumps(report, indent=2, allow_nan=False) + "\n")
    (out / "aa.md").write_text(markdown(report))
    if args.json:
        print(json.dumps(report["aa"], indent=2))
    else:
        print(markdown(report))
    # The pooled rows are a contrast, expected to exceed alpha: only kcanary's analysis counts.
    judged = aa + [row for row in drift if row.analysis == PER_PERIOD]
    return 0 if all(row.within_alpha for row in judged) else 1

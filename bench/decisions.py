"""Decision quality: kcanary against Flagger-, Argo Rollouts- and Kayenta-style analysis.

The same simulated traffic (`bench.simulator`, scenarios in `bench.decision_scenarios`) is
judged at every look by kcanary (`analysis.evaluate.judge`, the controller's code), by the
baselines (`bench.threshold_deciders`, `bench.kayenta`) and by the oracle SPRT that knows the
true effect. Per scenario and method it measures the false rollback rate (good canaries), the
miss rate (bad canaries promoted), the seconds and requests to the decision, the blast radius
(the excess failed and slow requests the canary served before its rollback, or until the end
of the rollout when promoted), when kcanary could promote a good canary (its first Pass), and
the inconclusive rate, each with a Monte-Carlo 95% interval. Results go to `decisions.md`,
`decisions.json` and `decisions_*.png` in `--out`.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from analysis.settings import AnalysisSettings
from bench.adaptive_plan import PlanOutcome, PlanRules, simulate_plan
from bench.deciders import KcanaryDecider, TrueEffectOracle
from bench.decision_report import markdown, write_figures
from bench.decision_scenarios import (
    HEADROOM,
    PLAN,
    DecisionScenario,
    Kind,
    deciders,
    default_settings,
    scenarios,
)
from bench.kayenta import KayentaDecider
from bench.monte_carlo import mean_interval, quantile_interval, wilson_interval
from bench.simulator import Decider, Outcome, simulate

DEFAULT_OUT = Path(__file__).resolve().parent / "results"
DEFAULT_RUNS = 2000
DEFAULT_SEED = 20261123
MIN_RUNS = 50


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--runs", type=int, default=DEFAULT_RUNS, help=f"rollouts per scenario (>= {MIN_RUNS})"
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed")
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help="directory for decisions.md, decisions.json and decisions_*.png",
    )
    parser.add_argument(
        "--scenario",
        action="append",
        default=None,
        metavar="NAME",
        help="only this scenario (repeatable; default: all)",
    )


def excess_per_canary_request(case: DecisionScenario) -> tuple[float, float]:
    """The canary's extra failed and extra slow (slower than stable's p99) requests, per
    request it serves, at the mean load."""
    stable, canary = case.scenario.stable, case.scenario.canary
    p99 = np.array(stable.latency.quantile(0.99))
    failed = case.scenario.canary_mean_error_rate - stable.error_rate
    slow = float(stable.latency.cdf(p99)) - float(canary.latency.cdf(p99))
    return failed, slow


def _interval(values: NDArray[Any], q: float) -> dict[str, float | None]:
    bracket = quantile_interval(values, q)
    value = float(np.quantile(values, q)) if values.size else None
    return {
        "value": value,
        "ci_low": None if bracket is None else bracket[0],
        "ci_high": None if bracket is None else bracket[1],
    }


def _rate(hits: NDArray[np.bool_]) -> dict[str, float]:
    count = int(hits.sum())
    low, high = wilson_interval(count, hits.size)
    return {"count": count, "rate": count / max(hits.size, 1), "ci_low": low, "ci_high": high}


def _row(
    case: DecisionScenario,
    decider: Decider,
    outcome: Outcome,
    plan_seconds: float,
) -> dict[str, Any]:
    rolled_back = outcome.rolled_back
    inconclusive = np.zeros_like(rolled_back)
    paused = np.zeros_like(rolled_back)  # neither promoted nor rolled back
    first_pass: NDArray[np.int64] | None = None
    if isinstance(decider, KcanaryDecider):
        # Held at the last weight while the sample-ratio check fails; otherwise promoted
        # (onInconclusive: promote), counted here when the analysis never passed. Holds at an
        # earlier step are not modelled: the simulated weights follow the plan's clock.
        paused = ~rolled_back & decider.split_mismatch
        inconclusive = ~rolled_back & ~paused & (decider.first_pass_tick < 0)
        first_pass = decider.first_pass_tick
    elif isinstance(decider, KayentaDecider):
        inconclusive = paused = ~rolled_back & decider.inconclusive()
    elif isinstance(decider, TrueEffectOracle):
        first_pass = decider.first_pass_tick
    return _fields(case, decider.name, outcome, paused, inconclusive, first_pass, plan_seconds)


def _plan_row(case: DecisionScenario, ended: PlanOutcome, plan_seconds: float) -> dict[str, Any]:
    """kcanary with its own plan: held runs are sample-ratio holds; inconclusive ones were
    promoted on the clock (onInconclusive: promote) rather than on evidence."""
    inconclusive = ended.promoted & ~ended.on_evidence
    row = _fields(
        case,
        "kcanary",
        ended.outcome,
        ended.held,
        inconclusive,
        ended.first_pass_tick,
        plan_seconds,
    )
    row["extended"] = _rate(ended.extended)
    row["promoted_on_evidence"] = _rate(ended.on_evidence)
    return row


def _fields(
    case: DecisionScenario,
    method: str,
    outcome: Outcome,
    paused: NDArray[np.bool_],
    inconclusive: NDArray[np.bool_],
    first_pass: NDArray[np.int64] | None,
    plan_seconds: float,
) -> dict[str, Any]:
    rolled_back = outcome.rolled_back
    promoted = ~rolled_back & ~paused
    failed, slow = excess_per_canary_request(case)
    blast = outcome.canary_served * (failed + slow)
    mean, low, high = mean_interval(np.asarray(blast, np.float64))
    row: dict[str, Any] = {
        "scenario": case.name,
        "kind": case.kind.value,
        "rps": case.scenario.rps,
        "method": method,
        "runs": int(rolled_back.size),
        "rolled_back": _rate(rolled_back),
        "false_rollback": _rate(rolled_back) if case.kind is Kind.GOOD else None,
        "miss": _rate(promoted) if case.kind is Kind.BAD else None,
        "inconclusive": _rate(inconclusive),
        "held": _rate(paused),
        "seconds_to_decision": {
            "median": _interval(outcome.seconds, 0.5),
            "p90": _interval(outcome.seconds, 0.9),
        },
        "requests_to_decision": {
            "median": _interval(outcome.total_requests, 0.5),
            "p90": _interval(outcome.total_requests, 0.9),
        },
        "seconds_to_rollback": {
            "median": _interval(outcome.seconds[rolled_back], 0.5),
            "p90": _interval(outcome.seconds[rolled_back], 0.9),
        },
        "blast_radius": {
            "mean": mean,
            "ci_low": low,
            "ci_high": high,
            "p90": float(np.quantile(blast, 0.9)),
            "excess_failed_per_canary_request": failed,
            "excess_slow_per_canary_request": slow,
        },
        "seconds_to_promote": {
            "median": _interval(outcome.seconds[promoted], 0.5),
            "p90": _interval(outcome.seconds[promoted], 0.9),
        }
        if case.kind is Kind.GOOD
        else None,
        "seconds_to_pass": None,
    }
    if first_pass is not None:
        passed = first_pass >= 0
        seconds = (first_pass[passed] + 1) * PLAN.interval_seconds
        row["seconds_to_pass"] = {
            "share": float(passed.mean()),
            "median": _interval(seconds.astype(np.float64), 0.5),
            "p90": _interval(seconds.astype(np.float64), 0.9),
        }
    row["plan_seconds"] = plan_seconds
    return row


def measure(
    case: DecisionScenario,
    runs: int,
    seed: int,
    index: int,
    settings: AnalysisSettings,
    rules: PlanRules,
) -> list[dict[str, Any]]:
    """One scenario: kcanary with its own plan, then every method on the same traffic of the
    fixed plan (kcanary's analysis among them as `kcanary-fixed-plan`)."""
    methods = deciders(case, settings)
    outcomes = simulate(case.scenario, methods, runs, np.random.default_rng([seed, index]))
    plan_seconds = len(PLAN.tick_weights()) * PLAN.interval_seconds
    ended = simulate_plan(
        case.scenario, settings, rules, runs, np.random.default_rng([seed, index, 1])
    )
    rows = [_plan_row(case, ended, plan_seconds)]
    return rows + [_row(case, d, outcomes[d.name], plan_seconds) for d in methods]


def kcanary_within_alpha(rows: list[dict[str, Any]], alpha: float) -> bool:
    """kcanary's false rollback rate is at most alpha plus 3 Monte-Carlo standard errors in
    every good scenario."""
    for row in rows:
        if row["method"].startswith("kcanary") and row["false_rollback"] is not None:
            runs = row["runs"]
            if row["false_rollback"]["rate"] > alpha + 3 * (alpha * (1 - alpha) / runs) ** 0.5:
                return False
    return True


def run(args: argparse.Namespace) -> int:
    runs: int = args.runs
    if runs < MIN_RUNS:
        print(f"--runs must be at least {MIN_RUNS} for meaningful rates", file=sys.stderr)
        return 2
    out: Path = args.out
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        print(f"cannot write results to {out}: {error}; pass another --out", file=sys.stderr)
        return 2
    cases = scenarios()
    # Each scenario draws from its own stream, keyed by its place in the full catalogue, so a
    # run of some scenarios reproduces their rows in the full run.
    stream = {case.name: index for index, case in enumerate(cases)}
    if args.scenario:
        known = {case.name for case in cases}
        unknown = [name for name in args.scenario if name not in known]
        if unknown:
            print(
                f"unknown scenario {', '.join(map(repr, unknown))}; choose from: "
                + ", ".join(repr(case.name) for case in cases),
                file=sys.stderr,
            )
            return 2
        cases = [case for case in cases if case.name in args.scenario]
    settings = default_settings()
    rules = PlanRules.defaults()
    started = time.monotonic()
    rows: list[dict[str, Any]] = []
    for number, case in enumerate(cases, start=1):
        rows += measure(case, runs, args.seed, stream[case.name], settings, rules)
        elapsed = time.monotonic() - started
        print(f"[{number}/{len(cases)}] {case.name}: {elapsed:.0f} s", file=sys.stderr, flush=True)
    report: dict[str, Any] = {
        "command": "kcanary bench decisions "
        + shlex.join(
            [f"--runs={runs}", f"--seed={args.seed}"]
            + [f"--scenario={name}" for name in args.scenario or []]
        ),
        "seed": args.seed,
        "runs": runs,
        "settings": {
            "steps_percent": list(PLAN.steps),
            "step_seconds": PLAN.step_seconds,
            "interval_seconds": PLAN.interval_seconds,
            "kcanary": {
                "alpha": settings.alpha,
                "error_rate_tolerance": asdict(settings.error_rate),
                "latency_tolerance": asdict(settings.latency),
                "error_rate_harm_margin": asdict(settings.error_rate_harm),
                "latency_harm_margin": asdict(settings.latency_harm),
                "plan": rules.describe(),
            },
            "threshold_headroom": HEADROOM,
        },
        "scenarios": [
            {
                "name": case.name,
                "kind": case.kind.value,
                "rps": case.scenario.rps,
                "note": case.note,
                "control": case.control,
                "canary_error_rate": case.scenario.canary_mean_error_rate,
                "canary_p50_ms": round(case.scenario.canary.latency.quantile(0.5) * 1000, 1),
                "canary_p99_ms": round(case.scenario.canary.latency.quantile(0.99) * 1000, 1),
            }
            for case in cases
        ],
        "rows": rows,
    }
    report["wall_seconds"] = round(time.monotonic() - started, 1)
    report["kcanary_within_alpha"] = kcanary_within_alpha(rows, settings.alpha)
    (out / "decisions.json").write_text(json.dumps(report, indent=2, allow_nan=False) + "\n")
    text = markdown(report)
    (out / "decisions.md").write_text(text)
    write_figures(report, out)
    print(text)
    return 0 if report["kcanary_within_alpha"] else 1

"""How the harm margin trades misses against false rollbacks and time: the curve behind the default.

A harm margin says how much worse than stable a canary may be *shown* to be before kcanary rolls
it back. False rollbacks stay within alpha for any margin >= 0 (a canary as good as stable lies
inside every such null), so the margin only buys something on canaries that are worse than
stable but acceptable to the user, and costs power on the regressions that are not. This
benchmark scales the harm margin from 0 to the non-inferiority tolerance (`max(0.5 pp, 20%)`)
and measures, with kcanary's own plan (`bench.adaptive_plan`) at every other default: the miss
rate of a doubled error rate and of a tail-only latency regression at 50 req/s, the rollback rate
of a canary at the tolerance (errors x1.5), the false rollback rate and the median and p90 time
to promote a good canary. Results go to `margins.md`, `margins.json` and `margins.png`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from analysis.settings import AnalysisSettings, Tolerance
from bench.adaptive_plan import PlanRules, simulate_plan
from bench.decision_scenarios import default_settings, scenarios
from bench.monte_carlo import wilson_interval

DEFAULT_OUT = Path(__file__).resolve().parent / "results"
SCALES = (0.0, 0.25, 0.5, 0.75, 1.0)
"""Harm margins as fractions of the non-inferiority tolerance: 0 (the default) to equal."""
MEASURED = ("A/A", "errors x1.5", "errors x2", "p99-only", "errors x2, diurnal")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--runs", type=int, default=1000, help="rollouts per point (>= 50)")
    parser.add_argument("--seed", type=int, default=20261207, help="random seed")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="results directory")


def _scaled(settings: AnalysisSettings, scale: float) -> AnalysisSettings:
    def margin(tolerance: Tolerance) -> Tolerance:
        return Tolerance(absolute=tolerance.absolute * scale, relative=tolerance.relative * scale)

    return replace(
        settings,
        error_rate_harm=margin(settings.error_rate),
        latency_harm=margin(settings.latency),
    )


def _point(scale: float, runs: int, seed: int) -> dict[str, Any]:
    settings = _scaled(default_settings(), scale)
    rules = PlanRules.defaults()
    cases = {case.name: case for case in scenarios()}
    point: dict[str, Any] = {"scale": scale}
    for index, name in enumerate(MEASURED):
        ended = simulate_plan(
            cases[name].scenario, settings, rules, runs, np.random.default_rng([seed, index])
        )
        rolled = ended.outcome.rolled_back
        count = int(rolled.sum())
        low, high = wilson_interval(count, runs)
        promoted_seconds = ended.outcome.seconds[ended.promoted]
        point[name] = {
            "rolled_back": count / runs,
            "ci": [low, high],
            "promote_median_s": float(np.median(promoted_seconds))
            if promoted_seconds.size
            else None,
            "promote_p90_s": float(np.quantile(promoted_seconds, 0.9))
            if promoted_seconds.size
            else None,
        }
    return point


def _markdown(report: dict[str, Any]) -> str:
    lines = [
        "# The harm margin: misses against time and false rollbacks",
        "",
        f"Produced by `{report['command']}` in {report['wall_seconds']} s; {report['runs']} "
        "simulated rollouts per point, kcanary's own plan and every other default. The harm "
        "margin is the non-inferiority tolerance `max(0.5 pp, 20%)` times the scale.",
        "",
        "| harm margin scale | A/A false rollbacks | A/A promoted, median (p90) s | errors x1.5 "
        "rolled back | errors x2 missed | p99-only missed | errors x2, diurnal missed |",
        "|---|---|---|---|---|---|---|",
    ]
    for point in report["points"]:
        aa = point["A/A"]
        lines.append(
            f"| {point['scale']:g} | {100 * aa['rolled_back']:.1f}% | "
            f"{aa['promote_median_s']:.0f} ({aa['promote_p90_s']:.0f}) | "
            f"{100 * point['errors x1.5']['rolled_back']:.1f}% | "
            f"{100 * (1 - point['errors x2']['rolled_back']):.1f}% | "
            f"{100 * (1 - point['p99-only']['rolled_back']):.1f}% | "
            f"{100 * (1 - point['errors x2, diurnal']['rolled_back']):.1f}% |"
        )
    lines += ["", "![misses and rollbacks against the harm margin](margins.png)", ""]
    return "\n".join(lines)


def _figure(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scales = [p["scale"] for p in report["points"]]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for name, label in (
        ("errors x2", "errors x2 missed"),
        ("p99-only", "p99-only missed"),
        ("errors x2, diurnal", "errors x2, diurnal missed"),
    ):
        left.plot(
            scales,
            [100 * (1 - p[name]["rolled_back"]) for p in report["points"]],
            "o-",
            label=label,
        )
    left.plot(
        scales,
        [100 * p["errors x1.5"]["rolled_back"] for p in report["points"]],
        "s--",
        label="errors x1.5 (at the tolerance) rolled back",
    )
    left.plot(
        scales,
        [100 * p["A/A"]["rolled_back"] for p in report["points"]],
        "k^:",
        label="A/A rolled back",
    )
    left.set_xlabel("harm margin / non-inferiority tolerance")
    left.set_ylabel("% of rollouts")
    left.legend(fontsize=8)
    left.grid(alpha=0.3)
    right.plot(
        scales, [p["A/A"]["promote_median_s"] for p in report["points"]], "o-", label="median"
    )
    right.plot(scales, [p["A/A"]["promote_p90_s"] for p in report["points"]], "s--", label="p90")
    right.set_xlabel("harm margin / non-inferiority tolerance")
    right.set_ylabel("seconds to promote a good canary (50 req/s)")
    right.legend(fontsize=8)
    right.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def run(args: argparse.Namespace) -> int:
    if args.runs < 50:
        print("--runs must be at least 50 for meaningful rates", file=sys.stderr)
        return 2
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    points = []
    for number, scale in enumerate(SCALES, start=1):
        points.append(_point(scale, args.runs, args.seed))
        print(
            f"[{number}/{len(SCALES)}] margin x{scale:g}: {time.monotonic() - started:.0f} s",
            file=sys.stderr,
            flush=True,
        )
    report = {
        "command": f"kcanary bench margins --runs={args.runs} --seed={args.seed}",
        "runs": args.runs,
        "seed": args.seed,
        "points": points,
        "wall_seconds": round(time.monotonic() - started, 1),
    }
    (out / "margins.json").write_text(json.dumps(report, indent=2) + "\n")
    text = _markdown(report)
    (out / "margins.md").write_text(text)
    _figure(report, out / "margins.png")
    print(text)
    return 0

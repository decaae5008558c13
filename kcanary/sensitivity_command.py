"""`kcanary sensitivity --rps R`: what a rollout plan can catch at this traffic, before using it.

For a request rate, stable's error rate and a plan (steps, step duration, interval), it prints
the smallest error-rate ratio, p50 slowdown and p99-only slowdown that the analysis (the
strategy's defaults, as the controller maps them) rolls back before the plan ends in 90% of
simulated rollouts, and when a good canary is promoted. The simulation is `bench.sensitivity`'s;
the plan model it used is printed with the figures.

Durations are written as in the strategy (`30s`, `2m`); a bare number is refused for the same
reason as in annotations. Every bad input is one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from kcanary.command_errors import CommandError, reports_errors
from rollout.durations import DurationError, format_duration, parse_duration
from rollout.steps import PauseStep, StepsError, parse_steps
from rollout.strategy import Strategy

if TYPE_CHECKING:
    from bench.sensitivity import Sensitivity

BAD_INPUT = 2
MIN_RUNS = 20
DEFAULT_STEPS = "10,25,50"
DEFAULT_STEP_DURATION = "2m"
DEFAULT_INTERVAL = "30s"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "sensitivity",
        help="the smallest regressions a rollout plan catches at a given traffic",
        description="The smallest error-rate ratio, p50 slowdown and p99-only slowdown that "
        "kcanary's analysis (the strategy's defaults) rolls back before the plan ends in 90%% "
        "of simulated rollouts at this traffic, and when a good canary is promoted.",
    )
    # Every value is read as text and checked in `run`, so a bad one gets the same one-line
    # message and exit code as every other.
    parser.add_argument("--rps", metavar="R", help="requests per second (required)")
    parser.add_argument(
        "--error-rate",
        default="1",
        metavar="P",
        help="stable's error rate in percent, in (0, 100) (default 1)",
    )
    parser.add_argument(
        "--steps", default=DEFAULT_STEPS, help=f"canary weights (default {DEFAULT_STEPS})"
    )
    parser.add_argument(
        "--step-duration",
        default=DEFAULT_STEP_DURATION,
        metavar="D",
        help=f"time at each weight, e.g. 2m (default {DEFAULT_STEP_DURATION})",
    )
    parser.add_argument(
        "--interval",
        default=DEFAULT_INTERVAL,
        metavar="D",
        help=f"how often analysis looks, e.g. 30s (default {DEFAULT_INTERVAL})",
    )
    parser.add_argument(
        "--runs", default=None, metavar="N", help="simulated rollouts per point (default 200)"
    )
    parser.add_argument("--seed", default=None, metavar="S", help="random seed")
    parser.add_argument("-o", "--output", default="text", help="text | json (default text)")
    parser.set_defaults(func=run)


@dataclass(frozen=True)
class _Inputs:
    rps: float
    stable_error_rate: float  # a fraction
    strategy: Strategy
    runs: int
    seed: int
    json: bool


def _number(flag: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise CommandError(f"{flag} {text!r} is not a number", BAD_INPUT) from None
    if not math.isfinite(value):
        raise CommandError(f"{flag} {text!r} must be a finite number", BAD_INPUT)
    return value


def _whole(flag: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise CommandError(f"{flag} {text!r} is not a whole number", BAD_INPUT) from None


def _duration(flag: str, text: str) -> timedelta:
    try:
        return parse_duration(text)
    except DurationError as error:
        raise CommandError(f"{flag}: {error}", BAD_INPUT) from None


def _strategy(steps_text: str, step_duration: timedelta, interval: timedelta) -> Strategy:
    try:
        steps = parse_steps(steps_text)
    except StepsError as error:
        raise CommandError(f"--steps {steps_text!r}: {error}", BAD_INPUT) from None
    if any(isinstance(step, PauseStep) for step in steps):
        raise CommandError(
            f"--steps {steps_text!r}: a pause waits for a person, which cannot be simulated; "
            "give the weights only",
            BAD_INPUT,
        )
    try:
        return Strategy.model_validate(
            {
                "traffic": {"mode": "istio"},
                "steps": steps,
                "stepDuration": step_duration,
                "interval": interval,
            }
        )
    except ValidationError as error:
        first = error.errors()[0]
        flag = {"stepDuration": "--step-duration", "step_duration": "--step-duration"}.get(
            str(first["loc"][0]), f"--{first['loc'][0]}"
        )
        message = str(first["msg"]).removeprefix("Value error, ")
        raise CommandError(f"{flag}: {message}", BAD_INPUT) from None


def _inputs(args: argparse.Namespace) -> _Inputs:
    from bench.sensitivity import DEFAULT_RUNS, DEFAULT_SEED

    if args.rps is None:
        raise CommandError("--rps is missing: give the request rate, e.g. --rps 50", BAD_INPUT)
    rps = _number("--rps", args.rps)
    if rps <= 0:
        raise CommandError(f"--rps {args.rps}: give a request rate above 0, e.g. 50", BAD_INPUT)
    percent = _number("--error-rate", args.error_rate)
    if not 0 < percent < 100:
        raise CommandError(
            f"--error-rate {args.error_rate}: give stable's error rate in percent, above 0 and "
            "below 100, e.g. 1",
            BAD_INPUT,
        )
    step_duration = _duration("--step-duration", args.step_duration)
    interval = _duration("--interval", args.interval)
    strategy = _strategy(args.steps, step_duration, interval)
    runs = DEFAULT_RUNS if args.runs is None else _whole("--runs", args.runs)
    if runs < MIN_RUNS:
        raise CommandError(
            f"--runs {runs}: give at least {MIN_RUNS}, or a 90% catch rate cannot be told apart",
            BAD_INPUT,
        )
    seed = DEFAULT_SEED if args.seed is None else _whole("--seed", args.seed)
    if seed < 0:
        raise CommandError(f"--seed {seed}: give a whole number >= 0", BAD_INPUT)
    if args.output not in ("text", "json"):
        raise CommandError(f"-o {args.output!r}: use text or json", BAD_INPUT)
    return _Inputs(rps, percent / 100.0, strategy, runs, seed, args.output == "json")


@reports_errors
def run(args: argparse.Namespace) -> int:
    inputs = _inputs(args)
    # Imported here: numpy and scipy cost every other command time at start-up.
    from bench.sensitivity import sensitivity

    started = time.process_time()
    found = sensitivity(
        inputs.strategy,
        rps=inputs.rps,
        stable_error_rate=inputs.stable_error_rate,
        runs=inputs.runs,
        seed=inputs.seed,
    )
    record = report(found, inputs.strategy)
    record["cpu_seconds"] = round(time.process_time() - started, 1)
    print(json.dumps(record, indent=2) if inputs.json else text(record))
    return 0


def report(found: Sensitivity, strategy: Strategy) -> dict[str, Any]:
    """The figures as a plain document (what `-o json` prints)."""
    from bench.sensitivity import CATCH_PROBABILITY, SIMULATED_PLAN

    return {
        "rps": found.rps,
        "stable_error_rate_percent": found.stable_error_rate * 100,
        "plan": {
            "steps": list(found.plan.steps),
            "step_duration": format_duration(strategy.step_duration),
            "interval": format_duration(strategy.interval),
            "simulated": SIMULATED_PLAN,
        },
        "analysis": "the strategy's defaults",
        "catch_probability": CATCH_PROBABILITY,
        "runs": found.runs,
        "seed": found.seed,
        "smallest_caught": {
            d.axis: {
                "size": d.size,
                "catch_rate": d.catch_rate,
                "largest_searched": d.largest,
                "meaning": d.meaning,
            }
            for d in found.detectable
        },
        "good_canary": {
            "median_seconds_to_promotion": found.promotion.median_seconds,
            "false_rollback_rate": found.promotion.false_rollback_rate,
        },
    }


_AXIS_LINES = {
    "error_rate": ("error rate", "x{size:.2f} stable's"),
    "p50": ("p50 slowdown", "p50 x{size:.2f}"),
    "p99_only": ("p99-only", "p99 x{size:.2f}"),
}


def text(record: dict[str, Any]) -> str:
    plan = record["plan"]
    steps = ",".join(str(weight) for weight in plan["steps"])
    lines = [
        f"at {record['rps']:g} req/s, stable failing {record['stable_error_rate_percent']:g}% "
        f"of requests; steps {steps}, {plan['step_duration']} each, a look every "
        f"{plan['interval']}; analysis: {record['analysis']}",
        f"plan simulated: {plan['simulated']}",
        f"smallest regressions rolled back before the plan ends in "
        f"{record['catch_probability']:.0%} of {record['runs']} simulated rollouts "
        f"(seed {record['seed']}):",
    ]
    for axis, found in record["smallest_caught"].items():
        title, size_format = _AXIS_LINES[axis]
        if found["size"] is None:
            size = "none"
            what = (
                f"not even {size_format.format(size=found['largest_searched'])} "
                f"({found['meaning']}): caught in {found['catch_rate']:.0%}"
            )
        else:
            size = size_format.format(size=found["size"])
            what = f"{found['meaning']} (caught in {found['catch_rate']:.0%})"
        lines.append(f"  {title:<13} {size:<16} {what}")
    good = record["good_canary"]
    median = good["median_seconds_to_promotion"]
    promoted = (
        f"promoted after {format_duration(timedelta(seconds=median))} (median)"
        if median is not None
        else "never promoted"
    )
    lines.append(f"good canary (A/A): {promoted}, rolled back in {good['false_rollback_rate']:.1%}")
    lines.append(f"({record['cpu_seconds']:g} s of CPU)")
    return "\n".join(lines)

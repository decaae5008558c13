"""What a rollout plan can catch at a given traffic: the smallest regressions, by simulation.

For one request rate, stable error rate and plan (steps, step duration, interval), judged by the
analysis the controller would run with the strategy's defaults, it finds the smallest canary
regression of each kind that is rolled back before the plan ends in 90% of rollouts:

- **error rate**: the canary fails `ratio` times as often as stable;
- **p50**: every request of the canary is `factor` times slower (its median too);
- **p99-only**: a small share of the canary's requests (`TAIL.tail_fraction` of them, the
  decision benchmark's p99-only scenario) is slower by a factor, the rest unchanged; the size is
  given as the factor by which the canary's p99 grows;

and how long a good canary (A/A) takes to be promoted. The traffic is the virtual-time
simulator's (`bench.simulator`), judged by `bench.deciders.KcanaryDecider` with the settings the
controller maps from a `Strategy` (`reconcile.analysis_run.analysis_settings`), so the figures
follow whatever the defaults become. Stable serves as in the decision benchmark
(`bench.decision_scenarios.BASELINE`) at the error rate asked for.

Each smallest effect is found by bisection on the catch rate over the effect's size. Every
point simulates from the same seed (common random numbers): the traffic and stable's draws are
the same at every point, so the catch rate moves with the effect rather than with the noise,
and the search gives the same answer each time it runs.

How the plan itself unfolds (when steps end, when the rollout is promoted) is
`simulate_plan`'s job alone, and `SIMULATED_PLAN` says in words what it models.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from analysis.settings import AnalysisSettings
from analysis.templates import builtin_template
from bench import adaptive_plan
from bench.adaptive_plan import PlanOutcome, PlanRules
from bench.decision_scenarios import BASELINE, TAIL
from bench.simulator import Behaviour, Effect, Plan, Scenario
from reconcile.analysis_run import analysis_settings
from rollout.annotations import InvalidStrategy
from rollout.strategy import Strategy

CATCH_PROBABILITY = 0.9
DEFAULT_RUNS = 200
DEFAULT_SEED = 20261123
SMALLEST_EXCESS = 1e-3
"""The search starts at effects 0.1% above none..."""
PRECISION = 1.05
"""...and stops when the effect's excess over none is known to 5%."""

SIMULATED_PLAN = (
    "kcanary's plan: each weight for its step duration or until non-inferiority is shown "
    "(advanceOnPass), a look every interval, the warm-up left out of the counts, an undecided "
    "last step extended while the evidence leans towards harm (extendInconclusive), then "
    "onInconclusive"
)
"""What `simulate_plan` models, printed with every result."""


def simulate_plan(
    scenario: Scenario, settings: AnalysisSettings, rules: PlanRules, runs: int, seed: int
) -> PlanOutcome:
    """Simulate `runs` rollouts of `scenario` under the plan's rules (`SIMULATED_PLAN`), every
    point of a search from the same seed."""
    return adaptive_plan.simulate_plan(scenario, settings, rules, runs, np.random.default_rng(seed))


@dataclass(frozen=True)
class Axis:
    """One kind of regression: how a size becomes the canary's effect, and how it reads."""

    key: str
    effect: Callable[[float], Effect]
    largest: Callable[[Behaviour], float]
    """The largest size searched, for a given stable."""
    shown: Callable[[Behaviour, float], float]
    """The size as printed (the p99's growth for p99-only)."""
    meaning: Callable[[Behaviour, float], str]


def _error_meaning(stable: Behaviour, ratio: float) -> str:
    return (
        f"canary failing {_percent(stable.error_rate * ratio)} of requests against "
        f"{_percent(stable.error_rate)}"
    )


def _p99_growth(stable: Behaviour, tail_factor: float) -> float:
    canary = _tail(tail_factor).applied_to(stable)
    return canary.latency.quantile(0.99) / stable.latency.quantile(0.99)


def _tail(tail_factor: float) -> Effect:
    return replace(TAIL, tail_factor=tail_factor)


AXES: tuple[Axis, ...] = (
    Axis(
        key="error_rate",
        effect=lambda ratio: Effect(error_ratio=ratio),
        largest=lambda stable: min(100.0, 1.0 / stable.error_rate),
        shown=lambda _stable, ratio: ratio,
        meaning=_error_meaning,
    ),
    Axis(
        key="p50",
        effect=lambda factor: Effect(median_factor=factor),
        largest=lambda _stable: 10.0,
        shown=lambda _stable, factor: factor,
        meaning=lambda _stable, factor: f"every canary request {factor:.3g}x slower",
    ),
    Axis(
        key="p99_only",
        effect=_tail,
        largest=lambda _stable: 100.0,
        shown=_p99_growth,
        meaning=lambda stable, factor: (
            f"{_percent(TAIL.tail_fraction)} of canary requests {factor:.3g}x slower, "
            f"p99 {stable.latency.quantile(0.99) * 1000:.0f} ms -> "
            f"{stable.latency.quantile(0.99) * _p99_growth(stable, factor) * 1000:.0f} ms"
        ),
    ),
)


@dataclass(frozen=True)
class Detectable:
    """The smallest size of one kind of regression caught with `CATCH_PROBABILITY`."""

    axis: str
    size: float | None
    """On the printed scale (error ratio, p50 factor, p99 factor); None: not even the largest."""
    catch_rate: float
    """Share of rollouts rolled back at `size` (at the largest size when None)."""
    largest: float
    """The largest size searched, on the printed scale."""
    meaning: str


@dataclass(frozen=True)
class Promotion:
    """A good canary (A/A): when it is promoted, and how often it is rolled back instead."""

    median_seconds: float | None
    false_rollback_rate: float


@dataclass(frozen=True)
class Sensitivity:
    rps: float
    stable_error_rate: float
    plan: Plan
    runs: int
    seed: int
    detectable: tuple[Detectable, ...]
    promotion: Promotion


def settings_for(strategy: Strategy) -> AnalysisSettings:
    """The analysis the controller would run for `strategy` on Istio's metrics (the simulator
    draws Istio's buckets)."""
    settings = analysis_settings(strategy, builtin_template("istio"))
    if isinstance(settings, InvalidStrategy):
        raise ValueError(settings.message)
    return settings


def plan_of(strategy: Strategy) -> Plan:
    return Plan(
        steps=strategy.weights,
        step_seconds=strategy.step_duration.total_seconds(),
        interval_seconds=strategy.interval.total_seconds(),
    )


def _caught(
    stable: Behaviour,
    effect: Effect,
    *,
    rps: float,
    plan: Plan,
    settings: AnalysisSettings,
    rules: PlanRules,
    runs: int,
    seed: int,
) -> float:
    """The share of simulated rollouts rolled back before the plan ends."""
    canary = effect.applied_to(stable)
    scenario = Scenario("sensitivity", rps, stable=stable, canary=canary, plan=plan)
    return float(simulate_plan(scenario, settings, rules, runs, seed).outcome.rolled_back.mean())


def smallest_detectable(
    axis: Axis,
    *,
    stable: Behaviour,
    rps: float,
    plan: Plan,
    settings: AnalysisSettings,
    rules: PlanRules,
    runs: int,
    seed: int,
) -> Detectable:
    """Bisection on the size's excess over none (log scale) for the least caught size."""

    def rate_at(size: float) -> float:
        return _caught(
            stable,
            axis.effect(size),
            rps=rps,
            plan=plan,
            settings=settings,
            rules=rules,
            runs=runs,
            seed=seed,
        )

    largest = axis.largest(stable)
    top_rate = rate_at(largest)
    if top_rate < CATCH_PROBABILITY:
        shown = axis.shown(stable, largest)
        return Detectable(axis.key, None, top_rate, shown, axis.meaning(stable, largest))
    low, high, high_rate = SMALLEST_EXCESS, largest - 1.0, top_rate
    while high / low > PRECISION:
        middle = math.sqrt(low * high)
        rate = rate_at(1.0 + middle)
        if rate >= CATCH_PROBABILITY:
            high, high_rate = middle, rate
        else:
            low = middle
    size = 1.0 + high
    return Detectable(
        axis.key,
        axis.shown(stable, size),
        high_rate,
        axis.shown(stable, largest),
        axis.meaning(stable, size),
    )


def good_canary(
    stable: Behaviour,
    rps: float,
    plan: Plan,
    settings: AnalysisSettings,
    rules: PlanRules,
    *,
    runs: int,
    seed: int,
) -> Promotion:
    scenario = Scenario("A/A", rps, stable=stable, canary=stable, plan=plan)
    ended = simulate_plan(scenario, settings, rules, runs, seed)
    promoted = ended.outcome.seconds[ended.promoted]
    median = float(np.median(promoted)) if promoted.size else None
    return Promotion(median, float(ended.outcome.rolled_back.mean()))


def sensitivity(
    strategy: Strategy, *, rps: float, stable_error_rate: float, runs: int, seed: int
) -> Sensitivity:
    """Everything `kcanary sensitivity` prints, for `strategy`'s plan and analysis."""
    settings = settings_for(strategy)
    plan = plan_of(strategy)
    rules = PlanRules.of(strategy)
    stable = Behaviour(error_rate=stable_error_rate, latency=BASELINE.latency)
    found = tuple(
        smallest_detectable(
            axis,
            stable=stable,
            rps=rps,
            plan=plan,
            settings=settings,
            rules=rules,
            runs=runs,
            seed=seed,
        )
        for axis in AXES
    )
    promotion = good_canary(stable, rps, plan, settings, rules, runs=runs, seed=seed)
    return Sensitivity(rps, stable_error_rate, plan, runs, seed, found, promotion)


def _percent(fraction: float) -> str:
    return f"{fraction * 100:.3g}%"

"""kcanary's own rollout plan in the simulator: steps that end on evidence.

`bench.simulator.simulate` walks a fixed plan, the same for every method, so that every method
judges the same counts. The controller does more with its analysis (rollout/progressing.py,
rollout/extension.py): a step ends early once the canary is shown non-inferior (`advanceOnPass`),
an undecided last step is extended at its weight (`extendInconclusive`) before `onInconclusive`
applies, the first seconds after the canary starts serving are left out of both revisions'
counts (`warmup`), and a sample-ratio mismatch holds the step. Those make the weights of each
run depend on its own data, so this module simulates them run by run: each run's canary share
follows its own step, and the analysis (`analysis.evaluate.judge`, the controller's code) sees
each run's counts cut into its own periods of constant weight.

The traffic model is `bench.simulator`'s (the same draws for the same scenario), but not the
same random numbers as the fixed plan's: once a run's step ends early its weights differ.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from analysis.count_arrays import CountArrays, Period
from analysis.evaluate import judge
from analysis.settings import AnalysisSettings
from analysis.verdict import CODE_OF, Role, Verdict
from bench.simulator import Arm, IntArray, Outcome, Scenario, draw_canary, draw_stable
from rollout.extension import EXTEND_FROM_EVALUE
from rollout.strategy import InconclusivePolicy, Strategy

PASS, FAIL, NO_DATA = CODE_OF[Verdict.PASS], CODE_OF[Verdict.FAIL], CODE_OF[Verdict.NO_DATA]


@dataclass(frozen=True)
class PlanRules:
    """The strategy fields that shape the plan beyond its steps (their defaults by default)."""

    advance_on_pass: bool
    extension_seconds: float
    warmup_seconds: float
    on_inconclusive: InconclusivePolicy = InconclusivePolicy.PROMOTE
    extend_from_evalue: float = EXTEND_FROM_EVALUE
    """An undecided last step is extended only while a rollback check's e-value is at least
    this (the evidence leans towards harm: the controller's rule); 0 extends every one."""
    hold_limit_seconds: float = 600.0
    """How long the simulation follows a run held by a sample-ratio mismatch (a person would
    act); it ends held."""

    @classmethod
    def defaults(cls) -> PlanRules:
        return cls.of(Strategy.model_validate({"traffic": {"mode": "istio"}}))

    @classmethod
    def of(cls, strategy: Strategy) -> PlanRules:
        """The rules `strategy` sets, as the controller applies them."""
        return cls(
            advance_on_pass=strategy.advance_on_pass,
            extension_seconds=strategy.extend_inconclusive.total_seconds(),
            warmup_seconds=strategy.warmup.total_seconds(),
            on_inconclusive=strategy.on_inconclusive,
        )

    def describe(self) -> str:
        early = "steps end early on a Pass" if self.advance_on_pass else "steps last their time"
        return (
            f"{early}; an undecided last step extended up to {self.extension_seconds:g} s; "
            f"the first {self.warmup_seconds:g} s left out of the counts; then onInconclusive: "
            f"{self.on_inconclusive.value}"
        )


@dataclass(frozen=True)
class PlanOutcome:
    """Per run: how the plan ended. `outcome` is the simulator's (promotions at their own
    time, not at the fixed plan's end); `held` runs ended neither promoted nor rolled back."""

    outcome: Outcome
    promoted: NDArray[np.bool_]
    held: NDArray[np.bool_]
    on_evidence: NDArray[np.bool_]  # promoted on a Pass (not on the clock)
    extended: NDArray[np.bool_]  # the last step was extended
    first_pass_tick: IntArray


def _zero_arm(runs: int, buckets: int) -> Arm:
    zero = np.zeros(runs, np.int64)
    return Arm(zero, zero, np.zeros((runs, buckets), np.int64))


def _masked(arm: Arm, mask: NDArray[np.bool_]) -> Arm:
    return Arm(
        np.where(mask, arm.requests, 0),
        np.where(mask, arm.failures, 0),
        np.where(mask[:, None], arm.cumulative, 0),
    )


def _thinned(rng: np.random.Generator, arm: Arm, keep: float) -> Arm:
    """The part of an interval's counts the analysis sees when its first part is left out."""
    if keep >= 1.0:
        return arm
    if keep <= 0.0:
        return _masked(arm, np.zeros(arm.requests.shape, bool))
    buckets = np.diff(arm.cumulative, axis=-1, prepend=0)
    kept = np.asarray(rng.binomial(buckets, keep), np.int64)
    failures = np.minimum(np.asarray(rng.binomial(arm.failures, keep), np.int64), kept.sum(-1))
    return Arm(kept.sum(axis=-1), failures, np.cumsum(kept, axis=-1))


def _plus(a: Arm, b: Arm) -> Arm:
    return Arm(a.requests + b.requests, a.failures + b.failures, a.cumulative + b.cumulative)


def _arrays(arm: Arm, bounds: tuple[float, ...]) -> CountArrays:
    return CountArrays(arm.requests, arm.failures, bounds, arm.cumulative)


def simulate_plan(
    scenario: Scenario,
    settings: AnalysisSettings,
    rules: PlanRules,
    runs: int,
    rng: np.random.Generator,
) -> PlanOutcome:
    """Run `runs` rollouts of `scenario` under kcanary's plan rules and analysis."""
    plan = scenario.plan
    interval = plan.interval_seconds
    steps = len(plan.steps)
    weights = np.array(plan.steps, np.float64) / 100.0
    step_ticks = max(1, math.ceil(plan.step_seconds / interval - 1e-9))
    extension_ticks = math.ceil(rules.extension_seconds / interval - 1e-9)
    horizon = steps * step_ticks + extension_ticks + math.ceil(rules.hold_limit_seconds / interval)
    buckets = len(scenario.bounds)

    step = np.zeros(runs, np.int64)
    step_start = np.zeros(runs, np.int64)  # the tick at which the step started
    extension_start = np.full(runs, -1, np.int64)
    active = np.ones(runs, bool)
    rolled_back = np.zeros(runs, bool)
    promoted = np.zeros(runs, bool)
    on_evidence = np.zeros(runs, bool)
    decided_tick = np.full(runs, -1, np.int64)
    first_pass = np.full(runs, -1, np.int64)
    last_data = np.full(runs, rules.warmup_seconds)
    periods = [(_zero_arm(runs, buckets), _zero_arm(runs, buckets)) for _ in range(steps)]
    observed_total = np.zeros(runs, np.int64)
    observed_canary = np.zeros(runs, np.int64)
    served = np.zeros(runs, np.int64)
    at_decision = np.zeros((3, runs), np.int64)  # total, canary (observed), canary served

    for tick in range(horizon):
        if not active.any():
            break
        start = tick * interval
        load = scenario.load(start + interval / 2)
        total = rng.poisson(scenario.rps * interval * load, runs).astype(np.int64)
        share = np.clip(weights[step] * scenario.canary_share_factor, 0.0, 1.0)
        n_canary = rng.binomial(total, share).astype(np.int64)
        lost_s = lost_c = None
        if scenario.restarts is not None:
            restarts = scenario.restarts
            lost_s = restarts.lost_fraction(rng, restarts.stable_probability, runs, interval)
            lost_c = restarts.lost_fraction(rng, restarts.canary_probability, runs, interval)
        add_s = draw_stable(rng, scenario, total - n_canary, load, lost_s)
        add_c = draw_canary(rng, scenario, n_canary, start, load, lost_c)
        served = served + np.where(active, n_canary, 0)
        observed_total = observed_total + add_s.requests + add_c.requests
        observed_canary = observed_canary + add_c.requests
        # The warm-up: counts start `warmup` after the canary started serving.
        keep = min(max((start + interval - rules.warmup_seconds) / interval, 0.0), 1.0)
        add_s, add_c = _thinned(rng, add_s, keep), _thinned(rng, add_c, keep)
        for index in range(steps):
            here = step == index
            stable_part, canary_part = periods[index]
            periods[index] = (
                _plus(stable_part, _masked(add_s, here)),
                _plus(canary_part, _masked(add_c, here)),
            )

        stable_total = canary_total = _zero_arm(runs, buckets)
        for stable_part, canary_part in periods:
            stable_total = _plus(stable_total, stable_part)
            canary_total = _plus(canary_total, canary_part)
        period_arrays: list[Period] = [
            (_arrays(s, scenario.bounds), _arrays(c, scenario.bounds)) for s, c in periods
        ]
        split = (
            weights,
            np.stack([s.requests for s, _ in periods], axis=-1),
            np.stack([c.requests for _, c in periods], axis=-1),
        )
        checks, overall = judge(
            settings,
            _arrays(stable_total, scenario.bounds),
            _arrays(canary_total, scenario.bounds),
            split,
            period_arrays,
        )
        mismatch = np.zeros(runs, bool)
        leaning = np.full(runs, -np.inf)
        for check in checks:
            if check.role is Role.SAMPLE_RATIO:
                mismatch = np.asarray(check.verdict == FAIL)
            if check.role.rolls_back:
                leaning = np.maximum(leaning, check.log_evalue)
        suspect = leaning >= math.log(max(rules.extend_from_evalue, 1e-300))
        now = start + interval
        passed = overall == PASS
        no_data = overall == NO_DATA
        first_pass = np.where(active & passed & (first_pass < 0), tick, first_pass)
        # Without data, the rollout holds; past the no-data limit it fails (policy hold).
        warming = now <= rules.warmup_seconds
        last_data = np.where(no_data & ~np.bool_(warming), last_data, now)
        timed_out = no_data & (now - last_data > settings.no_data.limit_seconds)
        fail = active & ((overall == FAIL) | timed_out)

        in_step = tick + 1 - step_start
        time_up = in_step >= step_ticks
        early = rules.advance_on_pass & passed
        ends = active & ~fail & ~mismatch & ~no_data & (early | time_up)
        last = step == steps - 1
        promote = ends & last & passed
        undecided_end = ends & last & ~passed
        starting = undecided_end & (extension_start < 0) & (extension_ticks > 0) & suspect
        extension_start = np.where(starting, tick + 1, extension_start)
        ran_out = undecided_end & ~starting & (tick + 1 - extension_start >= extension_ticks)
        ran_out |= undecided_end & (extension_start < 0) & ~starting
        ran_out |= undecided_end & (extension_start >= 0) & ~starting & ~suspect  # cleared
        promote_anyway = ran_out & (rules.on_inconclusive is InconclusivePolicy.PROMOTE)
        roll_back_anyway = ran_out & (rules.on_inconclusive is InconclusivePolicy.ROLLBACK)
        hold_forever = ran_out & (rules.on_inconclusive is InconclusivePolicy.HOLD)
        advance = ends & ~last
        step = np.where(advance, step + 1, step)
        step_start = np.where(advance, tick + 1, step_start)

        rolled = fail | roll_back_anyway
        done = rolled | promote | promote_anyway | hold_forever
        rolled_back |= rolled
        promoted |= promote | promote_anyway
        on_evidence |= promote
        decided_tick = np.where(done, tick, decided_tick)
        at_decision[:, done] = np.stack([observed_total, observed_canary, served])[:, done]
        active &= ~done

    held = ~rolled_back & ~promoted
    end_tick = np.where(decided_tick >= 0, decided_tick, tick)
    at_decision[:, active] = np.stack([observed_total, observed_canary, served])[:, active]
    outcome = Outcome(
        rolled_back=rolled_back,
        tick=end_tick,
        seconds=(end_tick + 1) * interval,
        total_requests=at_decision[0],
        canary_requests=at_decision[1],
        canary_served=at_decision[2],
    )
    return PlanOutcome(
        outcome=outcome,
        promoted=promoted,
        held=held,
        on_evidence=on_evidence,
        extended=extension_start >= 0,
        first_pass_tick=first_pass,
    )

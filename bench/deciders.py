"""Decision procedures for the simulator: kcanary's own, and the oracle SPRT lower bound.

`KcanaryDecider` runs `analysis.evaluate.judge` (the controller's code) on the simulated
counts and rolls back at the first Fail, including a Fail from the no-data policy once a
revision has served nothing for longer than its limit. Like the controller, it hands `judge`
the counts cut into periods of constant canary weight; `per_period=False` compares the pooled
totals instead, the analysis that a drift shared by both revisions misleads. `OracleSprt`
knows the true error rates: Wald's SPRT of the canary's failures, true rate against the
tolerance boundary, is the test no other with the same error rates beats on expected sample
size, so it is the yardstick for requests-to-detection. `TrueEffectOracle` extends it to
latency (requests slower than a bucket edge are bad events too) and to good canaries (the SPRT
that shows them within the tolerance).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from analysis.count_arrays import CountArrays, Period
from analysis.evaluate import judge
from analysis.settings import AnalysisSettings, Tolerance
from analysis.verdict import CODE_OF, Role, Verdict
from bench.simulator import Arm, Behaviour, Tick


def _count_arrays(arm: Arm, bounds: tuple[float, ...]) -> CountArrays:
    return CountArrays(
        requests=arm.requests, failures=arm.failures, upper_bounds=bounds, cumulative=arm.cumulative
    )


def _added(total: Arm, increment: Arm) -> Arm:
    return Arm(
        total.requests + increment.requests,
        total.failures + increment.failures,
        total.cumulative + increment.cumulative,
    )


class KcanaryDecider:
    name = "kcanary"

    def __init__(
        self, settings: AnalysisSettings, *, per_period: bool = True, name: str = "kcanary"
    ) -> None:
        self.settings = settings
        self.per_period = per_period
        self.name = name if per_period else "kcanary-pooled"  # distinct names judge together
        # Cumulative (stable, canary) counts of each period of constant weight so far, and
        # the weight of the latest: a tick at another weight starts a new period.
        self._periods: list[tuple[Arm, Arm]] = []
        self._period_weight: float | None = None
        self._last_data_seconds = np.zeros(0)
        # The overall verdict code of the latest look, per run: a benchmark reads the
        # inconclusive rate (promoted without a Pass) and sample-ratio holds from it.
        self.last_overall: NDArray[np.int64] = np.zeros(0, np.int64)
        # The first look with an overall Pass (-1: none yet): when an early promotion could be.
        self.first_pass_tick: NDArray[np.int64] = np.zeros(0, np.int64)
        # Whether the latest look's sample-ratio check failed: the controller then holds the
        # canary where it is instead of promoting it when the last step ends.
        self.split_mismatch: NDArray[np.bool_] = np.zeros(0, bool)

    def reset(self, runs: int) -> None:
        self._last_data_seconds = np.zeros(runs)
        self.last_overall = np.zeros(runs, np.int64)
        self.split_mismatch = np.zeros(runs, bool)
        self.first_pass_tick = np.full(runs, -1, np.int64)
        self._periods = []
        self._period_weight = None

    def _periods_through(self, tick: Tick) -> list[Period]:
        """Add this tick's increments to its period (a new one if the weight changed)."""
        weight = tick.weights[-1]
        if not self._periods or weight != self._period_weight:
            self._periods.append((tick.stable_increment, tick.canary_increment))
            self._period_weight = weight
        else:
            stable, canary = self._periods[-1]
            self._periods[-1] = (
                _added(stable, tick.stable_increment),
                _added(canary, tick.canary_increment),
            )
        return [
            (_count_arrays(stable, tick.bounds), _count_arrays(canary, tick.bounds))
            for stable, canary in self._periods
        ]

    def look(self, tick: Tick) -> NDArray[np.bool_]:
        split = (
            np.asarray(tick.weights, np.float64),
            tick.stable_per_interval,
            tick.canary_per_interval,
        )
        periods = self._periods_through(tick) if self.per_period else None
        checks, overall = judge(
            self.settings,
            _count_arrays(tick.stable, tick.bounds),
            _count_arrays(tick.canary, tick.bounds),
            split,
            periods,
        )
        self.last_overall = overall
        for check in checks:
            if check.role is Role.SAMPLE_RATIO:
                self.split_mismatch = np.asarray(check.verdict == CODE_OF[Verdict.FAIL])
        passed_now = (overall == CODE_OF[Verdict.PASS]) & (self.first_pass_tick < 0)
        self.first_pass_tick = np.where(passed_now, tick.index, self.first_pass_tick)
        no_data = overall == CODE_OF[Verdict.NO_DATA]
        self._last_data_seconds = np.where(no_data, self._last_data_seconds, tick.seconds)
        # The no-data policy with its limit, as `analysis.no_data` applies it (hold by default).
        limit = self.settings.no_data.limit_seconds
        policy = self.settings.no_data.policy.value
        timed_out = no_data & (
            (policy == "fail")
            | ((policy == "hold") & (tick.seconds - self._last_data_seconds > limit))
        )
        return np.asarray((overall == CODE_OF[Verdict.FAIL]) | timed_out)


class OracleSprt:
    """Wald's SPRT on the canary's failures: true rate `p1` against the boundary `p0`."""

    name = "oracle-sprt"

    def __init__(self, p0: float, p1: float, alpha: float) -> None:
        self.log_fail = math.log(p1 / p0)
        self.log_pass = math.log((1 - p1) / (1 - p0))
        self.threshold = math.log(1 / alpha)

    def reset(self, runs: int) -> None:
        pass

    def look(self, tick: Tick) -> NDArray[np.bool_]:
        failures = tick.canary.failures
        llr = failures * self.log_fail + (tick.canary.requests - failures) * self.log_pass
        return np.asarray(llr >= self.threshold)


def _kl_bernoulli(p: float, q: float) -> float:
    """KL(Bernoulli(p) || Bernoulli(q)): the evidence per request for p against q."""
    total = 0.0
    if p > 0:
        total += p * math.log(p / q)
    if p < 1:
        total += (1 - p) * math.log((1 - p) / (1 - q))
    return total


@dataclass(frozen=True)
class BadEvent:
    """A per-request event counted from the canary's counts: a failure (`edge` None) or a
    latency above `bounds[edge]`, with its true probability and the tolerance's boundary."""

    edge: int | None
    canary_probability: float
    boundary: float

    def count(self, arm: Arm) -> NDArray[np.int64]:
        if self.edge is None:
            return arm.failures
        return np.asarray(arm.requests - arm.cumulative[:, self.edge], np.int64)

    def log_likelihood_ratio(self, arm: Arm) -> NDArray[np.float64]:
        """log of P(counts | true probability) / P(counts | boundary)."""
        p, q = self.canary_probability, self.boundary
        bad = self.count(arm)
        good = arm.requests - bad
        per_bad = math.log(p / q) if p > 0 else -math.inf
        per_good = math.log((1 - p) / (1 - q)) if p < 1 else -math.inf
        with np.errstate(invalid="ignore"):
            llr = np.where(bad > 0, bad * per_bad, 0.0) + np.where(good > 0, good * per_good, 0.0)
        return np.asarray(llr, np.float64)


def bad_events(
    stable: Behaviour,
    canary: Behaviour,
    bounds: tuple[float, ...],
    errors: Tolerance,
    latency: Tolerance,
) -> list[BadEvent]:
    """Every event kcanary's tolerance speaks of, whose boundary is below certainty."""
    events = []
    boundary = stable.error_rate + max(errors.absolute, errors.relative * stable.error_rate)
    if boundary < 1:
        events.append(BadEvent(None, canary.error_rate, boundary))
    edges = np.array(bounds[:-1])
    slower_stable = 1 - stable.latency.cdf(edges)
    slower_canary = 1 - canary.latency.cdf(edges)
    for edge, (p_s, p_c) in enumerate(zip(slower_stable, slower_canary, strict=True)):
        edge_boundary = float(p_s) + max(latency.absolute, latency.relative * float(p_s))
        if edge_boundary < 1:
            events.append(BadEvent(edge, float(p_c), edge_boundary))
    return events


class TrueEffectOracle:
    """Wald's SPRT with the true effect known: the lower bound on time to a decision.

    On a harmful canary it tests the one bad event with the most evidence per request (true
    probability against the tolerance boundary) and rolls back when the likelihood ratio
    reaches 1/`rollback_alpha`. On a canary within the tolerance it shows every event below its
    boundary, each at `alpha` (all must pass, as kcanary's non-inferiority checks must);
    `first_pass_tick` records when. A canary exactly at a boundary gives it nothing to decide.
    """

    name = "oracle-sprt"

    def __init__(self, events: list[BadEvent], *, alpha: float, rollback_alpha: float) -> None:
        harmful = [e for e in events if e.canary_probability > e.boundary]
        self._harm = max(
            harmful, key=lambda e: _kl_bernoulli(e.canary_probability, e.boundary), default=None
        )
        self._within = [e for e in events if e.canary_probability < e.boundary]
        self._decides_pass = self._harm is None and len(self._within) == len(events)
        self._rollback_threshold = math.log(1 / rollback_alpha)
        self._pass_threshold = math.log(1 / alpha)
        self._shown = np.zeros((0, 0), bool)
        self.first_pass_tick: NDArray[np.int64] = np.zeros(0, np.int64)

    def reset(self, runs: int) -> None:
        self._shown = np.zeros((runs, len(self._within)), bool)
        self.first_pass_tick = np.full(runs, -1, np.int64)

    def look(self, tick: Tick) -> NDArray[np.bool_]:
        runs = tick.canary.requests.shape[0]
        if self._harm is not None:
            llr = self._harm.log_likelihood_ratio(tick.canary)
            return np.asarray(llr >= self._rollback_threshold)
        if self._decides_pass:
            for column, event in enumerate(self._within):
                llr = event.log_likelihood_ratio(tick.canary)
                self._shown[:, column] |= llr >= self._pass_threshold
            passed = self._shown.all(axis=1) & (self.first_pass_tick < 0)
            self.first_pass_tick = np.where(passed, tick.index, self.first_pass_tick)
        return np.zeros(runs, bool)

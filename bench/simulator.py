"""A virtual-time traffic simulator: the counts Prometheus would hold, for thousands of rollouts.

No clock and no sleeping: each analysis interval, every simulated rollout draws its requests
(Poisson at the configured rate), splits them by the canary's weight (binomial), draws failures
(binomial at each revision's error rate) and latency bucket counts (multinomial over the
histogram's buckets, from a lognormal with an optional slow tail), and adds them to cumulative
per-revision counts, exactly the integers the Prometheus source hands to the analysis. All
rollouts of a scenario advance together as numpy arrays: a thousand rollouts of twelve ticks
take a tenth of a second of CPU to simulate, and a few seconds when kcanary's analysis judges
every one at every tick.

Scenarios change the load over time (`Scenario.load`, with `Scenario.stress` making both
revisions fail more and slow down when the load rises, as a diurnal peak does), skew the split
(`Scenario.canary_share_factor`), and restart pods (`Scenario.restarts`): the analysis sees
reset-corrected counts, which lose what a pod served after its last scrape. The counts a
decider sees are those observed ones; `Outcome.canary_served` keeps the true traffic, from
which a benchmark computes the harm done (blast radius).

A `Decider` looks at every tick and says where it rolls back; kcanary's own decider calls
`analysis.evaluate.judge`, the code the controller runs, and the baselines in
`bench.threshold_deciders` and `bench.kayenta` read the same ticks. A rollout that no decider
rolled back by the end of the last step is promoted (DESIGN.md: promote unless harm was found).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Protocol

import numpy as np
from numpy.typing import NDArray
from scipy.special import ndtr

# Istio's default request-duration buckets, in milliseconds, converted to seconds.
ISTIO_BUCKETS_MS = (
    0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000,
    300000, 600000, 1800000, 3600000,
)  # fmt: skip
ISTIO_BOUNDS_S: tuple[float, ...] = (*(ms / 1000.0 for ms in ISTIO_BUCKETS_MS), math.inf)

IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class Latency:
    """A lognormal (median `p50_s`, log-sd `sigma`) of which `tail_fraction` of requests is
    `tail_factor` times slower."""

    p50_s: float = 0.05
    sigma: float = 0.3
    tail_fraction: float = 0.0
    tail_factor: float = 1.0

    def cdf(self, seconds: NDArray[np.float64]) -> NDArray[np.float64]:
        with np.errstate(divide="ignore"):
            z = (np.log(seconds) - math.log(self.p50_s)) / self.sigma
        slow = z - math.log(self.tail_factor) / self.sigma
        return np.asarray(
            (1 - self.tail_fraction) * ndtr(z) + self.tail_fraction * ndtr(slow), np.float64
        )

    def quantile(self, q: float) -> float:
        """The q-quantile in seconds (bisection on the CDF)."""
        low, high = 1e-6, 1e6
        for _ in range(200):
            mid = math.sqrt(low * high)
            if float(self.cdf(np.array(mid))) < q:
                low = mid
            else:
                high = mid
        return math.sqrt(low * high)

    def bucket_probabilities(self, bounds: tuple[float, ...]) -> NDArray[np.float64]:
        """Probability of each (non-cumulative) bucket; the last bound must be +inf."""
        cumulative = self.cdf(np.array(bounds[:-1]))
        cumulative = np.append(cumulative, 1.0)
        return np.asarray(np.diff(cumulative, prepend=0.0), dtype=np.float64)


@dataclass(frozen=True)
class Behaviour:
    """How one revision serves: its per-request failure probability and latency."""

    error_rate: float = 0.01
    latency: Latency = field(default_factory=Latency)


@dataclass(frozen=True)
class Effect:
    """What the canary changes relative to stable."""

    error_ratio: float = 1.0
    median_factor: float = 1.0
    sigma_factor: float = 1.0
    tail_fraction: float = 0.0
    tail_factor: float = 1.0

    def applied_to(self, baseline: Behaviour) -> Behaviour:
        latency = baseline.latency
        return Behaviour(
            error_rate=min(baseline.error_rate * self.error_ratio, 1.0),
            latency=replace(
                latency,
                p50_s=latency.p50_s * self.median_factor,
                sigma=latency.sigma * self.sigma_factor,
                tail_fraction=self.tail_fraction or latency.tail_fraction,
                tail_factor=self.tail_factor if self.tail_fraction else latency.tail_factor,
            ),
        )


@dataclass(frozen=True)
class Plan:
    """Canary weights in percent, the least time at each, and how often analysis looks."""

    steps: tuple[int, ...] = (10, 25, 50)
    step_seconds: float = 120.0
    interval_seconds: float = 30.0

    def tick_weights(self) -> tuple[float, ...]:
        """The canary fraction during each analysis interval, in order."""
        per_step = max(1, round(self.step_seconds / self.interval_seconds))
        return tuple(step / 100.0 for step in self.steps for _ in range(per_step))


def constant_load(_seconds: float) -> float:
    return 1.0


@dataclass(frozen=True)
class PodRestarts:
    """Pods restarting during the rollout. A restart resets the pod's counters; Prometheus'
    reset handling keeps everything up to the pod's last scrape, and what it served between
    that scrape and the restart is lost to the analysis (though users were served)."""

    canary_probability: float = 0.2  # chance, per interval, that one canary pod restarts
    stable_probability: float = 0.05
    pods: int = 2  # per revision; a restart loses only that pod's share of the traffic
    scrape_seconds: float = 15.0

    def lost_fraction(
        self, rng: np.random.Generator, probability: float, runs: int, interval: float
    ) -> NDArray[np.float64]:
        """Per run, the fraction of this interval's requests that the analysis never sees."""
        restarted = rng.random(runs) < probability
        since_scrape = rng.random(runs) * min(self.scrape_seconds, interval)
        return np.where(restarted, since_scrape / interval / self.pods, 0.0)


@dataclass(frozen=True)
class ColdStart:
    """A revision slower while it warms up: latency times `factor` for its first `seconds`
    after it starts serving (caches, lazy loading, JIT compilation of a model)."""

    seconds: float = 30.0
    factor: float = 2.0


@dataclass(frozen=True)
class ErrorBursts:
    """Failures that come in bursts: in `probability` of the intervals (independently per
    run) the canary fails `burst_error_rate` of its requests instead of its usual rate."""

    probability: float = 0.2
    burst_error_rate: float = 0.05

    def rates(self, rng: np.random.Generator, runs: int, usual: float) -> NDArray[np.float64]:
        return np.where(rng.random(runs) < self.probability, self.burst_error_rate, usual)

    def mean(self, usual: float) -> float:
        return self.probability * self.burst_error_rate + (1 - self.probability) * usual


@dataclass(frozen=True)
class FailingInputClass:
    """The canary fails `failure_rate` of one class of inputs, whose share of the traffic
    drifts from interval to interval, uniformly between `share_low` and `share_high`."""

    share_low: float = 0.01
    share_high: float = 0.05
    failure_rate: float = 0.33

    def rates(self, rng: np.random.Generator, runs: int, usual: float) -> NDArray[np.float64]:
        share = rng.uniform(self.share_low, self.share_high, runs)
        return np.asarray(usual + (1 - usual) * share * self.failure_rate, np.float64)

    def mean(self, usual: float) -> float:
        share = (self.share_low + self.share_high) / 2
        return usual + (1 - usual) * share * self.failure_rate


@dataclass(frozen=True)
class Scenario:
    name: str
    rps: float
    stable: Behaviour = field(default_factory=Behaviour)
    canary: Behaviour = field(default_factory=Behaviour)
    plan: Plan = field(default_factory=Plan)
    load: Callable[[float], float] = constant_load  # multiplier of `rps` at a time in seconds
    canary_share_factor: float = 1.0  # a skewed router: realised share = weight x this
    bounds: tuple[float, ...] = ISTIO_BOUNDS_S
    # Under load L both revisions' error rates and latencies scale by L ** stress (0: no effect).
    stress: float = 0.0
    restarts: PodRestarts | None = None
    canary_cold_start: ColdStart | None = None
    canary_errors: ErrorBursts | FailingInputClass | None = None

    @property
    def canary_mean_error_rate(self) -> float:
        """The canary's error rate averaged over intervals (bursts and input classes too)."""
        usual = self.canary.error_rate
        return usual if self.canary_errors is None else self.canary_errors.mean(usual)

    def under_load(self, behaviour: Behaviour, load: float) -> Behaviour:
        """How a revision serves when the load is `load` times the mean."""
        if self.stress == 0.0:
            return behaviour
        factor = max(load, 1e-9) ** self.stress
        return Behaviour(
            error_rate=min(behaviour.error_rate * factor, 1.0),
            latency=replace(behaviour.latency, p50_s=behaviour.latency.p50_s * factor),
        )


@dataclass(frozen=True)
class Arm:
    """One revision's cumulative counts over all rollouts: requests (R,), failures (R,),
    cumulative histogram buckets (R, K)."""

    requests: IntArray
    failures: IntArray
    cumulative: IntArray


@dataclass(frozen=True)
class Tick:
    """What a decider sees at one look, for all rollouts at once."""

    index: int
    seconds: float  # since the rollout started, at the end of this interval
    weights: tuple[float, ...]  # canary fraction of every interval so far
    stable: Arm
    canary: Arm
    stable_per_interval: IntArray  # (R, index + 1) requests in each interval so far
    canary_per_interval: IntArray
    bounds: tuple[float, ...]
    stable_increment: Arm  # what this interval added (as observed)
    canary_increment: Arm


class Decider(Protocol):
    """A decision procedure fed the same simulated data as kcanary."""

    name: str

    def reset(self, runs: int) -> None: ...

    def look(self, tick: Tick) -> NDArray[np.bool_]:
        """Where (over the runs) it rolls back at this tick."""
        ...


@dataclass(frozen=True)
class Outcome:
    """Per run: whether and when the rollout was rolled back, and the traffic until then."""

    rolled_back: NDArray[np.bool_]
    tick: IntArray  # the deciding tick; the last tick for promoted runs
    seconds: NDArray[np.float64]
    total_requests: IntArray  # both revisions, up to the decision (as observed)
    canary_requests: IntArray  # as observed
    canary_served: IntArray  # the canary's true requests up to the decision (none lost)

    @property
    def runs(self) -> int:
        return int(self.rolled_back.size)


def _draw(
    rng: np.random.Generator,
    n: IntArray,
    behaviour: Behaviour,
    bounds: tuple[float, ...],
    lost: NDArray[np.float64] | None,
    error_rate: NDArray[np.float64] | None = None,
) -> Arm:
    """One interval's observed increments for one revision: failures and latency are drawn
    independently, then thinned by the fraction `lost` to a restart (failures capped by the
    requests left, a rare case when nearly all requests fail). `error_rate` overrides the
    behaviour's, per run."""
    rate = behaviour.error_rate if error_rate is None else error_rate
    failures = np.asarray(rng.binomial(n, rate), np.int64)
    buckets = np.asarray(rng.multinomial(n, behaviour.latency.bucket_probabilities(bounds)))
    if lost is not None:
        buckets = buckets - rng.binomial(buckets, lost[:, None])
        failures = failures - rng.binomial(failures, lost)
    buckets = np.asarray(buckets, np.int64)
    requests = buckets.sum(axis=-1)
    return Arm(requests, np.minimum(failures, requests), np.cumsum(buckets, axis=-1))


def draw_canary(
    rng: np.random.Generator,
    scenario: Scenario,
    n: IntArray,
    start: float,
    load: float,
    lost: NDArray[np.float64] | None,
) -> Arm:
    """The canary's increments for the interval starting at `start` seconds: the part of its
    requests served while it was still cold (`Scenario.canary_cold_start`) is drawn slower."""
    behaviour = scenario.under_load(scenario.canary, load)
    rates = None
    if scenario.canary_errors is not None:
        rates = scenario.canary_errors.rates(rng, n.size, behaviour.error_rate)
    cold = scenario.canary_cold_start
    interval = scenario.plan.interval_seconds
    share = 0.0 if cold is None else min(max((cold.seconds - start) / interval, 0.0), 1.0)
    if cold is None or share == 0.0:
        return _draw(rng, n, behaviour, scenario.bounds, lost, rates)
    slow = replace(
        behaviour, latency=replace(behaviour.latency, p50_s=behaviour.latency.p50_s * cold.factor)
    )
    n_cold = np.asarray(rng.binomial(n, share), np.int64)
    warm = _draw(rng, n - n_cold, behaviour, scenario.bounds, lost, rates)
    return _plus(warm, _draw(rng, n_cold, slow, scenario.bounds, lost, rates))


def draw_stable(
    rng: np.random.Generator,
    scenario: Scenario,
    n: IntArray,
    load: float,
    lost: NDArray[np.float64] | None,
) -> Arm:
    return _draw(rng, n, scenario.under_load(scenario.stable, load), scenario.bounds, lost)


def _plus(total: Arm, increment: Arm) -> Arm:
    return Arm(
        total.requests + increment.requests,
        total.failures + increment.failures,
        total.cumulative + increment.cumulative,
    )


def simulate(
    scenario: Scenario, deciders: list[Decider], runs: int, rng: np.random.Generator
) -> dict[str, Outcome]:
    """Run `runs` rollouts of `scenario` and let every decider judge the same traffic."""
    weights = scenario.plan.tick_weights()
    interval = scenario.plan.interval_seconds
    k = len(scenario.bounds)
    zero = np.zeros(runs, np.int64)
    stable = Arm(zero, zero, np.zeros((runs, k), np.int64))
    canary = Arm(zero, zero, np.zeros((runs, k), np.int64))
    stable_history: list[IntArray] = []
    canary_history: list[IntArray] = []
    decided_at = {d.name: np.full(runs, -1, np.int64) for d in deciders}
    totals: list[IntArray] = []
    canaries: list[IntArray] = []
    served: list[IntArray] = []
    served_so_far = zero
    restarts = scenario.restarts
    for d in deciders:
        d.reset(runs)
    for index, weight in enumerate(weights):
        start = index * interval
        load = scenario.load(start + interval / 2)
        total = rng.poisson(scenario.rps * interval * load, runs).astype(np.int64)
        share = min(max(weight * scenario.canary_share_factor, 0.0), 1.0)
        n_canary = rng.binomial(total, share).astype(np.int64)
        n_stable = total - n_canary
        lost_s = lost_c = None
        if restarts is not None:
            lost_s = restarts.lost_fraction(rng, restarts.stable_probability, runs, interval)
            lost_c = restarts.lost_fraction(rng, restarts.canary_probability, runs, interval)
        add_s = draw_stable(rng, scenario, n_stable, load, lost_s)
        add_c = draw_canary(rng, scenario, n_canary, start, load, lost_c)
        stable = _plus(stable, add_s)
        canary = _plus(canary, add_c)
        served_so_far = served_so_far + n_canary
        stable_history.append(add_s.requests)
        canary_history.append(add_c.requests)
        totals.append(stable.requests + canary.requests)
        canaries.append(canary.requests)
        served.append(served_so_far)
        tick = Tick(
            index=index,
            seconds=start + interval,
            weights=weights[: index + 1],
            stable=stable,
            canary=canary,
            stable_per_interval=np.stack(stable_history, axis=-1),
            canary_per_interval=np.stack(canary_history, axis=-1),
            bounds=scenario.bounds,
            stable_increment=add_s,
            canary_increment=add_c,
        )
        for d in deciders:
            fired = d.look(tick) & (decided_at[d.name] < 0)
            decided_at[d.name][fired] = index
    total_at = np.stack(totals, axis=-1)
    canary_at = np.stack(canaries, axis=-1)
    served_at = np.stack(served, axis=-1)
    last = len(weights) - 1
    outcomes = {}
    rows = np.arange(runs)
    for name, at in decided_at.items():
        rolled_back = at >= 0
        tick_index = np.where(rolled_back, at, last)
        outcomes[name] = Outcome(
            rolled_back=rolled_back,
            tick=tick_index,
            seconds=(tick_index + 1) * interval,
            total_requests=total_at[rows, tick_index],
            canary_requests=canary_at[rows, tick_index],
            canary_served=served_at[rows, tick_index],
        )
    return outcomes

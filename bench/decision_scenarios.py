"""The decision benchmark's scenarios, and the methods judged on each.

Every scenario shares the plan of `kcanary bench aa` (steps 10, 25, 50 % for 2 minutes each,
a look every 30 s) and the stable revision (1% errors, lognormal latency with p50 50 ms and
p99 about 101 ms on Istio's buckets); it changes the canary, the traffic, or what Prometheus
sees. Each is good (no worse than kcanary's tolerance: a rollback is a false one), bad (worse:
a promotion is a miss) or at the tolerance's boundary (neither).

The threshold tools judge the canary against absolute limits, so they need limits an operator
would set for this service. One rule for every scenario: twice what the stable revision does
(2% errors, i.e. a 98% success rate, and a p99 of 202 ms), the headroom Flagger's own defaults
(99%, 500 ms) leave for a service at 0.5% and 250 ms. The `-tight` variants use kcanary's
tolerance instead (1.5% errors, p99 121 ms), to show what tighter limits cost in false
rollbacks.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from dataclasses import dataclass, field

from analysis.settings import AnalysisSettings
from analysis.templates import builtin_template
from bench.deciders import KcanaryDecider, TrueEffectOracle, bad_events
from bench.kayenta import KayentaDecider
from bench.simulator import (
    Behaviour,
    ColdStart,
    Decider,
    Effect,
    ErrorBursts,
    FailingInputClass,
    Plan,
    PodRestarts,
    Scenario,
    constant_load,
)
from bench.threshold_deciders import ArgoDecider, FlaggerDecider, Limits
from reconcile.analysis_run import analysis_settings
from rollout.strategy import Strategy

BASELINE = Behaviour()  # 1% errors, p50 50 ms, sigma 0.3
PLAN = Plan()
TYPICAL_RPS = 50.0
HEADROOM = 2.0
# Under the diurnal load both revisions' error rates and medians scale by load ** 0.5: +34% at
# the peak, the strain a busy hour puts on a model server.
DIURNAL_STRESS = 0.5


class Kind(enum.Enum):
    GOOD = "good"  # within the tolerance: any rollback is a false one
    BAD = "bad"  # beyond it: a promotion is a miss
    BOUNDARY = "boundary"  # exactly at it: neither


def diurnal_load(seconds: float) -> float:
    """Load swinging +-80% around the mean with a 6-minute period: a day's swing, compressed
    into the rollout, while the weights step up."""
    return 1.0 + 0.8 * math.sin(2 * math.pi * seconds / 360.0)


@dataclass(frozen=True)
class DecisionScenario:
    scenario: Scenario
    kind: Kind
    effect: Effect = field(default_factory=Effect)
    note: str = ""
    # For a bad scenario, the good one with the same traffic: where a method's catches are
    # weighed against its false rollbacks.
    control: str = ""

    @property
    def name(self) -> str:
        return self.scenario.name


def _case(
    name: str,
    kind: Kind,
    effect: Effect = Effect(),  # noqa: B008 - frozen, never mutated
    *,
    rps: float = TYPICAL_RPS,
    note: str = "",
    load: Callable[[float], float] = constant_load,
    stress: float = 0.0,
    canary_share_factor: float = 1.0,
    restarts: PodRestarts | None = None,
    control: str = "",
    cold_start: ColdStart | None = None,
    errors: ErrorBursts | FailingInputClass | None = None,
) -> DecisionScenario:
    scenario = Scenario(
        name,
        rps,
        stable=BASELINE,
        canary=effect.applied_to(BASELINE),
        plan=PLAN,
        load=load,
        stress=stress,
        canary_share_factor=canary_share_factor,
        restarts=restarts,
        canary_cold_start=cold_start,
        canary_errors=errors,
    )
    if kind is not Kind.GOOD and not control:
        control = "A/A"
    return DecisionScenario(scenario, kind, effect, note, control)


TAIL = Effect(tail_fraction=0.02, tail_factor=3.0)  # 2% of requests 3x slower: p99 +50%
COLD_START = ColdStart(seconds=30.0, factor=2.0)
RESTARTS = PodRestarts()


def scenarios() -> list[DecisionScenario]:
    good, bad = Kind.GOOD, Kind.BAD
    return [
        _case("A/A", good),
        _case("errors x1.5", Kind.BOUNDARY, Effect(error_ratio=1.5), note="at the tolerance"),
        _case("errors x2", bad, Effect(error_ratio=2.0)),
        _case("errors x5", bad, Effect(error_ratio=5.0)),
        _case("p50 +20%", bad, Effect(median_factor=1.2)),
        _case("p50 +50%", bad, Effect(median_factor=1.5)),
        _case("p99-only", bad, TAIL, note="2% of requests 3x slower"),
        _case("variance-only", bad, Effect(sigma_factor=1.5), note="log-sd x1.5"),
        _case("A/A, 1 rps", good, rps=1.0),
        _case("errors x5, 1 rps", bad, Effect(error_ratio=5.0), rps=1.0, control="A/A, 1 rps"),
        _case("A/A, 200 rps", good, rps=200.0),
        _case(
            "errors x2, 200 rps", bad, Effect(error_ratio=2.0), rps=200.0, control="A/A, 200 rps"
        ),
        _case(
            "A/A, diurnal",
            good,
            load=diurnal_load,
            stress=DIURNAL_STRESS,
            note="load +-80%; both revisions' errors and p50 scale by sqrt(load)",
        ),
        _case(
            "errors x2, diurnal",
            bad,
            Effect(error_ratio=2.0),
            load=diurnal_load,
            stress=DIURNAL_STRESS,
            control="A/A, diurnal",
        ),
        _case(
            "A/A, sample-ratio mismatch",
            good,
            canary_share_factor=0.8,
            note="the canary gets 80% of its weight",
        ),
        _case(
            "A/A, pod restarts",
            good,
            restarts=RESTARTS,
            note="a canary pod restarts in 20% of intervals, a stable one in 5%",
        ),
        _case(
            "errors x2, pod restarts",
            bad,
            Effect(error_ratio=2.0),
            restarts=RESTARTS,
            control="A/A, pod restarts",
        ),
        _case(
            "A/A, cold start",
            good,
            cold_start=COLD_START,
            note="the canary's p50 doubles for its first 30 s after it starts serving",
        ),
        _case(
            "A/A, cold start, 200 rps",
            good,
            rps=200.0,
            cold_start=COLD_START,
            note="the same at 200 rps",
        ),
        _case(
            "errors x1.3, 1000 rps",
            Kind.BOUNDARY,
            Effect(error_ratio=1.3),
            rps=1000.0,
            note="1% -> 1.3%: worse, but inside the tolerance",
        ),
        _case(
            "bursty errors",
            bad,
            errors=ErrorBursts(probability=0.2, burst_error_rate=0.06),
            note="in 20% of the 30 s intervals the canary fails 6% (2% on average)",
        ),
        _case(
            "one input class fails",
            bad,
            errors=FailingInputClass(share_low=0.01, share_high=0.05, failure_rate=0.33),
            note="a third of one input class fails; its share drifts 1-5% (+1 pp on average)",
        ),
    ]


def default_settings() -> AnalysisSettings:
    """kcanary's analysis settings at the strategy's defaults, through the controller's own
    mapping, so the benchmark measures what a user who sets nothing gets."""
    strategy = Strategy.model_validate({"traffic": {"mode": "istio"}})
    settings = analysis_settings(strategy, builtin_template("istio"))
    assert isinstance(settings, AnalysisSettings), settings
    return settings


def deciders(case: DecisionScenario, settings: AnalysisSettings) -> list[Decider]:
    """Every method, fresh for one scenario; the oracle only where it has something to decide."""
    stable = case.scenario.stable
    loose = Limits.with_headroom(stable, HEADROOM)
    tolerance = settings.error_rate
    tight = Limits(
        max_error_rate=stable.error_rate
        + max(tolerance.absolute, tolerance.relative * stable.error_rate),
        max_p99_seconds=stable.latency.quantile(0.99) * (1 + settings.latency.relative),
    )
    methods: list[Decider] = [
        KcanaryDecider(settings, name="kcanary-fixed-plan"),
        FlaggerDecider(loose),
        FlaggerDecider(tight, name="flagger-tight"),
        ArgoDecider(loose),
        ArgoDecider(tight, name="argo-rollouts-tight"),
        KayentaDecider(),
    ]
    # The oracle knows the effect at the mean load; where the load moves both revisions'
    # behaviour (diurnal stress) its model is wrong, so it is no lower bound there.
    # Nor does it model error rates that change from interval to interval or a cold start.
    plain = case.scenario.canary_errors is None and case.scenario.canary_cold_start is None
    if case.kind is not Kind.BOUNDARY and case.scenario.stress == 0.0 and plain:
        events = bad_events(
            stable,
            case.scenario.canary,
            case.scenario.bounds,
            settings.error_rate,
            settings.latency,
        )
        methods.append(
            TrueEffectOracle(events, alpha=settings.alpha, rollback_alpha=settings.rollback_alpha)
        )
    return methods

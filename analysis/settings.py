"""The analysis settings, as plain frozen dataclasses.

The strategy schema (pydantic, in `rollout/`) is the user-facing source of truth; the controller
maps it onto these. Defaults: alpha 0.05 per rollout; the canary is rolled back on evidence that
it is worse than stable at all (harm margin 0) and may be promoted on evidence that it is worse
by at most `max(0.5 percentage points, 20%)` (the non-inferiority tolerance); no SLO limits; no
data holds and fails after five minutes.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class SettingsError(ValueError):
    """A setting that cannot be used; the message says which and what to change."""


@dataclass(frozen=True)
class Tolerance:
    """How much worse than stable the canary may be: `max(absolute, relative * stable)`.

    For the error rate the rates are per-request failure probabilities. For latency they are, at
    every histogram bucket edge, the probability of a request being slower than that edge: a
    stochastic-order margin ("at no latency may the canary have more than 20% more slow requests
    than stable, nor more than 0.5 percentage points more"). Histogram buckets cannot resolve a
    quantile inside one bucket (Istio's edges are 2 to 2.5 times apart), so a tolerance stated as
    "+20% on p50" could not be tested exactly; a margin on exceedance probabilities at the edges
    can. For a lognormal with sigma 0.3 (the benchmark's default) a 20% margin is a median
    shift of about +8% (50% -> 60% of requests slower than the median's edge) and a p99 shift of
    about +5% (1.0% -> 1.5% slower than the p99's edge), by the lognormal's CDF.

    The same shape serves two questions with two margins (`AnalysisSettings`): the harm margin,
    beyond which the canary is rolled back, may be zero ("any evidence of worse than stable");
    the non-inferiority tolerance, within which it may be promoted early, may not.
    """

    absolute: float = 0.005
    relative: float = 0.2

    def __post_init__(self) -> None:
        if not 0.0 <= self.absolute < 1.0:
            raise SettingsError(f"absolute tolerance {self.absolute} must be in [0, 1)")
        if self.relative < 0.0:
            raise SettingsError(f"relative tolerance {self.relative} must be >= 0")

    @property
    def is_zero(self) -> bool:
        return self.absolute == 0.0 and self.relative == 0.0

    def describe(self) -> str:
        """`max(0.005, 0.2 x stable)`, or `0` for a zero margin."""
        if self.is_zero:
            return "0"
        return f"max({self.absolute:.3g}, {self.relative:.3g} x stable)"


HARM_MARGIN = Tolerance(absolute=0.0, relative=0.0)
"""The default harm margin: roll back on evidence that the canary is worse than stable at all.
`bench/results/decisions.md` shows why: false rollbacks stay within alpha for any margin >= 0
(a canary as good as stable is inside every such null), and each step of margin above zero
costs power on the regressions users care about (a doubled error rate)."""


class NoDataPolicy(enum.Enum):
    """What a check without data means: wait (then fail after the limit), fail, or pass."""

    HOLD = "hold"
    FAIL = "fail"
    PASS = "pass"


class Metric(enum.Enum):
    """A metric whose counts may be missing while requests are counted; the value is the
    `metric` its NoData checks carry in the evidence."""

    ERROR_RATE = "error_rate"
    LATENCY = "latency"

    @property
    def label(self) -> str:
        return "error-rate" if self is Metric.ERROR_RATE else "latency"


@dataclass(frozen=True)
class NoDataSettings:
    """The policy for a look without requests to judge; `error_rate` and `latency` are the
    policies for a look where only that metric's counts are missing (None: this one)."""

    policy: NoDataPolicy = NoDataPolicy.HOLD
    limit_seconds: float = 300.0  # under `hold`, no data for longer than this fails
    error_rate: NoDataSettings | None = None
    latency: NoDataSettings | None = None

    def __post_init__(self) -> None:
        if self.limit_seconds < 0:
            raise SettingsError(f"no-data limit {self.limit_seconds}s must be >= 0")

    def of(self, metric: Metric) -> NoDataSettings:
        own = self.error_rate if metric is Metric.ERROR_RATE else self.latency
        return own if own is not None else self


@dataclass(frozen=True)
class LatencyLimit:
    """A limit on a latency quantile of the canary alone: `quantile` at most `max_seconds`."""

    quantile: float
    max_seconds: float

    def __post_init__(self) -> None:
        if not 0.0 < self.quantile < 1.0:
            raise SettingsError(f"SLO latency quantile {self.quantile} must be in (0, 1)")
        if self.max_seconds <= 0:
            raise SettingsError(f"SLO latency {self.max_seconds}s must be > 0")

    @property
    def label(self) -> str:
        """The quantile as people write it: `p99` for 0.99, `p99.9` for 0.999."""
        return f"p{100 * self.quantile:g}"


@dataclass(frozen=True)
class SloLimits:
    """Absolute limits on the canary alone; None or no latency limits turns a guardrail off (the
    default). Each latency limit is a guardrail of its own."""

    max_error_rate: float | None = None
    latency: tuple[LatencyLimit, ...] = ()

    def __post_init__(self) -> None:
        if self.max_error_rate is not None and not 0.0 < self.max_error_rate < 1.0:
            raise SettingsError(f"SLO error rate {self.max_error_rate} must be in (0, 1)")
        labels = [limit.label for limit in self.latency]
        twice = sorted({label for label in labels if labels.count(label) > 1})
        if twice:
            raise SettingsError(
                f"SLO latency quantile {twice[0]} is given more than once: give each quantile "
                "one limit"
            )

    def latency_check_names(self) -> tuple[str, ...]:
        """One check per limit: `latency-slo` for a single one (the name it always had), else
        `latency-slo-p99`, `latency-slo-p50`, ... so each is unique in the status."""
        if len(self.latency) == 1:
            return ("latency-slo",)
        return tuple(f"latency-slo-{limit.label}" for limit in self.latency)


@dataclass(frozen=True)
class AnalysisSettings:
    """Everything `evaluate` needs besides the data.

    `alpha` is the error budget of one rollout. The checks that roll back (harm and guardrails)
    share it by Bonferroni: each gets `alpha / k` for k such checks, so the chance that any of
    them fires on a canary that is as good as stable stays at most `alpha`. Non-inferiority
    checks all have to pass before an early promotion (an intersection-union test), so each may
    use the whole `alpha`; so does the sample-ratio check, which only holds.
    """

    alpha: float = 0.05
    error_rate: Tolerance = field(default_factory=Tolerance)
    latency: Tolerance = field(default_factory=Tolerance)
    error_rate_harm: Tolerance = HARM_MARGIN
    latency_harm: Tolerance = HARM_MARGIN
    slo: SloLimits = field(default_factory=SloLimits)
    no_data: NoDataSettings = field(default_factory=NoDataSettings)
    check_error_rate: bool = True
    check_latency: bool = True
    check_sample_ratio: bool = True

    def __post_init__(self) -> None:
        if not 0.0 < self.alpha < 1.0:
            raise SettingsError(f"alpha {self.alpha} must be in (0, 1), for example 0.05")
        for name, tolerance in (("error-rate", self.error_rate), ("latency", self.latency)):
            if tolerance.is_zero:
                raise SettingsError(
                    f"a {name} non-inferiority tolerance of zero can never be shown; set its "
                    "absolute or relative part above 0"
                )

    @property
    def rollback_checks(self) -> int:
        """How many checks share `alpha` by Bonferroni (at least one, to keep it defined); each
        latency limit is a guardrail of its own and counts once."""
        count = int(self.check_error_rate) + int(self.check_latency)
        count += int(self.slo.max_error_rate is not None)
        count += len(self.slo.latency)
        return max(count, 1)

    @property
    def rollback_alpha(self) -> float:
        """The share of `alpha` each harm or guardrail check is held to."""
        return self.alpha / self.rollback_checks

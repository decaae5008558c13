"""Flagger- and Argo Rollouts-style analysis: the canary alone, against fixed limits.

Both tools query the canary's own success rate and p99 latency over a recent window and compare
them with limits the user wrote down; neither looks at the stable revision. They differ in how
failed checks add up:

- Flagger (docs.flagger.app, "Metrics Analysis" and "Deployment Strategies"): each analysis
  interval runs every metric over its own window (`interval: 1m` on the built-in
  `request-success-rate`, default `thresholdRange.min: 99`, and `request-duration`, the p99 by
  `histogram_quantile`, default `thresholdRange.max: 500` ms). A check fails when any metric is
  out of range, or has no value (no requests in the window gives NaN, which Flagger counts as a
  failed check); failed checks accumulate over the rollout and Flagger rolls back once they
  reach `threshold` (the documentation's examples use 5).
- Argo Rollouts (argo-rollouts.readthedocs.io, "Analysis & Progressive Delivery" and
  "AnalysisTemplate"): a background AnalysisRun measures each metric every `interval`; a
  measurement whose `successCondition` (the documented example: `result[0] >= 0.95` on the
  success rate) is false is Failed, and a metric fails, aborting the rollout, once its Failed
  measurements exceed `failureLimit` (default 0; the documented example uses 3). A NaN result
  (no requests) makes the comparison false, so it is Failed too. `consecutiveErrorLimit`
  (default 4) counts query errors, which this simulator does not produce; with only a
  `successCondition` there is no Inconclusive.

Both look at every tick of the shared plan; the window is the last `window_intervals`
intervals, with the success rate and the p99 computed exactly as the PromQL would from those
increments (`rate()`'s extrapolation cancels in a ratio). The limits come from `Limits`, which
says how an operator would set them for the stable revision's behaviour.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from bench.histogram_quantile import histogram_quantile
from bench.simulator import Arm, Behaviour, Tick


@dataclass(frozen=True)
class Limits:
    """The limits a user writes for the canary: the most errors and the highest p99."""

    max_error_rate: float
    max_p99_seconds: float

    @classmethod
    def with_headroom(cls, stable: Behaviour, factor: float) -> Limits:
        """`factor` times what the stable revision does: how an operator picks limits that a
        healthy service stays clear of (Flagger's defaults, 99% and 500 ms, are about twice
        the errors and p99 of a service at 0.5% and 250 ms)."""
        return cls(
            max_error_rate=min(stable.error_rate * factor, 1.0),
            max_p99_seconds=stable.latency.quantile(0.99) * factor,
        )


class _CanaryWindow:
    """The canary's increments over the last few intervals: what a `[window]` query sees."""

    def __init__(self, intervals: int) -> None:
        if intervals < 1:
            raise ValueError(f"a query window of {intervals} intervals must be at least 1")
        self.intervals = intervals
        self._recent: list[Arm] = []

    def reset(self) -> None:
        self._recent = []

    def advance(self, tick: Tick) -> None:
        self._recent = [*self._recent, tick.canary_increment][-self.intervals :]

    def error_rate_too_high(self, limit: float) -> NDArray[np.bool_]:
        """Where the success rate is below `1 - limit`, or NaN (no requests in the window)."""
        requests = np.sum([a.requests for a in self._recent], axis=0)
        failures = np.sum([a.failures for a in self._recent], axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            success = 1.0 - failures / requests
        return np.asarray(~(success >= 1.0 - limit))  # NaN >= x is False: a failed check

    def p99_too_high(self, bounds: tuple[float, ...], limit_seconds: float) -> NDArray[np.bool_]:
        """Where the window's `histogram_quantile(0.99, ...)` is above the limit, or NaN."""
        cumulative = np.sum([a.cumulative for a in self._recent], axis=0)
        return np.asarray(~(histogram_quantile(0.99, bounds, cumulative) <= limit_seconds))


class FlaggerDecider:
    """Roll back once `threshold` checks have failed, counted over the whole rollout."""

    def __init__(
        self,
        limits: Limits,
        *,
        threshold: int = 5,
        window_intervals: int = 2,
        name: str = "flagger",
    ) -> None:
        if threshold < 1:
            raise ValueError(f"Flagger threshold {threshold} must be at least 1")
        self.name = name
        self.limits = limits
        self.threshold = threshold
        self._window = _CanaryWindow(window_intervals)
        self._failed = np.zeros(0, np.int64)

    def reset(self, runs: int) -> None:
        self._window.reset()
        self._failed = np.zeros(runs, np.int64)

    def look(self, tick: Tick) -> NDArray[np.bool_]:
        self._window.advance(tick)
        failed = self._window.error_rate_too_high(self.limits.max_error_rate)
        failed |= self._window.p99_too_high(tick.bounds, self.limits.max_p99_seconds)
        self._failed = self._failed + failed
        return np.asarray(self._failed >= self.threshold)


class ArgoDecider:
    """Abort once a metric's Failed measurements exceed `failure_limit`."""

    def __init__(
        self,
        limits: Limits,
        *,
        failure_limit: int = 3,
        window_intervals: int = 1,
        name: str = "argo-rollouts",
    ) -> None:
        if failure_limit < 0:
            raise ValueError(f"Argo failureLimit {failure_limit} must be >= 0")
        self.name = name
        self.limits = limits
        self.failure_limit = failure_limit
        self._window = _CanaryWindow(window_intervals)
        self._success_failed = np.zeros(0, np.int64)
        self._latency_failed = np.zeros(0, np.int64)

    def reset(self, runs: int) -> None:
        self._window.reset()
        self._success_failed = np.zeros(runs, np.int64)
        self._latency_failed = np.zeros(runs, np.int64)

    def look(self, tick: Tick) -> NDArray[np.bool_]:
        # Each metric is its own series of measurements with its own count of failures.
        self._window.advance(tick)
        self._success_failed = self._success_failed + self._window.error_rate_too_high(
            self.limits.max_error_rate
        )
        self._latency_failed = self._latency_failed + self._window.p99_too_high(
            tick.bounds, self.limits.max_p99_seconds
        )
        limit = self.failure_limit
        return np.asarray((self._success_failed > limit) | (self._latency_failed > limit))

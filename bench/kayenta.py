"""Kayenta-style canary analysis: repeated Mann-Whitney judgments on per-interval points.

What Spinnaker's canary stage, or Argo Rollouts' Kayenta provider, does with Kayenta's default
judge (NetflixACAJudge-v1.0; Spinnaker docs, "How canary judgment works", "Configure a canary"
and "Add a canary stage to a pipeline"): every analysis interval it fetches each metric as a
time series, one point per step, for the canary and the baseline since the analysis began
(the window grows), classifies each metric Pass, High or Low with the Mann-Whitney procedure
at 98% (`bench.mann_whitney`), and scores the canary as the percentage of classified metrics
that passed (one group, so the group score is the summary score; a group with only NoData
scores 0). A score below `marginal` fails the canary at once; at the end, a score of at least
`pass` succeeds and one in between is inconclusive. The thresholds are the documentation's
examples, marginal 75 and pass 95.

The canary configuration is what a user would write for a model server behind Istio: the error
ratio (5xx over requests), the p50 and the p99 latency (`histogram_quantile` on the step's
buckets), each with `direction: increase`, one point per analysis interval (30 s steps), the
baseline being the stable revision over the same intervals.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from bench.histogram_quantile import histogram_quantile
from bench.mann_whitney import Classification, classify_increase
from bench.simulator import Arm, Tick


def _points(increment: Arm, bounds: tuple[float, ...]) -> NDArray[np.float64]:
    """(runs, 3): this step's error ratio, p50 and p99 for one revision; NaN without data."""
    with np.errstate(invalid="ignore", divide="ignore"):
        errors = increment.failures / increment.requests
    return np.stack(
        [
            np.asarray(errors, np.float64),
            histogram_quantile(0.5, bounds, increment.cumulative),
            histogram_quantile(0.99, bounds, increment.cumulative),
        ],
        axis=-1,
    )


def canary_score(classifications: NDArray[np.int64]) -> NDArray[np.float64]:
    """Per run, 100 x passed / classified over the metrics (last axis); 0 when none has data."""
    passed = np.sum(classifications == Classification.PASS, axis=-1)
    classified = np.sum(classifications != Classification.NO_DATA, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.where(classified > 0, 100.0 * passed / classified, 0.0)
    return np.asarray(score, np.float64)


class KayentaDecider:
    """Judge the growing window at every look; roll back on a score below `marginal`."""

    def __init__(self, *, marginal: float = 75.0, passing: float = 95.0) -> None:
        if not 0.0 <= marginal <= passing <= 100.0:
            raise ValueError(
                f"Kayenta thresholds need 0 <= marginal ({marginal}) <= pass ({passing}) <= 100"
            )
        self.name = "kayenta"
        self.marginal = marginal
        self.passing = passing
        self._canary: list[NDArray[np.float64]] = []
        self._baseline: list[NDArray[np.float64]] = []
        # The score of the latest judgment, per run: the final one decides Pass or Inconclusive.
        self.last_score: NDArray[np.float64] = np.zeros(0)

    def reset(self, runs: int) -> None:
        self._canary = []
        self._baseline = []
        self.last_score = np.zeros(runs)

    def look(self, tick: Tick) -> NDArray[np.bool_]:
        self._canary.append(_points(tick.canary_increment, tick.bounds))
        self._baseline.append(_points(tick.stable_increment, tick.bounds))
        canary = np.stack(self._canary, axis=-1)  # (runs, metrics, points)
        baseline = np.stack(self._baseline, axis=-1)
        classifications = classify_increase(canary, baseline)
        self.last_score = canary_score(classifications)
        return np.asarray(self.last_score < self.marginal)

    def inconclusive(self) -> NDArray[np.bool_]:
        """Where the last judgment scored between marginal and pass (the rollout pauses)."""
        return np.asarray((self.last_score >= self.marginal) & (self.last_score < self.passing))

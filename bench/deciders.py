"""Decision procedures for the simulator: kcanary's own, and the oracle SPRT lower bound.

`KcanaryDecider` runs `analysis.evaluate.judge` (the controller's code) on the simulated
counts and rolls back at the first Fail, including a Fail from the no-data policy once a
revision has served nothing for longer than its limit. `OracleSprt` knows the true error rates:
Wald's SPRT of the canary's failures, true rate against the tolerance boundary, is the test no
other with the same error rates beats on expected sample size, so it is the yardstick for
requests-to-detection.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from analysis.count_arrays import CountArrays
from analysis.evaluate import judge
from analysis.settings import AnalysisSettings
from analysis.verdict import CODE_OF, Verdict
from bench.simulator import Arm, Tick


def _count_arrays(arm: Arm, bounds: tuple[float, ...]) -> CountArrays:
    return CountArrays(
        requests=arm.requests, failures=arm.failures, upper_bounds=bounds, cumulative=arm.cumulative
    )


class KcanaryDecider:
    name = "kcanary"

    def __init__(self, settings: AnalysisSettings) -> None:
        self.settings = settings
        self._last_data_seconds = np.zeros(0)

    def reset(self, runs: int) -> None:
        self._last_data_seconds = np.zeros(runs)

    def look(self, tick: Tick) -> NDArray[np.bool_]:
        split = (
            np.asarray(tick.weights, np.float64),
            tick.stable_per_interval,
            tick.canary_per_interval,
        )
        _, overall = judge(
            self.settings,
            _count_arrays(tick.stable, tick.bounds),
            _count_arrays(tick.canary, tick.bounds),
            split,
        )
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

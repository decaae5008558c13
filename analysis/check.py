"""One check's statistics over a batch of rollouts: what `CheckEvidence` is cut from.

Every test module returns these arrays; `evidence.CheckEvidence.of` picks one rollout out of
them for the status, and the simulator reads only the verdict codes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from analysis.verdict import Role

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class CheckArrays:
    name: str
    role: Role
    metric: NDArray[np.str_]  # what was measured, e.g. "error_rate" or "slower_than_0.1s"
    verdict: NDArray[np.int64]  # codes from verdict.CODE_OF
    stable: FloatArray  # stable's estimate (sample-ratio check: the canary's expected share)
    canary: FloatArray  # the canary's estimate (sample-ratio check: its realised share)
    effect: FloatArray  # canary minus stable (the SLO check: canary minus the limit)
    lower: FloatArray  # the effect's anytime confidence interval
    upper: FloatArray
    log_evalue: FloatArray
    alpha: float  # the level this check is held to; it decides at e-value >= 1 / alpha
    stable_requests: NDArray[np.int64]
    canary_requests: NDArray[np.int64]
    message: str  # what the check asks, for the status and the log

    @property
    def log_threshold(self) -> float:
        return math.log(1.0 / self.alpha)


def decided(log_evalue: FloatArray, alpha: float) -> NDArray[np.bool_]:
    """Where the e-value reached its threshold `1 / alpha` (Ville's inequality)."""
    return np.asarray(log_evalue >= math.log(1.0 / alpha))

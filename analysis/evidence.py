"""What a verdict rests on, in a form small enough for the rollout status and a log line.

`CheckEvidence` is one element of `lastAnalysis.checks[]` (DESIGN.md section 8): name,
metric, verdict, both revisions' estimates, the effect with its anytime confidence interval,
the e-value and the threshold it was held to, and the requests per revision. `to_dict` rounds
floats to four significant digits and never emits inf or NaN (JSON has neither): an e-value
above `EVALUE_CAP` is stored as the cap, and a value that does not exist (stable's estimate
for an SLO check) as None.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from analysis.check import CheckArrays
from analysis.verdict import VERDICT_OF, Role, Verdict

EVALUE_CAP = 1e12  # e-values above this are reported as this; they decided long before


def _rounded(value: float | None) -> float | None:
    if value is None or math.isnan(value):
        return None
    if math.isinf(value):
        return math.copysign(EVALUE_CAP, value)
    if value == 0:
        return 0.0
    return float(f"{value:.4g}")


@dataclass(frozen=True)
class CheckEvidence:
    name: str
    role: Role
    metric: str
    verdict: Verdict
    stable: float | None
    canary: float | None
    effect: float | None
    interval: tuple[float, float] | None
    evalue: float | None
    threshold: float | None
    stable_requests: int
    canary_requests: int
    message: str

    @classmethod
    def of(cls, check: CheckArrays, index: tuple[int, ...] = ()) -> CheckEvidence:
        """The evidence of one rollout (`index` into the batch; `()` for a scalar batch)."""

        def at(values: Any) -> float:
            return float(values[index])

        log_e = at(check.log_evalue)
        return cls(
            name=check.name,
            role=check.role,
            metric=str(check.metric[index]),
            verdict=VERDICT_OF[int(check.verdict[index])],
            stable=at(check.stable),
            canary=at(check.canary),
            effect=at(check.effect),
            interval=(at(check.lower), at(check.upper)),
            evalue=EVALUE_CAP if log_e > math.log(EVALUE_CAP) else math.exp(log_e),
            threshold=1.0 / check.alpha,
            stable_requests=int(check.stable_requests[index]),
            canary_requests=int(check.canary_requests[index]),
            message=check.message,
        )

    @classmethod
    def no_data(cls, name: str, role: Role, reason: str, metric: str = "") -> CheckEvidence:
        """A check without data; `metric` names the metric whose counts alone were missing
        (empty when the look had no requests to judge)."""
        return cls.uncounted(name, role, Verdict.NO_DATA, reason, metric)

    @classmethod
    def uncounted(
        cls, name: str, role: Role, verdict: Verdict, reason: str, metric: str = ""
    ) -> CheckEvidence:
        """A check that counted nothing, with the verdict that stands for why."""
        return cls(
            name=name,
            role=role,
            metric=metric,
            verdict=verdict,
            stable=None,
            canary=None,
            effect=None,
            interval=None,
            evalue=None,
            threshold=None,
            stable_requests=0,
            canary_requests=0,
            message=reason,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe and small: the shape of one `lastAnalysis.checks[]` entry."""
        return {
            "name": self.name,
            "role": self.role.value,
            "metric": self.metric,
            "verdict": self.verdict.value,
            "stable": _rounded(self.stable),
            "canary": _rounded(self.canary),
            "effect": _rounded(self.effect),
            "interval": None
            if self.interval is None
            else [_rounded(self.interval[0]), _rounded(self.interval[1])],
            "evalue": _rounded(self.evalue),
            "threshold": _rounded(self.threshold),
            "samples": {"stable": self.stable_requests, "canary": self.canary_requests},
            "message": self.message,
        }


@dataclass(frozen=True)
class AnalysisResult:
    """The overall verdict of one look and the checks it came from."""

    verdict: Verdict
    checks: tuple[CheckEvidence, ...]
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict.value,
            "message": self.message,
            "checks": [check.to_dict() for check in self.checks],
        }

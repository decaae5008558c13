"""The analysis outcome as the rollout sees it: a verdict and the evidence to show for it.

The analysis package computes the verdicts; this module only fixes the shape in which the
reconciler hands them to the state machine and in which the status keeps the last one. The
evidence (`checks`) is stored as plain JSON so the status shows exactly what the analysis said.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Verdict(StrEnum):
    """Overall verdict of one analysis run, as the status's `lastAnalysis.verdict` spells it."""

    PASS = "Pass"
    FAIL = "Fail"
    INCONCLUSIVE = "Inconclusive"
    NO_DATA = "NoData"


def rolls_back(check_name: str) -> bool:
    """Whether the check so named rolls back: the harm checks (`error-rate-harm`,
    `latency-harm`) and the SLO guardrails (`error-rate-slo`, `latency-slo`, or one per
    quantile, `latency-slo-p99`, when several latency limits are set)."""
    return check_name.endswith(("-harm", "-slo")) or "-slo-" in check_name


@dataclass(frozen=True)
class AnalysisResult:
    """One analysis run for a canary revision, computed over the rollout so far.

    `checks` are the per-check evidence records (`name, metric, verdict, stable, canary, effect,
    interval, evalue, threshold, samples`), passed through to the status unchanged.
    """

    revision: str
    """Hash of the canary revision analysed; a result for another revision is ignored."""
    time: datetime
    verdict: Verdict
    checks: tuple[Mapping[str, Any], ...] = field(default=())


@dataclass(frozen=True)
class AnalysisSummary:
    """The last analysis kept in the status: when, the verdict, and the evidence."""

    time: datetime
    verdict: Verdict
    checks: tuple[Mapping[str, Any], ...] = ()

    @classmethod
    def of(cls, result: AnalysisResult) -> AnalysisSummary:
        """Kept to the second, the status's precision, so it reads back unchanged."""
        checks = tuple(dict(check) for check in result.checks)
        return cls(result.time.replace(microsecond=0), result.verdict, checks)

    @property
    def split_mismatch(self) -> bool:
        """The sample-ratio check failed: the router's split does not follow the weights."""
        return any(
            check.get("name") == "sample-ratio" and str(check.get("verdict")) == Verdict.FAIL.value
            for check in self.checks
        )

    def describe(self) -> str:
        """One line naming the checks behind the verdict, for messages and Events."""
        named = [
            str(check.get("name", "?"))
            for check in self.checks
            if str(check.get("verdict", "")) == self.verdict.value
        ]
        return f"{self.verdict.value} ({', '.join(named)})" if named else self.verdict.value

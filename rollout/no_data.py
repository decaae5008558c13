"""Which no-data policy and limit apply to the last analysis: the rollout-wide `noData`, or one
metric's own (`noData.errorRate`, `noData.latency`).

When requests themselves could not be counted, every check of the analysis is NoData without a
metric, and the rollout-wide policy applies. When only one metric's counts were missing (the
errors query, the latency histogram) while requests were counted, the analysis judged the other
checks and marked that metric's checks NoData with the metric's name (`error_rate`,
`latency`); a `pass` metric was skipped there, so a NoData verdict comes from a `hold` or
`fail` one. The rule is read from the persisted `lastAnalysis.checks[]`, and the hold's timer
is the persisted start of the NoData run, so a restarted controller applies the same rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from rollout.evidence import AnalysisSummary, Verdict
from rollout.strategy import NoDataMetric, NoDataPolicy, Strategy

METRIC_OF_CHECKS = {"error_rate": NoDataMetric.ERROR_RATE, "latency": NoDataMetric.LATENCY}
"""The `metric` a NoData check carries when only that metric lacked data."""

_DATA = {NoDataMetric.ERROR_RATE: "error-rate data", NoDataMetric.LATENCY: "latency data"}


@dataclass(frozen=True)
class NoDataRule:
    policy: NoDataPolicy
    limit: timedelta
    field: str
    """Where the user set it: `noData`, `noData.errorRate` or `noData.latency`."""
    data: str
    """What is missing, for messages: `data`, `error-rate data` or `latency data`."""


def no_data_rule(last: AnalysisSummary | None, strategy: Strategy) -> NoDataRule:
    """The rule for the last analysis: a metric that fails wins over one that holds, and of
    those that hold the shortest limit."""
    wide = NoDataRule(strategy.no_data.policy, strategy.no_data.limit, "noData", "data")
    if last is None or last.verdict is not Verdict.NO_DATA:
        return wide
    named = [str(c.get("metric", "")) for c in last.checks if c.get("verdict") == "NoData"]
    if not named or any(name not in METRIC_OF_CHECKS for name in named):
        return wide
    rules = []
    for metric in sorted(set(METRIC_OF_CHECKS[name] for name in named)):
        policy, limit = strategy.no_data.for_metric(metric)
        if policy is not NoDataPolicy.PASS:
            rules.append(NoDataRule(policy, limit, f"noData.{metric.value}", _DATA[metric]))
    failing = [rule for rule in rules if rule.policy is NoDataPolicy.FAIL]
    if failing:
        return failing[0]
    return min(rules, key=lambda rule: rule.limit) if rules else wide

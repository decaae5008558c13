"""Which no-data policy and limit the state machine applies: the rollout-wide `noData` when
requests were missing, a metric's own (`noData.errorRate`, `noData.latency`, unset fields
inherited) when only that metric's checks lacked data; read from the persisted checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rollout.annotations import parse_strategy
from rollout.evidence import AnalysisSummary, Verdict
from rollout.no_data import NoDataRule, no_data_rule
from rollout.strategy import NoDataMetric, NoDataPolicy, Strategy

AT = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
ANALYSIS = (
    "noData: {policy: fail, limit: 5m, errorRate: {policy: pass}, latency: {policy: hold, "
    "limit: 1m}}"
)


def _strategy(analysis: str = ANALYSIS) -> Strategy:
    parsed = parse_strategy(
        {
            "kcanary.io/strategy": "canary",
            "kcanary.io/traffic": "istio",
            "kcanary.io/analysis": analysis,
        }
    )
    assert isinstance(parsed, Strategy), parsed
    return parsed


def _no_data(*metrics: str) -> AnalysisSummary:
    checks = tuple(
        {"name": f"check-{m or 'all'}", "metric": m, "verdict": "NoData"} for m in metrics
    )
    passing = ({"name": "sample-ratio", "metric": "share", "verdict": "Pass"},)
    return AnalysisSummary(AT, Verdict.NO_DATA, checks + passing)


def test_missing_requests_follow_the_rollout_wide_policy() -> None:
    rule = no_data_rule(_no_data("", ""), _strategy())
    assert rule == NoDataRule(NoDataPolicy.FAIL, timedelta(minutes=5), "noData", "data")


def test_a_held_metric_holds_under_its_own_limit() -> None:
    rule = no_data_rule(_no_data("latency"), _strategy())
    expected = NoDataRule(NoDataPolicy.HOLD, timedelta(minutes=1), "noData.latency", "latency data")
    assert rule == expected


def test_a_metric_without_its_own_policy_inherits_the_rollout_wide_one() -> None:
    strategy = _strategy("noData: {policy: hold, limit: 2m, latency: {limit: 30s}}")
    assert strategy.no_data.for_metric(NoDataMetric.ERROR_RATE) == (
        NoDataPolicy.HOLD,
        timedelta(minutes=2),
    )
    assert strategy.no_data.for_metric(NoDataMetric.LATENCY) == (
        NoDataPolicy.HOLD,
        timedelta(seconds=30),
    )
    failing = no_data_rule(_no_data("error_rate"), _strategy("noData: {policy: fail}"))
    assert (failing.policy, failing.field) == (NoDataPolicy.FAIL, "noData.errorRate")


def test_a_failing_metric_wins_over_a_held_one_and_a_passed_metric_does_not_count() -> None:
    strategy = _strategy("noData: {errorRate: {policy: fail}, latency: {policy: hold}}")
    assert no_data_rule(_no_data("error_rate", "latency"), strategy).field == "noData.errorRate"
    # errorRate passes (skipped by the analysis): the held latency decides.
    assert no_data_rule(_no_data("error_rate", "latency"), _strategy()).field == "noData.latency"


def test_a_verdict_other_than_no_data_uses_the_rollout_wide_rule() -> None:
    last = AnalysisSummary(
        AT, Verdict.PASS, ({"name": "x", "metric": "latency", "verdict": "NoData"},)
    )
    assert no_data_rule(last, _strategy()).field == "noData"

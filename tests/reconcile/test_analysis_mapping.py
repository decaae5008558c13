"""The strategy maps onto the analysis settings and templates, revisions are named as each
metrics source labels them, and a tick reads Prometheus since the rollout start."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fake_queries import FakeQueries

from analysis.increase import Series
from analysis.prometheus import PrometheusSource
from analysis.prometheus_connection import PrometheusConnection
from analysis.query_result import NoData, NoDataKind
from analysis.settings import LatencyLimit, NoDataPolicy
from analysis.templates import RevisionRef
from reconcile.analysis_run import (
    STATUS_CHECK_FIELDS,
    AnalysisJob,
    AnalysisPlan,
    PrometheusAnalyst,
    analysis_plan,
    revision_refs,
    windows,
)
from reconcile.metrics import MetricsRecorder
from rollout.annotations import InvalidStrategy, parse_strategy
from rollout.evidence import Verdict
from rollout.state import WeightPeriod
from rollout.strategy import Strategy

BASE = {"kcanary.io/strategy": "canary", "kcanary.io/traffic": "istio"}
START = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def strategy(**annotations: str) -> Strategy:
    parsed = parse_strategy({**BASE, **annotations})
    assert isinstance(parsed, Strategy), parsed
    return parsed


def plan_of(**annotations: str) -> AnalysisPlan:
    plan = analysis_plan(strategy(**annotations))
    assert isinstance(plan, AnalysisPlan), plan
    return plan


def test_the_defaults_map_to_the_documented_settings() -> None:
    settings = plan_of().settings
    assert settings.alpha == 0.05
    assert (settings.error_rate.absolute, settings.error_rate.relative) == (0.005, 0.2)
    assert settings.latency.relative == 0.2
    assert settings.slo.max_error_rate is None and settings.slo.latency == ()
    # The machine applies the no-data policy from the persisted start of the no-data run.
    assert settings.no_data.policy is NoDataPolicy.HOLD
    assert math.isinf(settings.no_data.limit_seconds)


def test_percent_limits_become_fractions_and_durations_seconds() -> None:
    settings = plan_of(
        **{
            "kcanary.io/analysis": "alpha: 0.01\n"
            "tolerances: {errorRate: {absolute: 1, relative: 0.5}}\n"
            "slo: {errorRate: 2, latency: [{quantile: 0.95, max: 500ms}]}\n"
        }
    ).settings
    assert settings.alpha == 0.01
    assert (settings.error_rate.absolute, settings.error_rate.relative) == (0.01, 0.5)
    assert settings.slo.max_error_rate == 0.02
    assert settings.slo.latency == (LatencyLimit(0.95, 0.5),)


def test_each_latency_limit_becomes_a_guardrail_sharing_alpha() -> None:
    settings = plan_of(
        **{
            "kcanary.io/analysis": "slo: {latency: [{quantile: 0.5, max: 100ms}, "
            "{quantile: 0.999, max: 1s}]}"
        }
    ).settings
    assert settings.slo.latency == (LatencyLimit(0.5, 0.1), LatencyLimit(0.999, 1.0))
    assert settings.slo.latency_check_names() == ("latency-slo-p50", "latency-slo-p99.9")
    # error-rate harm, latency harm and the two latency guardrails share alpha.
    assert settings.rollback_checks == 4 and settings.rollback_alpha == 0.05 / 4


def test_a_source_without_error_counts_runs_no_error_rate_check() -> None:
    plan = plan_of(**{"kcanary.io/metrics": "kserve"})
    assert plan.template.name == "kserve"
    assert not plan.settings.check_error_rate and plan.settings.check_latency


def test_custom_queries_make_the_template_and_override_a_builtin_one() -> None:
    custom = plan_of(
        **{
            "kcanary.io/analysis": "metrics:\n  source: custom\n  queries:\n"
            '    requests: app_requests_total{pod=~"{pod_regex}"}\n'
            '    errors: app_errors_total{pod=~"{pod_regex}"}\n'
        }
    )
    assert custom.template.requests == 'app_requests_total{pod=~"{pod_regex}"}'
    assert custom.template.latency_buckets is None and not custom.settings.check_latency
    overridden = plan_of(
        **{"kcanary.io/analysis": "metrics: {queries: {errors: 'x_total{code=\"500\"}'}}"}
    )
    assert overridden.template.failures == 'x_total{code="500"}'
    assert overridden.template.requests.startswith("istio_requests_total")


def test_a_custom_query_that_is_not_a_selector_is_an_invalid_strategy() -> None:
    plan = analysis_plan(
        strategy(
            **{
                "kcanary.io/analysis": "metrics:\n  source: custom\n  queries:\n"
                "    requests: sum(rate(x[1m]))\n    errors: y\n"
            }
        )
    )
    assert isinstance(plan, InvalidStrategy) and "series selector" in plan.problem


def isvc(**status: Any) -> dict[str, Any]:
    return {
        "metadata": {
            "name": "iris",
            "namespace": "models",
            "annotations": {"serving.kserve.io/deploymentMode": "Serverless"},
        },
        "spec": {"predictor": {"model": {"storageUri": "s3://m/v2"}}},
        "status": status,
    }


def test_with_a_primary_copy_the_workloads_are_the_two_predictors() -> None:
    refs = revision_refs(strategy(), isvc())
    assert not isinstance(refs, str)
    stable, canary = refs
    assert (stable.workload, canary.workload) == ("iris-primary-predictor", "iris-predictor")
    assert stable.model == canary.model == "iris"


def test_in_serverless_mode_the_revisions_are_knatives() -> None:
    kserve = strategy(**{"kcanary.io/traffic": "kserve", "kcanary.io/metrics": "knative"})
    assert "no latestRolledoutRevision" in str(revision_refs(kserve, isvc()))
    components = {
        "predictor": {
            "latestRolledoutRevision": "iris-predictor-00001",
            "latestCreatedRevision": "iris-predictor-00002",
        }
    }
    refs = revision_refs(kserve, isvc(components=components))
    assert not isinstance(refs, str)
    stable, canary = refs
    assert (stable.revision, canary.revision) == ("iris-predictor-00001", "iris-predictor-00002")
    assert canary.workload == "iris-predictor-00002-deployment"


def test_kserves_standard_canary_entries_run_under_their_own_names() -> None:
    kserve = strategy(**{"kcanary.io/traffic": "kserve"})
    standard = isvc()
    standard["metadata"]["annotations"] = {"serving.kserve.io/deploymentMode": "Standard"}
    standard["spec"]["canary"] = [{"trafficPercent": 10, "predictor": {"name": "v2"}}]
    refs = revision_refs(kserve, standard)
    assert not isinstance(refs, str)
    assert (refs[0].workload, refs[1].workload) == ("iris-predictor", "iris-v2-predictor")


def job(plan: AnalysisPlan, at: datetime) -> AnalysisJob:
    stable = RevisionRef("models", "iris", "iris-primary-predictor")
    canary = RevisionRef("models", "iris", "iris-predictor")
    return AnalysisJob(
        namespace="models",
        name="iris",
        plan=plan,
        canary_hash="abc",
        stable=stable,
        canary=canary,
        since=START,
        at=at,
        periods=(WeightPeriod(10, START),),
    )


def test_prometheus_down_is_a_no_data_verdict_and_counts_each_failed_query() -> None:
    reasons: list[str] = []
    queries = FakeQueries(failure=NoData.because(NoDataKind.UNREACHABLE, "connection refused"))
    source = PrometheusSource(queries, on_query_error=lambda kind: reasons.append(kind.value))
    plan = plan_of()
    result = PrometheusAnalyst(source).analyse(job(plan, START + timedelta(seconds=30)))
    assert result.verdict is Verdict.NO_DATA
    assert result.revision == "abc"
    assert reasons and set(reasons) == {"unreachable"}
    assert queries.asked == 1, "the tick gives up at the first failed query"
    assert all(set(check) == set(STATUS_CHECK_FIELDS) for check in result.checks)


def test_counts_since_the_rollout_start_reach_the_evidence() -> None:
    full = plan_of()
    # Requests and errors only, to keep the fake Prometheus small.
    plan = AnalysisPlan(
        replace(full.template, latency_buckets=None), replace(full.settings, check_latency=False)
    )
    t0 = START.timestamp()
    rendered = {
        side: plan.template.render(RevisionRef("models", "iris", workload))
        for side, workload in (("stable", "iris-primary-predictor"), ("canary", "iris-predictor"))
    }
    requests = {"stable": 9000.0, "canary": 1000.0}
    series = {}
    for side, queries in rendered.items():
        samples = ((t0 - 10, 0.0), (t0 + 30, requests[side]))
        series[queries.requests] = [Series({"pod": side}, samples)]
        assert queries.failures is not None
        series[queries.failures] = [Series({"pod": side}, ((t0 - 10, 0.0), (t0 + 30, 0.0)))]
    source = PrometheusSource(FakeQueries(series))
    result = PrometheusAnalyst(source).analyse(job(plan, START + timedelta(seconds=31)))
    assert result.verdict in (Verdict.PASS, Verdict.INCONCLUSIVE)
    counted = {tuple(sorted(check["samples"].items())) for check in result.checks}
    assert (("canary", 1000), ("stable", 9000)) in counted


def test_tolerances_and_harm_margins_map_from_percentage_points_to_fractions() -> None:
    plan = plan_of(
        **{
            "kcanary.io/analysis": "tolerances: {errorRate: {absolute: 1, harm: {absolute: 0.2}},"
            " latency: {relative: 0.3, harm: {relative: 0.1}}}"
        }
    )
    settings = plan.settings
    assert settings.error_rate.absolute == pytest.approx(0.01)
    assert settings.error_rate_harm.absolute == pytest.approx(0.002)
    assert settings.latency.relative == 0.3 and settings.latency.absolute == pytest.approx(0.005)
    assert settings.latency_harm.relative == 0.1 and settings.latency_harm.absolute == 0


def test_the_default_harm_margins_are_zero() -> None:
    settings = plan_of().settings
    assert settings.error_rate_harm.is_zero and settings.latency_harm.is_zero


def test_an_unreachable_prometheus_is_counted_by_reason_in_the_controllers_metrics() -> None:
    metrics = MetricsRecorder()
    analyst = PrometheusAnalyst.connect(
        PrometheusConnection("http://127.0.0.1:9", timeout_s=2.0), metrics=metrics
    )
    try:
        result = analyst.analyse(job(plan_of(), START + timedelta(seconds=30)))
    finally:
        analyst.close()
    assert result.verdict is Verdict.NO_DATA
    counted = metrics.registry.get_sample_value(
        "kcanary_prometheus_query_errors_total", {"reason": "unreachable"}
    )
    assert counted == 1, "one failed query, then the tick gives up"


def _two_period_prometheus(plan: AnalysisPlan) -> FakeQueries:
    """Requests only: 10% for the first minute (900 + 100), 50% after it (500 + 500 by +120s)."""
    t0 = START.timestamp()
    cumulative = {
        "stable": ((t0 - 10, 0.0), (t0 + 60, 900.0), (t0 + 120, 1400.0), (t0 + 300, 1400.0)),
        "canary": ((t0 - 10, 0.0), (t0 + 60, 100.0), (t0 + 120, 600.0), (t0 + 300, 600.0)),
    }
    series = {}
    for side, workload in (("stable", "iris-primary-predictor"), ("canary", "iris-predictor")):
        queries = plan.template.render(RevisionRef("models", "iris", workload))
        series[queries.requests] = [Series({"pod": side}, cumulative[side])]
        assert queries.failures is not None
        zero = tuple((t, 0.0) for t, _ in cumulative[side])
        series[queries.failures] = [Series({"pod": side}, zero)]
    return FakeQueries(series)


def test_each_period_of_constant_weight_is_counted_on_its_own_and_kept_once_closed() -> None:
    full = plan_of()
    plan = AnalysisPlan(
        replace(full.template, latency_buckets=None), replace(full.settings, check_latency=False)
    )
    queries = _two_period_prometheus(plan)
    analyst = PrometheusAnalyst(PrometheusSource(queries))
    periods = (WeightPeriod(10, START), WeightPeriod(50, START + timedelta(seconds=60)))

    def look(after_s: int) -> Any:
        at = START + timedelta(seconds=after_s)
        return analyst.analyse(replace(job(plan, at), periods=periods))

    result = look(121)
    harm = next(c for c in result.checks if c["name"] == "error-rate-harm")
    assert harm["samples"] == {"stable": 1400, "canary": 600}, "totals over both periods"
    ratio = next(c for c in result.checks if c["name"] == "sample-ratio")
    assert ratio["verdict"] == "Pass", "each period's split matches its own weight"
    asked = queries.asked
    look(200)  # the first period ended over a minute ago: its counts are kept
    look(201)
    second, third = queries.asked - asked, None
    assert second == 2 * 2 * 2, "the first look after closing reads both periods"
    asked = queries.asked
    look(202)
    third = queries.asked - asked
    assert third == 2 * 2, "then only the period under way is read"


def test_a_revision_that_served_nothing_in_a_period_does_not_stop_the_analysis() -> None:
    full = plan_of()
    plan = AnalysisPlan(
        replace(full.template, latency_buckets=None), replace(full.settings, check_latency=False)
    )
    queries = _two_period_prometheus(plan)
    # The canary's series appear only at +60s: nothing from it in the first period.
    for selector, found in queries.series.items():
        if "iris-predictor" in selector and "primary" not in selector:
            queries.series[selector] = [
                Series(
                    one.labels, tuple((t, v) for t, v in one.samples if t >= START.timestamp() + 60)
                )
                for one in found
            ]
    analyst = PrometheusAnalyst(PrometheusSource(queries))
    periods = (WeightPeriod(10, START), WeightPeriod(50, START + timedelta(seconds=60)))
    result = analyst.analyse(replace(job(plan, START + timedelta(seconds=121)), periods=periods))
    assert result.verdict is not Verdict.NO_DATA
    ratio = next(c for c in result.checks if c["name"] == "sample-ratio")
    # A series that appears counts from zero: its first sample's 100 fall in the second period.
    assert ratio["samples"]["canary"] == 600, ratio


def test_windows_start_at_the_counts_start_and_drop_periods_over_in_the_warm_up() -> None:
    periods = (
        WeightPeriod(10, START),
        WeightPeriod(25, START + timedelta(seconds=60)),
        WeightPeriod(50, START + timedelta(seconds=120)),
    )
    at = START + timedelta(seconds=150)
    warming = replace(job(plan_of(), at), since=START + timedelta(seconds=90), periods=periods)
    assert [(w.weight, w.since, w.until) for w in windows(warming)] == [
        (25, START + timedelta(seconds=90), START + timedelta(seconds=120)),
        (50, START + timedelta(seconds=120), at),
    ]
    assert windows(replace(warming, since=at)) == [], "at the counts start: nothing to count"


def test_after_a_warm_up_both_revisions_and_the_split_count_from_its_end() -> None:
    full = plan_of()
    plan = AnalysisPlan(
        replace(full.template, latency_buckets=None), replace(full.settings, check_latency=False)
    )
    queries = _two_period_prometheus(plan)
    # What each revision had served by the end of a 30s warm-up, inside the 10% period.
    served = {"iris-primary-predictor": 450.0, "iris-predictor": 50.0}
    for selector, found in queries.series.items():
        workload = next(w for w in served if f'"{w}"' in selector)
        value = served[workload] if "requests" in selector else 0.0
        queries.series[selector] = [
            Series(one.labels, tuple(sorted((*one.samples, (START.timestamp() + 30, value)))))
            for one in found
        ]
    analyst = PrometheusAnalyst(PrometheusSource(queries))
    periods = (WeightPeriod(10, START), WeightPeriod(50, START + timedelta(seconds=60)))
    since = START + timedelta(seconds=30)

    def look(after_s: int) -> Any:
        at = START + timedelta(seconds=after_s)
        return analyst.analyse(replace(job(plan, at), since=since, periods=periods))

    result = look(121)
    harm = next(c for c in result.checks if c["name"] == "error-rate-harm")
    assert harm["samples"] == {"stable": 950, "canary": 550}, "the warm-up's 500 left out"
    ratio = next(c for c in result.checks if c["name"] == "sample-ratio")
    assert ratio["verdict"] == "Pass", "450 + 50 at 10%, then 500 + 500 at 50%"
    assert ratio["samples"] == {"stable": 950, "canary": 550}
    look(200)  # the first period, cut at the counts start, is kept once closed
    asked = queries.asked
    look(201)
    assert queries.asked - asked == 2 * 2, "then only the period under way is read"


def _without_histogram(plan: AnalysisPlan) -> FakeQueries:
    """Requests and errors for both revisions, but no latency histogram series at all."""
    t0 = START.timestamp()
    series = {}
    for workload, served in (("iris-primary-predictor", 9000.0), ("iris-predictor", 1000.0)):
        queries = plan.template.render(RevisionRef("models", "iris", workload))
        series[queries.requests] = [Series({"pod": workload}, ((t0 - 10, 0.0), (t0 + 30, served)))]
        assert queries.failures is not None
        series[queries.failures] = [Series({"pod": workload}, ((t0 - 10, 0.0), (t0 + 30, 0.0)))]
    return FakeQueries(series)


def test_a_missing_histogram_holds_only_the_latency_checks_naming_the_metric() -> None:
    plan = plan_of()
    source = PrometheusSource(_without_histogram(plan))
    result = PrometheusAnalyst(source).analyse(job(plan, START + timedelta(seconds=31)))
    assert result.verdict is Verdict.NO_DATA
    by_name = {check["name"]: (check["verdict"], check["metric"]) for check in result.checks}
    assert by_name["latency-harm"] == ("NoData", "latency")
    assert by_name["latency-noninferiority"] == ("NoData", "latency")
    assert by_name["error-rate-harm"] == ("Inconclusive", "error_rate")


def test_a_missing_histogram_under_latency_pass_is_judged_on_the_error_rate() -> None:
    plan = plan_of(**{"kcanary.io/analysis": "noData: {latency: {policy: pass}}"})
    assert plan.settings.no_data.latency is not None
    assert plan.settings.no_data.latency.policy is NoDataPolicy.PASS
    source = PrometheusSource(_without_histogram(plan))
    result = PrometheusAnalyst(source).analyse(job(plan, START + timedelta(seconds=31)))
    assert result.verdict in (Verdict.PASS, Verdict.INCONCLUSIVE)
    assert {check["metric"] for check in result.checks if check["verdict"] == "NoData"} == {
        "latency"
    }

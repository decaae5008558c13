"""A metric whose counts are missing while requests are counted follows its own no-data policy:
`pass` judges the canary on the others, `fail` fails the look, `hold` holds it (NoData, failing
after the metric's limit); its checks are NoData naming the metric."""

from __future__ import annotations

import math

from analysis.counts import LatencyHistogram, RevisionCounts
from analysis.evaluate import evaluate
from analysis.settings import AnalysisSettings, Metric, NoDataPolicy, NoDataSettings
from analysis.verdict import Verdict

BOUNDS = (0.1, 0.25, math.inf)
GOOD = RevisionCounts(20_000, 20, LatencyHistogram(BOUNDS, (18_000, 20_000, 20_000)))
FAILING = RevisionCounts(20_000, 2_000, LatencyHistogram(BOUNDS, (18_000, 20_000, 20_000)))
WHY = "canary: timeout: query timed out"


def _settings(**per_metric: NoDataSettings) -> AnalysisSettings:
    return AnalysisSettings(check_sample_ratio=False, no_data=NoDataSettings(**per_metric))


def test_pass_skips_the_metric_and_judges_the_canary_on_the_others() -> None:
    settings = _settings(latency=NoDataSettings(policy=NoDataPolicy.PASS))
    result = evaluate(settings, stable=GOOD, canary=GOOD, missing={Metric.LATENCY: WHY})
    assert result.verdict is Verdict.PASS
    assert result.message == (
        "canary shown not worse than allowed on every check; no latency data (canary: timeout: "
        "query timed out): latency not checked (its no-data policy is pass)"
    )
    by_name = {c.name: (c.verdict, c.metric) for c in result.checks}
    assert by_name["latency-harm"] == (Verdict.NO_DATA, "latency")
    assert by_name["latency-noninferiority"] == (Verdict.NO_DATA, "latency")
    assert by_name["error-rate-noninferiority"] == (Verdict.PASS, "error_rate")


def test_fail_fails_the_look_naming_the_metric() -> None:
    settings = _settings(error_rate=NoDataSettings(policy=NoDataPolicy.FAIL))
    result = evaluate(settings, stable=GOOD, canary=GOOD, missing={Metric.ERROR_RATE: WHY})
    assert result.verdict is Verdict.FAIL
    assert result.message == (
        "no error-rate data (canary: timeout: query timed out); failing (its no-data policy is "
        "fail)"
    )


def test_hold_holds_and_fails_after_the_metrics_own_limit() -> None:
    settings = _settings(latency=NoDataSettings(policy=NoDataPolicy.HOLD, limit_seconds=60))
    held = evaluate(settings, stable=GOOD, canary=GOOD, missing={Metric.LATENCY: WHY})
    assert held.verdict is Verdict.NO_DATA
    assert held.message == "no latency data (canary: timeout: query timed out); holding"
    late = evaluate(
        settings,
        stable=GOOD,
        canary=GOOD,
        missing={Metric.LATENCY: WHY},
        seconds_without_data=61,
    )
    assert late.verdict is Verdict.FAIL
    assert late.message == (
        "no latency data (canary: timeout: query timed out) for 61s; failing: longer than its "
        "60s no-data limit"
    )


def test_an_unset_metric_policy_inherits_the_rollout_wide_one() -> None:
    settings = AnalysisSettings(no_data=NoDataSettings(policy=NoDataPolicy.FAIL))
    assert settings.no_data.of(Metric.LATENCY) is settings.no_data
    result = evaluate(settings, stable=GOOD, canary=GOOD, missing={Metric.LATENCY: WHY})
    assert result.verdict is Verdict.FAIL


def test_harm_on_the_other_metric_still_rolls_back_while_one_is_held() -> None:
    result = evaluate(_settings(), stable=GOOD, canary=FAILING, missing={Metric.LATENCY: WHY})
    assert result.verdict is Verdict.FAIL
    assert result.message.startswith("canary worse than allowed: error-rate-harm")
    assert result.message.endswith("no latency data (canary: timeout: query timed out); holding")

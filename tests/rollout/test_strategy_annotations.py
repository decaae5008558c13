"""The strategy read from an ISVC's annotations: defaults, short keys, the analysis YAML, and a
one-line message naming the annotation for every kind of bad input."""

from __future__ import annotations

from datetime import timedelta

from rollout.annotations import is_managed, parse_strategy
from rollout.steps import PauseStep, WeightStep
from rollout.strategy import (
    InconclusivePolicy,
    MetricsSource,
    NoDataPolicy,
    Strategy,
    TrafficMode,
)

MINIMAL = {"kcanary.io/strategy": "canary", "kcanary.io/traffic": "gateway-api"}


def parsed(**extra: str) -> Strategy:
    annotations = dict(MINIMAL)
    annotations.update({f"kcanary.io/{key.replace('_', '-')}": v for key, v in extra.items()})
    result = parse_strategy(annotations)
    assert isinstance(result, Strategy), result
    return result


def test_defaults_are_the_documented_ones() -> None:
    strategy = parsed()
    assert strategy.mode is TrafficMode.GATEWAY_API
    assert strategy.steps == (WeightStep(10), WeightStep(25), WeightStep(50))
    assert strategy.interval == timedelta(seconds=30)
    assert strategy.step_duration == timedelta(minutes=2)
    assert strategy.progress_deadline == timedelta(minutes=10)
    assert strategy.alpha == 0.05
    assert strategy.tolerances.error_rate.absolute == 0.5
    assert strategy.tolerances.error_rate.relative == 0.2
    assert strategy.tolerances.latency.absolute == 0.5
    assert strategy.tolerances.latency.relative == 0.2
    assert strategy.tolerances.error_rate.harm.absolute == 0
    assert strategy.tolerances.error_rate.harm.relative == 0
    assert strategy.tolerances.latency.harm.absolute == 0
    assert strategy.slo.error_rate is None and strategy.slo.latency == ()
    assert strategy.no_data.policy is NoDataPolicy.HOLD
    assert strategy.no_data.limit == timedelta(minutes=5)
    assert strategy.on_inconclusive is InconclusivePolicy.PROMOTE
    assert strategy.advance_on_pass is True
    assert strategy.extend_inconclusive == timedelta(minutes=3)
    assert strategy.warmup == timedelta(seconds=30)
    assert strategy.metrics.source is MetricsSource.ISTIO
    assert strategy.uses_primary_copy


def test_short_keys_set_their_fields() -> None:
    strategy = parsed(
        steps="5,pause,20,pause:10m,60",
        interval="15s",
        step_duration="1h30m",
        metrics="knative",
        route="iris-vs",
        hosts="iris.example.com, iris.internal",
        gateways="istio-system/gw",
        advance_on_pass="False",
        extend_inconclusive="0s",
        warmup="1m30s",
    )
    assert strategy.advance_on_pass is False
    assert strategy.extend_inconclusive == timedelta(0)
    assert strategy.steps == (
        WeightStep(5),
        PauseStep(),
        WeightStep(20),
        PauseStep(timedelta(minutes=10)),
        WeightStep(60),
    )
    assert strategy.weights == (5, 20, 60)
    assert strategy.interval == timedelta(seconds=15)
    assert strategy.step_duration == timedelta(hours=1, minutes=30)
    assert strategy.metrics.source is MetricsSource.KNATIVE
    assert strategy.traffic.route == "iris-vs"
    assert strategy.traffic.hosts == ("iris.example.com", "iris.internal")
    assert strategy.traffic.gateways == ("istio-system/gw",)
    assert strategy.warmup == timedelta(minutes=1, seconds=30)


def test_kserve_mode_has_no_primary_copy() -> None:
    assert not parsed(traffic="kserve").uses_primary_copy


def test_the_analysis_yaml_sets_every_field() -> None:
    yaml_text = """
steps: [10, pause, 50, 100]
interval: 1m
stepDuration: 5m
warmup: 0s
progressDeadline: 15m
advanceOnPass: false
extendInconclusive: 10m
onInconclusive: hold
alpha: 0.01
metrics:
  source: custom
  queries:
    requests: 'sum(my_requests_total{pod=~"$workload.*"}) by (pod)'
    errors: 'sum(my_errors_total{pod=~"$workload.*"}) by (pod)'
tolerances:
  errorRate: {absolute: 1, relative: 0.5}
  latency: {absolute: 10, harm: {relative: 0.1}}
slo:
  errorRate: 2
  latency: [{quantile: 0.99, max: 750ms}]
noData: {policy: fail, limit: 2m}
"""
    strategy = parse_strategy({**MINIMAL, "kcanary.io/analysis": yaml_text})
    assert isinstance(strategy, Strategy), strategy
    assert strategy.weights == (10, 50, 100)
    assert strategy.interval == timedelta(minutes=1)
    assert strategy.step_duration == timedelta(minutes=5)
    assert strategy.warmup == timedelta(0), "0s turns the warm-up off"
    assert strategy.progress_deadline == timedelta(minutes=15)
    assert strategy.on_inconclusive is InconclusivePolicy.HOLD
    assert not strategy.advance_on_pass
    assert strategy.extend_inconclusive == timedelta(minutes=10)
    assert strategy.alpha == 0.01
    assert strategy.metrics.source is MetricsSource.CUSTOM
    assert set(strategy.metrics.queries) == {"requests", "errors"}
    assert strategy.tolerances.error_rate.absolute == 1
    assert strategy.tolerances.latency.absolute == 10
    assert strategy.tolerances.latency.harm.relative == 0.1
    assert strategy.slo.error_rate == 2
    assert strategy.slo.latency[0].max == timedelta(milliseconds=750)
    assert strategy.no_data.policy is NoDataPolicy.FAIL
    assert strategy.no_data.limit == timedelta(minutes=2)


def test_a_short_key_equal_to_the_yaml_value_is_fine() -> None:
    strategy = parse_strategy(
        {**MINIMAL, "kcanary.io/steps": "10, 50", "kcanary.io/analysis": "steps: [10, 50]"}
    )
    assert isinstance(strategy, Strategy)
    assert strategy.weights == (10, 50)


def test_traffic_mode_may_come_from_the_yaml_alone() -> None:
    strategy = parse_strategy(
        {"kcanary.io/strategy": "canary", "kcanary.io/analysis": "traffic: {mode: kserve}"}
    )
    assert isinstance(strategy, Strategy)
    assert strategy.mode is TrafficMode.KSERVE


def test_managed_means_the_strategy_annotation_is_present() -> None:
    assert is_managed(MINIMAL)
    assert not is_managed({"kcanary.io/traffic": "istio"})


def test_other_annotations_are_ignored() -> None:
    strategy = parse_strategy(
        {**MINIMAL, "kcanary.io/action": "promote", "serving.kserve.io/deploymentMode": "Standard"}
    )
    assert isinstance(strategy, Strategy)


def test_the_doc_table_lists_every_field_with_its_default() -> None:
    table = Strategy.to_doc()
    assert "| `steps` | `kcanary.io/steps` | `10,25,50` |" in table
    assert "| `interval` | `kcanary.io/interval` | `30s` |" in table
    assert "| `stepDuration` | `kcanary.io/step-duration` | `2m` |" in table
    assert "| `progressDeadline` |  | `10m` |" in table
    assert "| `noData.limit` |  | `5m` |" in table
    assert "| `alpha` |  | `0.05` |" in table
    assert "| `onInconclusive` |  | `promote` |" in table
    assert "| `advanceOnPass` | `kcanary.io/advance-on-pass` | `true` |" in table
    assert "| `extendInconclusive` | `kcanary.io/extend-inconclusive` | `3m` |" in table
    assert "| `traffic.mode` | `kcanary.io/traffic` | none |" in table
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    assert all(line.count(" | ") == 3 for line in rows), "a cell contains an unescaped |"

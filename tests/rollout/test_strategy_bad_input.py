"""Bad strategy input: every unusable annotation or analysis document becomes an InvalidSpec
message that names the key and what to change, and odd input never raises."""

from __future__ import annotations

import pytest

from rollout.annotations import InvalidStrategy, parse_strategy
from rollout.strategy import Strategy

MINIMAL = {"kcanary.io/strategy": "canary", "kcanary.io/traffic": "gateway-api"}


def problem(annotations: dict[str, str]) -> str:
    result = parse_strategy({**MINIMAL, **annotations})
    assert isinstance(result, InvalidStrategy), result
    return result.message


BAD_INPUTS = [
    (
        {"kcanary.io/steps": "10,abc"},
        'kcanary.io/steps: "10,abc": step 2 "abc" is not a percentage 1-100 or '
        '"pause"/"pause:DURATION"',
    ),
    (
        {"kcanary.io/steps": "0,50"},
        'kcanary.io/steps: "0,50": step 1 "0" is not a percentage 1-100 or '
        '"pause"/"pause:DURATION"',
    ),
    (
        {"kcanary.io/steps": "10,101"},
        'kcanary.io/steps: "10,101": step 2 "101" is not a percentage 1-100 or '
        '"pause"/"pause:DURATION"',
    ),
    (
        {"kcanary.io/steps": "50,25"},
        'kcanary.io/steps: "50,25": step 2 (25) must be greater than the weight before it (50): '
        "weights strictly increase",
    ),
    (
        {"kcanary.io/steps": "10,10"},
        'kcanary.io/steps: "10,10": step 2 (10) must be greater than the weight before it (10): '
        "weights strictly increase",
    ),
    (
        {"kcanary.io/steps": "pause"},
        'kcanary.io/steps: "pause": needs at least one canary weight, for example 10,25,50',
    ),
    (
        {"kcanary.io/steps": "10,,50"},
        'kcanary.io/steps: "10,,50": step 2 "" is not a percentage 1-100 or '
        '"pause"/"pause:DURATION"',
    ),
    (
        {"kcanary.io/steps": "10,pause:soon"},
        'kcanary.io/steps: "10,pause:soon": step 2 "pause:soon": "soon" is not a duration: use a '
        "number with a unit, like 30s, 2m, 1h30m or 250ms",
    ),
    (
        {"kcanary.io/steps": "10,pause:0s,50"},
        'kcanary.io/steps: "10,pause:0s,50": step 2 "pause:0s": a timed pause must be longer '
        "than 0s",
    ),
    (
        {"kcanary.io/interval": "30"},
        'kcanary.io/interval: "30": "30" is not a duration: use a number with a unit, like 30s, '
        "2m, 1h30m or 250ms",
    ),
    (
        {"kcanary.io/interval": "500ms"},
        'kcanary.io/interval: "500ms": 500ms is too short: use at least 1s',
    ),
    (
        {"kcanary.io/step-duration": "2 minutes"},
        'kcanary.io/step-duration: "2 minutes": "2 minutes" is not a duration: use a number with '
        "a unit, like 30s, 2m, 1h30m or 250ms",
    ),
    (
        {"kcanary.io/step-duration": "0s"},
        'kcanary.io/step-duration: "0s": must be longer than 0s',
    ),
    (
        {"kcanary.io/advance-on-pass": "maybe"},
        'kcanary.io/advance-on-pass: "maybe": must be true or false',
    ),
    (
        {"kcanary.io/analysis": "advanceOnPass: maybe"},
        "kcanary.io/analysis: advanceOnPass: must be true or false (got maybe)",
    ),
    (
        {"kcanary.io/analysis": "advanceOnPass: 1"},
        "kcanary.io/analysis: advanceOnPass: must be true or false (got 1)",
    ),
    (
        {"kcanary.io/advance-on-pass": "true", "kcanary.io/analysis": "advanceOnPass: false"},
        'kcanary.io/advance-on-pass: "true" conflicts with advanceOnPass: false in '
        "kcanary.io/analysis; remove one of them",
    ),
    (
        {"kcanary.io/extend-inconclusive": "5"},
        'kcanary.io/extend-inconclusive: "5": "5" is not a duration: use a number with a unit, '
        "like 30s, 2m, 1h30m or 250ms",
    ),
    (
        {"kcanary.io/analysis": "extendInconclusive: 5"},
        'kcanary.io/analysis: extendInconclusive: "5" is not a duration: write it with a unit, '
        "like 30s, 2m or 1h30m (got 5)",
    ),
    (
        {"kcanary.io/warmup": "30"},
        'kcanary.io/warmup: "30": "30" is not a duration: use a number with a unit, like 30s, '
        "2m, 1h30m or 250ms",
    ),
    (
        {"kcanary.io/warmup": "-1s"},
        'kcanary.io/warmup: "-1s": "-1s" is negative: use 0s or a longer duration',
    ),
    (
        {"kcanary.io/warmup": "30s", "kcanary.io/analysis": "warmup: 1m"},
        'kcanary.io/warmup: "30s" conflicts with warmup: 1m in kcanary.io/analysis; '
        "remove one of them",
    ),
    (
        {"kcanary.io/strategy": "bluegreen"},
        'kcanary.io/strategy: "bluegreen": must be one of canary',
    ),
    (
        {"kcanary.io/traffic": "linkerd"},
        'kcanary.io/traffic: "linkerd": must be one of istio | gateway-api | kserve',
    ),
    (
        {"kcanary.io/metrics": "datadog"},
        'kcanary.io/metrics: "datadog": must be one of istio | knative | kserve | custom',
    ),
    (
        {"kcanary.io/route": " "},
        'kcanary.io/route: " ": is empty: give the name of the route to adopt',
    ),
    (
        {"kcanary.io/hosts": "a.example.com,"},
        'kcanary.io/hosts: "a.example.com,": has an empty entry: give names separated by commas, '
        "like a,b",
    ),
    (
        {"kcanary.io/traffic": "kserve", "kcanary.io/route": "iris-vs"},
        "kcanary.io/analysis: traffic.route cannot be used with traffic mode kserve",
    ),
    (
        {"kcanary.io/step": "10,50"},
        "kcanary.io/step: is not a kcanary annotation: did you mean kcanary.io/steps?",
    ),
    (
        {"kcanary.io/steps": "10,50", "kcanary.io/analysis": "steps: [10, pause, 50]"},
        'kcanary.io/steps: "10,50" conflicts with steps: [10, pause, 50] in kcanary.io/analysis; '
        "remove one of them",
    ),
    (
        {"kcanary.io/interval": "30s", "kcanary.io/analysis": "interval: 1m"},
        'kcanary.io/interval: "30s" conflicts with interval: 1m in kcanary.io/analysis; '
        "remove one of them",
    ),
    (
        {"kcanary.io/metrics": "istio", "kcanary.io/analysis": "metrics: {source: kserve}"},
        'kcanary.io/metrics: "istio" conflicts with metrics.source: kserve in '
        "kcanary.io/analysis; remove one of them",
    ),
    (
        {"kcanary.io/analysis": "steps: [10, 50"},
        "kcanary.io/analysis: is not valid YAML at line 1, column 15: expected ',' or ']', but "
        "got '<stream end>'",
    ),
    (
        {"kcanary.io/analysis": "- 10\n- 50"},
        "kcanary.io/analysis: must be a YAML mapping of fields, like 'steps: [10, 50]'",
    ),
    (
        {"kcanary.io/analysis": "alpha: 2"},
        "kcanary.io/analysis: alpha: Input should be less than 1 (got 2)",
    ),
    (
        {"kcanary.io/analysis": "alpha: 0"},
        "kcanary.io/analysis: alpha: Input should be greater than 0 (got 0)",
    ),
    (
        {"kcanary.io/analysis": "stepDuraton: 2m"},
        'kcanary.io/analysis: "stepDuraton": unknown field; check its spelling',
    ),
    (
        {"kcanary.io/analysis": "tolerances: {errorRate: {relative: -0.1}}"},
        "kcanary.io/analysis: tolerances.errorRate.relative: Input should be greater than or "
        "equal to 0 (got -0.1)",
    ),
    (
        {"kcanary.io/analysis": "tolerances: {latency: {quantiles: [0.5, 0.99]}}"},
        "kcanary.io/analysis: tolerances.latency: quantiles is no longer read: latency is "
        "compared by the share of requests slower than each histogram bucket edge; set absolute "
        "and relative (the non-inferiority tolerance) and harm (the rollback margin) instead "
        "(got {'quantiles': [0.5, 0.99]})",
    ),
    (
        {"kcanary.io/analysis": "tolerances: {errorRate: {absolute: 0, relative: 0}}"},
        "kcanary.io/analysis: tolerances.errorRate: a non-inferiority tolerance of 0 can never "
        "be shown: set absolute or relative above 0 (the harm margin may be 0) "
        "(got {'absolute': 0, 'relative': 0})",
    ),
    (
        {"kcanary.io/analysis": "tolerances: {errorRate: {harm: {absolute: -1}}}"},
        "kcanary.io/analysis: tolerances.errorRate.harm.absolute: Input should be greater than "
        "or equal to 0 (got -1)",
    ),
    (
        {"kcanary.io/analysis": "slo: {latency: [{quantile: 0.99}]}"},
        "kcanary.io/analysis: slo.latency.0.max: is required",
    ),
    (
        {"kcanary.io/analysis": "slo: {latency: [{quantile: 0.99, max: fast}]}"},
        'kcanary.io/analysis: slo.latency.0.max: "fast" is not a duration: use a number with a '
        "unit, like 30s, 2m, 1h30m or 250ms (got fast)",
    ),
    (
        {
            "kcanary.io/analysis": "slo: {latency: [{quantile: 0.99, max: 100ms}, "
            "{quantile: 0.99, max: 1s}]}"
        },
        "kcanary.io/analysis: slo.latency: quantile 0.99 is given more than once: give each "
        "quantile one max (got [{'quantile': 0.99, 'max': '100ms'}, {'quantile': 0.99, "
        "'max': '1s'}])",
    ),
    (
        {"kcanary.io/analysis": "noData: {policy: ignore}"},
        "kcanary.io/analysis: noData.policy: Input should be 'hold', 'fail' or 'pass' (got ignore)",
    ),
    (
        {"kcanary.io/analysis": "noData: {errors: {policy: pass}}"},
        'kcanary.io/analysis: "noData.errors": unknown field; check its spelling',
    ),
    (
        {"kcanary.io/analysis": "noData: {latency: {policy: skip}}"},
        "kcanary.io/analysis: noData.latency.policy: Input should be 'hold', 'fail' or 'pass' "
        "(got skip)",
    ),
    (
        {"kcanary.io/analysis": "noData: {errorRate: {limit: 5}}"},
        'kcanary.io/analysis: noData.errorRate.limit: "5" is not a duration: write it with a '
        "unit, like 30s, 2m or 1h30m (got 5)",
    ),
    (
        {"kcanary.io/analysis": "onInconclusive: retry"},
        "kcanary.io/analysis: onInconclusive: Input should be 'promote', 'hold' or 'rollback' "
        "(got retry)",
    ),
    (
        {"kcanary.io/analysis": "progressDeadline: 10"},
        'kcanary.io/analysis: progressDeadline: "10" is not a duration: write it with a unit, like '
        "30s, 2m or 1h30m (got 10)",
    ),
    (
        {"kcanary.io/analysis": "warmup: 30"},
        'kcanary.io/analysis: warmup: "30" is not a duration: write it with a unit, like 30s, 2m '
        "or 1h30m (got 30)",
    ),
    (
        {"kcanary.io/analysis": "warmup: -1s"},
        'kcanary.io/analysis: warmup: "-1s" is negative: use 0s or a longer duration (got -1s)',
    ),
    (
        {"kcanary.io/analysis": "metrics: {source: custom}"},
        "kcanary.io/analysis: metrics: source custom needs queries.requests (and errors or "
        "latencyBuckets) (got {'source': 'custom'})",
    ),
    (
        {"kcanary.io/analysis": "metrics: {queries: {latency: 'x'}}"},
        "kcanary.io/analysis: metrics: unknown query 'latency': use requests, errors or "
        "latencyBuckets (got {'queries': {'latency': 'x'}})",
    ),
    (
        {"kcanary.io/analysis": "metrics: 5"},
        "kcanary.io/analysis: metrics: should be a mapping of fields (key: value) (got 5)",
    ),
    (
        {"kcanary.io/analysis": "traffic: [istio]"},
        "kcanary.io/analysis: traffic: should be a mapping of fields (key: value) (got [istio])",
    ),
    (
        {"kcanary.io/analysis": "slo: {latency: 5}"},
        "kcanary.io/analysis: slo.latency: should be a list (got 5)",
    ),
    (
        {"kcanary.io/interval": "99999999999h"},
        'kcanary.io/interval: "99999999999h": "99999999999h" is too long: use at most 8760h '
        "(a year)",
    ),
    (
        {"kcanary.io/analysis": "steps: 7"},
        "kcanary.io/analysis: steps: steps must be a list like [10, 25, 50] or a string like "
        '"10,pause,50" (got 7)',
    ),
]


@pytest.mark.parametrize(("annotations", "message"), BAD_INPUTS)
def test_bad_input_names_the_annotation_and_what_to_change(
    annotations: dict[str, str], message: str
) -> None:
    assert problem(annotations) == message


def test_a_missing_traffic_mode_says_which_values_are_allowed() -> None:
    result = parse_strategy({"kcanary.io/strategy": "canary"})
    assert isinstance(result, InvalidStrategy)
    assert (
        result.message == "kcanary.io/traffic: is missing: set it to istio, gateway-api or kserve"
    )


def test_a_missing_strategy_annotation_is_not_a_strategy() -> None:
    result = parse_strategy({"kcanary.io/traffic": "istio"})
    assert isinstance(result, InvalidStrategy)
    assert result.key == "kcanary.io/strategy"


ODD_ANALYSIS_DOCUMENTS = [
    "steps: {a: 1}",
    "traffic: null",
    "noData: null",
    "steps: [true]",
    "steps: [10.5]",
    "interval: null",
    "alpha: abc",
    "!!python/object:os.system {}",
    "? [a]\n: b",
    "steps: [1e3]",
    "tolerances: []",
    "&a [*a]",
    "traffic: {hosts: [1, 2]}",
    "metrics: {queries: {requests: 5}}",
    "steps: ''",
    "'': 1",
    "1: 2",
    "interval: 99999999999999h",
    "\t",
    "---\n---",
]
ODD_VALUES = ["", " ", ",", "pause:", "1e3", "٣", "99999999999999999999h", "10,,", "-1", "\x00"]


@pytest.mark.parametrize("document", ODD_ANALYSIS_DOCUMENTS)
def test_odd_analysis_yaml_never_raises(document: str) -> None:
    for extra in ({}, {"kcanary.io/steps": "10,50"}, {"kcanary.io/hosts": "x"}):
        result = parse_strategy({**MINIMAL, **extra, "kcanary.io/analysis": document})
        assert isinstance(result, Strategy | InvalidStrategy)
        if isinstance(result, InvalidStrategy):
            assert "\n" not in result.message


@pytest.mark.parametrize("value", ODD_VALUES)
def test_odd_short_key_values_never_raise(value: str) -> None:
    keys = ("steps", "interval", "step-duration", "hosts", "metrics", "traffic", "route")
    for key in (*keys, "advance-on-pass", "extend-inconclusive"):
        result = parse_strategy({**MINIMAL, f"kcanary.io/{key}": value})
        assert isinstance(result, Strategy | InvalidStrategy)

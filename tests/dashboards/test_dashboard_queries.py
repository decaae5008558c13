"""Every dashboard query is valid PromQL over metrics and labels that really exist."""

from __future__ import annotations

import re

import pytest
from exported_metrics import EXPORTED, ISTIO, KCANARY, KNATIVE, KSERVE
from promql_grammar import (
    LabelError,
    PromQLSyntaxError,
    output_labels,
    parse,
    selectors,
)

from dashboards.generate import render_all
from dashboards.queries import all_queries, substitute

SAMPLE_VALUES = {"namespace": "models", "name": "iris", "isvc": "iris", "check": "error-rate"}

QUERIES = all_queries()
QUERY_IDS = [f"{d} | {p} | {i}" for i, (d, p, _) in enumerate(QUERIES)]


def test_there_are_queries_for_every_source_and_for_the_controller() -> None:
    used = {
        s.metric
        for _, _, expr in QUERIES
        for s in selectors(parse(substitute(expr, SAMPLE_VALUES)))
    }
    for catalog in (KCANARY, ISTIO, KNATIVE, KSERVE):
        assert used & set(catalog), sorted(catalog)
    assert set(KCANARY) - used <= {
        "kcanary_analysis_duration_seconds_count",
        "kcanary_analysis_duration_seconds_sum",
        "kcanary_reconcile_duration_seconds_count",
        "kcanary_reconcile_duration_seconds_sum",
    }


@pytest.mark.parametrize(("dashboard", "panel", "expr"), QUERIES, ids=QUERY_IDS)
def test_query_parses_and_uses_only_exported_metrics_and_labels(
    dashboard: str, panel: str, expr: str
) -> None:
    tree = parse(substitute(expr, SAMPLE_VALUES))
    for selector in selectors(tree):
        assert selector.metric in EXPORTED, f"{panel}: {selector.metric} is not exported"
        carried = EXPORTED[selector.metric]
        for label, _, _ in selector.matchers:
            assert label in carried, f"{panel}: {selector.metric} has no label {label!r}"
    output_labels(tree, EXPORTED)  # raises on a by/on label the series cannot carry


def test_no_query_is_left_with_an_unfilled_variable() -> None:
    for _, panel, expr in QUERIES:
        assert "$" not in substitute(expr, SAMPLE_VALUES), panel


_LABEL_VALUES = re.compile(r"^label_values\((?P<selector>.+),\s*(?P<label>\w+)\)$")


def test_variable_queries_list_labels_of_exported_metrics() -> None:
    for dashboard in render_all():
        for variable in dashboard.model["templating"]["list"]:
            if variable["type"] != "query":
                continue
            match = _LABEL_VALUES.match(variable["query"])
            assert match, variable["query"]
            tree = parse(substitute(match["selector"], {"namespace": "models", "name": "iris"}))
            (selector,) = selectors(tree)
            assert selector.metric in KCANARY
            assert match["label"] in EXPORTED[selector.metric]


def test_canary_and_stable_are_the_workloads_kcanary_routes_between() -> None:
    istio = [e for _, p, e in QUERIES if "istio_requests_total" in e and p == "Request rate"]
    assert any('destination_workload="$isvc-predictor"' in e for e in istio)
    assert any('destination_workload="$isvc-primary-predictor"' in e for e in istio)
    assert all('reporter="destination"' in e for e in istio)


def test_substitute_fills_grafana_variables_and_names_a_missing_one() -> None:
    assert substitute('x{a="$namespace",b="${isvc}"}[$__rate_interval]', SAMPLE_VALUES) == (
        'x{a="models",b="iris"}[1m]'
    )
    assert substitute("rate(x[$__rate_interval])", {"__rate_interval": "2m"}) == "rate(x[2m])"
    with pytest.raises(KeyError, match=r"\$isvc"):
        substitute('x{a="$isvc"}', {})


@pytest.mark.parametrize(
    "bad",
    [
        "sum(rate(x[1m])",
        "rate(x[1m]))",
        'x{a="b"',
        "x{a=b}",
        "frobnicate(x)",
        "sum by (a (x)",
        "x + ",
        "x[5]",
        "x == bool",
    ],
)
def test_grammar_rejects_malformed_promql(bad: str) -> None:
    with pytest.raises(PromQLSyntaxError):
        parse(bad)


def test_grammar_rejects_grouping_by_a_label_the_series_lack() -> None:
    labels = {"x": frozenset({"a", "b"}), "x_bucket": frozenset({"a", "le"})}
    assert output_labels(parse("sum by (a) (x)"), labels) == frozenset({"a"})
    quantile = parse("histogram_quantile(0.5, sum by (le) (x_bucket))")
    assert output_labels(quantile, labels) == frozenset()
    with pytest.raises(LabelError):
        output_labels(parse("sum by (c) (x)"), labels)
    with pytest.raises(LabelError):
        output_labels(parse("histogram_quantile(0.5, sum by (a) (x_bucket))"), labels)
    with pytest.raises(LabelError):
        output_labels(parse("x / on (b) x_bucket"), labels)

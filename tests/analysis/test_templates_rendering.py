"""Metric templates render the PromQL selectors each source needs, and refuse what cannot work."""

from __future__ import annotations

import math

import pytest

from analysis.latency_buckets import BucketLabelError, latency_histogram
from analysis.templates import (
    BUILTIN_TEMPLATES,
    MetricTemplate,
    RevisionRef,
    TemplateError,
    builtin_template,
    istio_template,
)

STANDARD = RevisionRef(namespace="models", isvc="iris", workload="iris-predictor")
SERVERLESS = RevisionRef(
    namespace="models",
    isvc="iris",
    workload="iris-predictor-00002-deployment",
    revision="iris-predictor-00002",
)


def test_istio_reads_the_destination_sidecars_by_workload() -> None:
    queries = builtin_template("istio").render(STANDARD)
    labels = (
        'reporter="destination",destination_workload="iris-predictor",'
        'destination_workload_namespace="models"'
    )
    assert queries.requests == f"istio_requests_total{{{labels}}}"
    assert queries.failures == f'istio_requests_total{{{labels},response_code=~"5.."}}'
    assert queries.latency_buckets == f"istio_request_duration_milliseconds_bucket{{{labels}}}"
    assert builtin_template("istio").latency_unit_s == 0.001


def test_istio_can_read_the_gateways_source_reporter_instead() -> None:
    queries = istio_template("source").render(STANDARD)
    assert queries.requests.startswith('istio_requests_total{reporter="source",')
    assert builtin_template("istio-source") == istio_template("source")
    with pytest.raises(TemplateError, match=r"'destination'.*'source'"):
        istio_template("gateway")


def test_knative_reads_the_queue_proxy_by_revision_name() -> None:
    queries = builtin_template("knative").render(SERVERLESS)
    labels = 'namespace_name="models",revision_name="iris-predictor-00002"'
    assert queries.requests == f"revision_app_request_count{{{labels}}}"
    assert queries.failures == f'revision_app_request_count{{{labels},response_code_class="5xx"}}'
    assert queries.latency_buckets == f"revision_app_request_latencies_bucket{{{labels}}}"
    assert builtin_template("knative").latency_unit_s == 0.001


def test_knative_otel_reads_the_invocation_duration_histogram_in_seconds() -> None:
    queries = builtin_template("knative-otel").render(SERVERLESS)
    labels = 'k8s_namespace_name="models",kn_revision_name="iris-predictor-00002"'
    assert queries.requests == f"kn_serving_invocation_duration_seconds_count{{{labels}}}"
    assert queries.failures == (
        f'kn_serving_invocation_duration_seconds_count{{{labels},http_response_status_code=~"5.."}}'
    )
    assert queries.latency_buckets == f"kn_serving_invocation_duration_seconds_bucket{{{labels}}}"
    assert builtin_template("knative-otel").latency_unit_s == 1.0


def test_kserve_reads_the_model_servers_histogram_and_has_no_failures() -> None:
    queries = builtin_template("kserve").render(STANDARD)
    labels = 'namespace="models",pod=~"iris\\\\-predictor-[a-z0-9]+-[a-z0-9]+"'
    assert queries.requests == f"request_predict_seconds_count{{{labels}}}"
    assert queries.failures is None
    assert queries.latency_buckets == f"request_predict_seconds_bucket{{{labels}}}"


def test_a_knative_template_needs_a_revision_name() -> None:
    template = builtin_template("knative")
    assert template.missing_variables(STANDARD) == ("revision",)
    with pytest.raises(TemplateError, match="needs revision"):
        template.render(STANDARD)


def test_custom_templates_fill_every_documented_variable_escaped() -> None:
    template = MetricTemplate(
        name="custom",
        requests=(
            'http_requests_total{ns="{namespace}",isvc="{isvc}",svc="{service}",'
            'model="{model}",rev="{revision}",deploy="{workload}"}'
        ),
    )
    revision = RevisionRef(
        namespace="m", isvc="i", workload="w", revision="r", service="s", model='a"b'
    )
    assert template.render(revision).requests == (
        'http_requests_total{ns="m",isvc="i",svc="s",model="a\\"b",rev="r",deploy="w"}'
    )
    assert template.variables() == {"namespace", "isvc", "service", "model", "revision", "workload"}


def test_custom_templates_refuse_unknown_variables_and_say_which_exist() -> None:
    with pytest.raises(TemplateError, match=r"unknown variable\(s\) \{pod\}; known: \{namespace\}"):
        MetricTemplate(name="custom", requests='x_total{pod="{pod}"}')


@pytest.mark.parametrize(
    "query",
    [
        'sum(rate(x_total{a="b"}[5m]))',
        'x_total{a="b"}[5m]',
        'x_total{a="b"} offset 5m',
        'x_total{a="b"} + y_total',
        "x_total{a=}",
        "",
    ],
)
def test_custom_templates_must_be_series_selectors(query: str) -> None:
    with pytest.raises(TemplateError, match="must be a series selector"):
        MetricTemplate(name="custom", requests=query)


def test_selectors_with_only_matchers_or_only_a_name_are_accepted() -> None:
    MetricTemplate(name="custom", requests='{__name__="x_total", job="a"}', failures="y_total")


def test_unknown_builtin_names_list_the_known_ones() -> None:
    with pytest.raises(TemplateError, match="istio, istio-source, knative, knative-otel, kserve"):
        builtin_template("linkerd")
    assert set(BUILTIN_TEMPLATES) == {"istio", "istio-source", "knative", "knative-otel", "kserve"}


def test_bucket_bounds_are_converted_to_seconds_and_made_cumulative() -> None:
    histogram = latency_histogram({"5": 2, "5.0": 1, "50": 2, "+Inf": 9, "10": 4}, unit_s=0.001)
    assert histogram.upper_bounds == (0.005, 0.01, 0.05, math.inf)
    # le=50 lost a sample the lower buckets have: carried up so the counts stay cumulative.
    assert histogram.cumulative == (3, 4, 4, 9)


def test_buckets_without_inf_or_with_bad_bounds_are_refused() -> None:
    with pytest.raises(BucketLabelError, match=r"no le=\"\+Inf\""):
        latency_histogram({"1": 3}, unit_s=1.0)
    with pytest.raises(BucketLabelError, match="not a number"):
        latency_histogram({"fast": 3, "+Inf": 3}, unit_s=1.0)

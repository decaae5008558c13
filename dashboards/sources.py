"""Where the canary-vs-stable dashboard finds each revision's traffic, per metric source.

These are the same sources kcanary's analysis reads (`kcanary.io/metrics: istio | knative |
kserve`), written with Grafana's `$namespace` and `$isvc` variables. The labels relied on:

- istio: the serving pod's sidecar, `reporter="destination"`. `destination_workload` is the
  Deployment: `<isvc>-primary-predictor` runs the stable revision and `<isvc>-predictor` the
  canary in the copy-based traffic modes (istio, gateway-api) of KServe's Standard mode;
  `destination_workload_namespace` is the ISVC's namespace; failures are `response_code=~"5.."`.
- knative: the queue-proxy of Serverless mode, `namespace_name` and `revision_name`
  (`<isvc>-predictor-0000N`), failures `response_code_class="5xx"`, latencies in milliseconds.
  Which revision is stable is not in these labels (the InferenceRollout status says), so the
  panels show one series per revision.
- kserve: the model server's `request_predict_seconds` histogram. Its only own label is
  `model_name`, which is the ISVC's name for both revisions (kcanary pins the primary copy's
  served name back to it), so revisions are told apart by the scrape's target labels `namespace`
  and `pod`, which Kubernetes service discovery with the usual relabelling, the Prometheus
  Operator's PodMonitor/ServiceMonitor, and the local cluster's Prometheus all attach. Pods of a
  Deployment are `<deployment>-<template hash>-<suffix>`. The model server counts no status
  codes, so this source has no error rate.

`$isvc` is used inside regular expressions unescaped: InferenceService names are DNS-1035 labels
(lower-case letters, digits and `-`), which have no regex metacharacters.
"""

from __future__ import annotations

from dataclasses import dataclass

RATE = "[$__rate_interval]"


@dataclass(frozen=True)
class Side:
    """The series of one revision (or, grouped by `by`, of each revision) in one source."""

    legend: str
    requests: str
    """Selector of the request counter."""
    buckets: str
    """Selector of the latency histogram's `_bucket` series."""
    failures: str | None = None
    """Selector of the counter restricted to failed (5xx) requests; None if not counted."""
    by: str = ""
    """Label that splits this side into one series per revision; empty for a single series."""

    def _sum(self, selector: str, extra: str = "") -> str:
        labels = ", ".join(label for label in (self.by, extra) if label)
        grouping = f" by ({labels})" if labels else ""
        return f"sum{grouping} (rate({selector}{RATE}))"

    def request_rate(self) -> str:
        return self._sum(self.requests)

    def error_ratio(self) -> str | None:
        """Failed share of requests; a side with traffic but no failure series shows 0."""
        if self.failures is None:
            return None
        failed, total = self._sum(self.failures), self._sum(self.requests)
        return f"({failed} or {total} * 0) / {total}"

    def latency_quantile(self, quantile: float) -> str:
        return f"histogram_quantile({quantile}, {self._sum(self.buckets, 'le')})"


@dataclass(frozen=True)
class MetricSource:
    """One of the sources kcanary's analysis reads, as a row of the dashboard."""

    key: str
    title: str
    description: str
    sides: tuple[Side, ...]
    latency_unit: str
    """Grafana unit of the histogram's buckets (`ms` or `s`)."""

    def canary_share(self) -> str | None:
        """The canary's percentage of requests, when the source names stable and canary."""
        named = {side.legend: side for side in self.sides}
        if set(named) != {"stable", "canary"}:
            return None
        canary = named["canary"].request_rate()
        stable = named["stable"].request_rate()
        return f"100 * {canary} / ({canary} + ({stable} or vector(0)))"


def _istio_side(legend: str, workload: str) -> Side:
    labels = (
        f'reporter="destination", destination_workload_namespace="$namespace", '
        f'destination_workload="{workload}"'
    )
    return Side(
        legend=legend,
        requests=f"istio_requests_total{{{labels}}}",
        failures=f'istio_requests_total{{{labels}, response_code=~"5.."}}',
        buckets=f"istio_request_duration_milliseconds_bucket{{{labels}}}",
    )


ISTIO = MetricSource(
    key="istio",
    title="Istio (Standard mode: primary copy vs the InferenceService)",
    description=(
        "Istio sidecar metrics reported by the serving pods (reporter=destination): the stable "
        "revision runs in <isvc>-primary-predictor, the canary in <isvc>-predictor."
    ),
    sides=(
        _istio_side("stable", "$isvc-primary-predictor"),
        _istio_side("canary", "$isvc-predictor"),
    ),
    latency_unit="ms",
)

_KNATIVE_LABELS = 'namespace_name="$namespace", revision_name=~"$isvc-predictor-[0-9]+"'

KNATIVE = MetricSource(
    key="knative",
    title="Knative queue-proxy (Serverless mode: one series per revision)",
    description=(
        "Knative queue-proxy metrics by revision (<isvc>-predictor-0000N); the "
        "InferenceRollout's status names which revision is stable and which is the canary."
    ),
    sides=(
        Side(
            legend="{{revision_name}}",
            requests=f"revision_app_request_count{{{_KNATIVE_LABELS}}}",
            failures=(
                f'revision_app_request_count{{{_KNATIVE_LABELS}, response_code_class="5xx"}}'
            ),
            buckets=f"revision_app_request_latencies_bucket{{{_KNATIVE_LABELS}}}",
            by="revision_name",
        ),
    ),
    latency_unit="ms",
)


def _kserve_side(legend: str, deployment: str) -> Side:
    labels = f'namespace="$namespace", model_name="$isvc", pod=~"{deployment}-[a-z0-9]+-[a-z0-9]+"'
    return Side(
        legend=legend,
        requests=f"request_predict_seconds_count{{{labels}}}",
        buckets=f"request_predict_seconds_bucket{{{labels}}}",
    )


KSERVE = MetricSource(
    key="kserve",
    title="KServe model server (predict latency by pod; no status codes)",
    description=(
        "The model server's request_predict_seconds histogram, told apart by pod: stable pods "
        "belong to <isvc>-primary-predictor, canary pods to <isvc>-predictor. It counts no "
        "status codes, so there is no error rate here."
    ),
    sides=(
        _kserve_side("stable", "$isvc-primary-predictor"),
        _kserve_side("canary", "$isvc-predictor"),
    ),
    latency_unit="s",
)

SOURCES: tuple[MetricSource, ...] = (ISTIO, KNATIVE, KSERVE)

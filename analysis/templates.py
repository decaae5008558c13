"""Metric templates: where a revision's requests, failures and latency buckets live in Prometheus.

A template holds one PromQL *series selector* per quantity (a metric name with label matchers, no
functions, no range, no `offset`): the source appends a range to it and reads raw samples, so an
expression such as `sum(rate(...))` cannot be used. Selectors name the revision through variables
that `render` fills in from a `RevisionRef`:

- `{namespace}`: the namespace of the InferenceService;
- `{isvc}`: the InferenceService's name;
- `{workload}`: the Deployment that runs the revision's pods (`<isvc>-predictor`, the primary's
  `<isvc>-primary-predictor`, or Knative's `<revision>-deployment`);
- `{pod_regex}`: a regular expression that matches the names of that Deployment's pods,
  for `pod=~"{pod_regex}"`;
- `{revision}`: the Knative revision name (`<isvc>-predictor-00002`), Serverless mode only;
- `{service}`: the Kubernetes Service in front of the revision's pods;
- `{model}`: the model name the server serves.

Values are escaped for a PromQL double-quoted string, so use them inside `"..."`; all but
`{pod_regex}` are meant for `=` matchers, not `=~`.

A failures selector that matches no series counts as zero failures, because error series only
appear with the first error; so a misspelt custom failures selector reads as "no errors". Check a
custom template's failures selector against Prometheus before relying on it.

Built-in templates:

- `istio`: the sidecars' `istio_requests_total` and `istio_request_duration_milliseconds_bucket`
  with `reporter="destination"`, keyed by `destination_workload` and
  `destination_workload_namespace`; failures are `response_code=~"5.."`. These series live in the
  serving pod and lose what was not scraped when it is replaced. `istio-source` reads the ingress
  gateway's `reporter="source"` series instead, which survive serving-pod restarts but see only
  traffic that comes through the gateway.
- `knative`: the queue-proxy's `revision_app_request_count` and
  `revision_app_request_latencies_bucket` (milliseconds) by `namespace_name` and `revision_name`,
  failures `response_code_class="5xx"`: Knative up to 1.18.
- `knative-otel`: the OpenTelemetry instrument `kn.serving.invocation.duration` (seconds, with the
  `http.response.status_code` attribute) that replaced them (Knative serving release notes, "Fix
  metric names to match the original design document", knative/serving#16290; workload metrics in
  the Knative docs' serving-metrics page). Exported to Prometheus it becomes
  `kn_serving_invocation_duration_seconds_{bucket,count}`; requests are the histogram's `_count`.
  The revision and namespace are OpenTelemetry resource attributes (`kn.revision.name`,
  `k8s.namespace.name`); the template expects them as the labels `kn_revision_name` and
  `k8s_namespace_name`, which is what an OpenTelemetry Collector with
  `resource_to_telemetry_conversion` writes. Where they end up only in `target_info`, use a custom
  template keyed by `pod=~"{pod_regex}"`.
- `kserve`: the KServe model server's `request_predict_seconds` histogram (`_count` for requests),
  told apart by the scrape labels `namespace` and `pod` (the usual Kubernetes service-discovery
  relabelling). The model server counts no status codes, so this template has no failures query
  and error-rate checks cannot run on it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

VARIABLES = ("namespace", "isvc", "workload", "pod_regex", "revision", "service", "model")

_VARIABLE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_MATCHER = r'\s*[A-Za-z_][A-Za-z0-9_]*\s*(?:=~|!~|!=|=)\s*"(?:[^"\\]|\\.)*"\s*'
_SELECTOR = re.compile(
    r"\s*(?:[A-Za-z_:][A-Za-z0-9_:]*\s*(?:\{(?:" + _MATCHER + r",)*(?:" + _MATCHER + r")?\})?"
    r"|\{(?:" + _MATCHER + r",)*(?:" + _MATCHER + r")\})\s*",
    re.DOTALL,
)


class TemplateError(ValueError):
    """A template that cannot be used as written, or a revision that lacks what it needs."""


@dataclass(frozen=True)
class RevisionRef:
    """How a revision is named in Prometheus labels; fields a template does not need may be None."""

    namespace: str
    isvc: str
    workload: str | None = None
    revision: str | None = None
    service: str | None = None
    model: str | None = None

    def variable(self, name: str) -> str | None:
        if name == "pod_regex":
            if self.workload is None:
                return None
            # Deployment pods are named <deployment>-<pod-template-hash>-<suffix>.
            return re.escape(self.workload) + "-[a-z0-9]+-[a-z0-9]+"
        value: str | None = getattr(self, name)
        return value


@dataclass(frozen=True)
class RenderedQueries:
    """A template's selectors for one revision; None where the template has no such quantity."""

    requests: str
    failures: str | None
    latency_buckets: str | None


@dataclass(frozen=True)
class MetricTemplate:
    """One series selector per quantity, with variables; see the module docstring.

    `latency_unit_s` is the size of the histogram's unit in seconds (0.001 for milliseconds).
    """

    name: str
    requests: str
    failures: str | None = None
    latency_buckets: str | None = None
    latency_unit_s: float = 1.0

    def __post_init__(self) -> None:
        for quantity, selector in self._selectors():
            if selector is None:
                continue
            unknown = sorted(set(_VARIABLE.findall(selector)) - set(VARIABLES))
            if unknown:
                raise TemplateError(
                    f"metric template {self.name!r}: the {quantity} query uses unknown "
                    f"variable(s) {', '.join('{' + u + '}' for u in unknown)}; "
                    f"known: {', '.join('{' + v + '}' for v in VARIABLES)}"
                )
            if not _SELECTOR.fullmatch(selector):
                raise TemplateError(
                    f"metric template {self.name!r}: the {quantity} query {selector!r} must be a "
                    'series selector such as metric_name{label="value"} (no functions, ranges, '
                    "offsets or operators): kcanary reads the raw samples itself"
                )
        if not self.latency_unit_s > 0:
            raise TemplateError(
                f"metric template {self.name!r}: latency_unit_s must be a positive number of "
                f"seconds (0.001 for milliseconds), got {self.latency_unit_s}"
            )

    def _selectors(self) -> tuple[tuple[str, str | None], ...]:
        return (
            ("requests", self.requests),
            ("failures", self.failures),
            ("latency buckets", self.latency_buckets),
        )

    def variables(self) -> frozenset[str]:
        """The variables the template uses, so a caller can check a revision before a tick."""
        return frozenset(
            name
            for _, selector in self._selectors()
            if selector is not None
            for name in _VARIABLE.findall(selector)
        )

    def missing_variables(self, revision: RevisionRef) -> tuple[str, ...]:
        return tuple(sorted(v for v in self.variables() if revision.variable(v) is None))

    def render(self, revision: RevisionRef) -> RenderedQueries:
        """Fill in the variables; raises TemplateError when the revision lacks one."""
        missing = self.missing_variables(revision)
        if missing:
            raise TemplateError(
                f"metric template {self.name!r} needs {', '.join(missing)} for revision "
                f"{revision.namespace}/{revision.isvc}, which is not known (the knative "
                "templates need Serverless mode's revision names)"
            )

        def fill(selector: str) -> str:
            def value(match: re.Match[str]) -> str:
                text = revision.variable(match.group(1))
                assert text is not None  # checked above
                return text.replace("\\", "\\\\").replace('"', '\\"')

            return _VARIABLE.sub(value, selector).strip()

        return RenderedQueries(
            requests=fill(self.requests),
            failures=fill(self.failures) if self.failures is not None else None,
            latency_buckets=(
                fill(self.latency_buckets) if self.latency_buckets is not None else None
            ),
        )


def istio_template(reporter: str = "destination") -> MetricTemplate:
    """Istio's standard metrics, reported by the serving pod's sidecar or the ingress gateway."""
    if reporter not in ("destination", "source"):
        raise TemplateError(
            f"istio reporter must be 'destination' (the serving pod's sidecar) or 'source' "
            f"(the ingress gateway), got {reporter!r}"
        )
    labels = (
        f'reporter="{reporter}",destination_workload="{{workload}}",'
        'destination_workload_namespace="{namespace}"'
    )
    return MetricTemplate(
        name="istio" if reporter == "destination" else "istio-source",
        requests=f"istio_requests_total{{{labels}}}",
        failures=f'istio_requests_total{{{labels},response_code=~"5.."}}',
        latency_buckets=f"istio_request_duration_milliseconds_bucket{{{labels}}}",
        latency_unit_s=0.001,
    )


_KNATIVE_LABELS = 'namespace_name="{namespace}",revision_name="{revision}"'
_KNATIVE_OTEL_LABELS = 'k8s_namespace_name="{namespace}",kn_revision_name="{revision}"'
_KSERVE_LABELS = 'namespace="{namespace}",pod=~"{pod_regex}"'

BUILTIN_TEMPLATES: dict[str, MetricTemplate] = {
    "istio": istio_template("destination"),
    "istio-source": istio_template("source"),
    "knative": MetricTemplate(
        name="knative",
        requests=f"revision_app_request_count{{{_KNATIVE_LABELS}}}",
        failures=f'revision_app_request_count{{{_KNATIVE_LABELS},response_code_class="5xx"}}',
        latency_buckets=f"revision_app_request_latencies_bucket{{{_KNATIVE_LABELS}}}",
        latency_unit_s=0.001,
    ),
    "knative-otel": MetricTemplate(
        name="knative-otel",
        requests=f"kn_serving_invocation_duration_seconds_count{{{_KNATIVE_OTEL_LABELS}}}",
        failures=(
            "kn_serving_invocation_duration_seconds_count"
            f'{{{_KNATIVE_OTEL_LABELS},http_response_status_code=~"5.."}}'
        ),
        latency_buckets=f"kn_serving_invocation_duration_seconds_bucket{{{_KNATIVE_OTEL_LABELS}}}",
        latency_unit_s=1.0,
    ),
    "kserve": MetricTemplate(
        name="kserve",
        requests=f"request_predict_seconds_count{{{_KSERVE_LABELS}}}",
        failures=None,
        latency_buckets=f"request_predict_seconds_bucket{{{_KSERVE_LABELS}}}",
        latency_unit_s=1.0,
    ),
}


def builtin_template(name: str) -> MetricTemplate:
    """The built-in template of that name, or a TemplateError that lists the names."""
    try:
        return BUILTIN_TEMPLATES[name]
    except KeyError:
        raise TemplateError(
            f"unknown metric template {name!r}; use one of {', '.join(BUILTIN_TEMPLATES)} "
            "or a custom template with PromQL selectors"
        ) from None

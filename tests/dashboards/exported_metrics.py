"""What kcanary and each metric source really export: metric names and the labels they carry.

Written down here, apart from the dashboard code, so that a dashboard query naming a metric or a
label that nothing exports fails a test instead of showing an empty panel.

- kcanary: DESIGN.md section 8. The ServiceMonitor scrapes with `honorLabels: true`, so the
  controller's own `namespace` label (the rollout's namespace) is kept rather than renamed to
  `exported_namespace`.
- Istio: the standard metrics' labels (Istio's "Istio Standard Metrics" reference).
- Knative: queue-proxy's request metrics up to Knative 1.18.
- KServe: the model server's `request_predict_seconds` histogram has only `model_name`; `namespace`
  and `pod` are the scrape target's labels from Kubernetes service discovery.
"""

from __future__ import annotations

SCRAPE_LABELS = frozenset({"job", "instance"})


def _histogram(name: str, labels: frozenset[str]) -> dict[str, frozenset[str]]:
    return {
        f"{name}_bucket": labels | {"le"},
        f"{name}_count": labels,
        f"{name}_sum": labels,
    }


_ROLLOUT = frozenset({"namespace", "name"})

KCANARY: dict[str, frozenset[str]] = {
    "kcanary_rollout_phase": _ROLLOUT | {"phase"},
    "kcanary_canary_weight": _ROLLOUT,
    "kcanary_analysis_verdict": _ROLLOUT | {"check", "verdict"},
    "kcanary_analysis_value": _ROLLOUT | {"check", "revision"},
    "kcanary_analysis_threshold": _ROLLOUT | {"check"},
    "kcanary_decisions_total": _ROLLOUT | {"decision"},
    "kcanary_reconcile_errors_total": frozenset(),
    "kcanary_prometheus_query_errors_total": frozenset({"reason"}),
    **_histogram("kcanary_analysis_duration_seconds", frozenset()),
    **_histogram("kcanary_reconcile_duration_seconds", frozenset()),
}

_ISTIO_LABELS = frozenset(
    {
        "reporter", "source_workload", "source_workload_namespace", "source_principal",
        "source_app", "source_version", "source_canonical_service", "source_canonical_revision",
        "source_cluster", "destination_workload", "destination_workload_namespace",
        "destination_principal", "destination_app", "destination_version", "destination_service",
        "destination_service_name", "destination_service_namespace",
        "destination_canonical_service", "destination_canonical_revision", "destination_cluster",
        "request_protocol", "response_code", "grpc_response_status", "response_flags",
        "connection_security_policy",
    }
)  # fmt: skip

ISTIO: dict[str, frozenset[str]] = {
    "istio_requests_total": _ISTIO_LABELS,
    **_histogram("istio_request_duration_milliseconds", _ISTIO_LABELS),
}

_KNATIVE_LABELS = frozenset(
    {
        "namespace_name", "service_name", "configuration_name", "revision_name", "pod_name",
        "container_name", "response_code", "response_code_class",
    }
)  # fmt: skip

KNATIVE: dict[str, frozenset[str]] = {
    "revision_app_request_count": _KNATIVE_LABELS,
    **_histogram("revision_app_request_latencies", _KNATIVE_LABELS),
}

KSERVE: dict[str, frozenset[str]] = _histogram(
    "request_predict_seconds", frozenset({"model_name", "namespace", "pod"})
)

EXPORTED: dict[str, frozenset[str]] = {
    name: labels | SCRAPE_LABELS
    for name, labels in {**KCANARY, **ISTIO, **KNATIVE, **KSERVE}.items()
}

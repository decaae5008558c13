"""The mesh's series have Istio's and Knative's names, labels and bucket bounds."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from sim.mesh.istio import (
    INGRESS_GATEWAY,
    ISTIO_LABELS,
    DestinationService,
    IstioRequestMetrics,
    Peer,
)
from sim.mesh.pod import KnativeRevision, PodIdentity
from sim.mesh.series import exposition
from sim.modelserver.telemetry import SidecarMetrics

POD = PodIdentity(
    namespace="models",
    pod_name="iris-predictor-00001-deployment-abc",
    workload="iris-predictor-00001-deployment",
    service="iris-predictor-00001",
    app="iris-predictor-00001",
    knative=KnativeRevision("iris-predictor", "iris-predictor", "iris-predictor-00001"),
)

ENVOY_LE = ["0.5", "1", "5", "10", "25", "50", "100", "250", "500", "1000", "2500", "5000",
            "10000", "30000", "60000", "300000", "600000", "1.8e+06", "3.6e+06",
            "+Inf"]  # fmt: skip


def bucket_bounds(text: str, name: str) -> list[str]:
    bounds: list[str] = []
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels["le"] not in bounds:
                bounds.append(sample.labels["le"])
    return bounds


def test_istio_series_carry_every_standard_label_and_envoys_buckets() -> None:
    metrics = IstioRequestMetrics()
    metrics.record(
        reporter="source",
        source=INGRESS_GATEWAY,
        service=DestinationService("iris-predictor-00001", "models"),
        pod=POD,
        response_code=200,
        response_flags="-",
        duration_ms=12.0,
    )
    text = exposition(metrics.families).decode()
    assert "# TYPE istio_requests_total counter" in text
    assert "# TYPE istio_request_duration_milliseconds histogram" in text
    families = {f.name: f for f in text_string_to_metric_families(text)}
    (sample,) = families["istio_requests"].samples
    assert sample.name == "istio_requests_total"
    assert set(sample.labels) == set(ISTIO_LABELS) and len(ISTIO_LABELS) == 25
    assert sample.labels["destination_service"] == "iris-predictor-00001.models.svc.cluster.local"
    assert sample.labels["source_workload"] == "istio-ingressgateway"
    assert sample.labels["connection_security_policy"] == "unknown"
    assert bucket_bounds(text, "istio_request_duration_milliseconds_bucket") == ENVOY_LE
    assert "_created" not in text  # Envoy exports no creation timestamps


def test_destination_sidecar_reports_mtls_from_the_gateway_and_none_from_outside() -> None:
    sidecar = SidecarMetrics(POD)
    sidecar.record_request(Peer.from_headers({}), 200, 3.0)
    headers = {"x-envoy-peer-metadata": INGRESS_GATEWAY.header_value()}
    sidecar.record_request(Peer.from_headers(headers), 503, 3.0)
    samples = [
        s
        for f in text_string_to_metric_families(sidecar.exposition().decode())
        for s in f.samples
        if s.name == "istio_requests_total"
    ]
    by_code = {s.labels["response_code"]: s.labels for s in samples}
    assert by_code["200"]["source_workload"] == "unknown"
    assert by_code["200"]["connection_security_policy"] == "none"
    assert by_code["503"]["source_workload"] == "istio-ingressgateway"
    assert by_code["503"]["connection_security_policy"] == "mutual_tls"
    assert all(s.labels["reporter"] == "destination" for s in samples)


def test_queue_proxy_series_have_knatives_names_labels_and_buckets() -> None:
    sidecar = SidecarMetrics(POD)
    sidecar.record_request(Peer.from_headers({}), 503, 42.0)
    text = sidecar.exposition().decode()
    assert "# TYPE revision_app_request_count counter" in text
    count_line = next(
        line for line in text.splitlines() if line.startswith("revision_app_request_count{")
    )
    for label in ('configuration_name="iris-predictor"', 'namespace_name="models"',
                  'revision_name="iris-predictor-00001"', 'service_name="iris-predictor"',
                  'response_code="503"', 'response_code_class="5xx"',
                  'pod_name="iris-predictor-00001-deployment-abc"'):  # fmt: skip
        assert label in count_line
    assert bucket_bounds(text, "revision_app_request_latencies_bucket")[:4] == [
        "5",
        "10",
        "20",
        "40",
    ]
    assert bucket_bounds(text, "revision_app_request_latencies_bucket")[-2:] == ["100000", "+Inf"]

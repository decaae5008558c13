"""Everything one model-server pod exports at `/metrics`, kept for one container's life.

A real pod's metrics come from three processes: the KServe model server itself
(`request_*_seconds` histograms, label `model_name`, prometheus-client defaults), the Istio sidecar
(`reporter="destination"` series, merged into one scrape endpoint by Istio's metrics merging), and
for Knative revisions the queue-proxy (`revision_app_request_*`, latencies in ms). All of them
start from zero when the container restarts, so a `PodTelemetry` is made anew for each start.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Histogram, generate_latest

from sim.mesh.istio import DestinationService, IstioRequestMetrics, Peer
from sim.mesh.series import CounterVec, HistogramVec
from sim.mesh.pod import PodIdentity

# Knative queue-proxy's request latency bounds, in milliseconds.
KNATIVE_LATENCY_BUCKETS_MS: tuple[float, ...] = (
    5, 10, 20, 40, 60, 80, 100, 150, 200, 250, 300, 350, 400, 450, 500, 600,
    700, 800, 900, 1000, 2000, 5000, 10000, 20000, 50000, 100000,
)  # fmt: skip

KNATIVE_LABELS: tuple[str, ...] = (
    "namespace_name",
    "service_name",
    "configuration_name",
    "revision_name",
    "pod_name",
    "container_name",
    "response_code",
    "response_code_class",
)

KSERVE_LABELS = ("model_name",)


class PodTelemetry:
    """The metrics of one model-server container start."""

    def __init__(self, pod: PodIdentity) -> None:
        self.pod = pod
        self.registry = CollectorRegistry(auto_describe=True)
        self.preprocess = Histogram(
            "request_preprocess_seconds",
            "pre-process request latency",
            KSERVE_LABELS,
            registry=self.registry,
        )
        self.predict = Histogram(
            "request_predict_seconds",
            "predict request latency",
            KSERVE_LABELS,
            registry=self.registry,
        )
        self.postprocess = Histogram(
            "request_postprocess_seconds",
            "post-process request latency",
            KSERVE_LABELS,
            registry=self.registry,
        )
        self.explain = Histogram(
            "request_explain_seconds",
            "explain request latency",
            KSERVE_LABELS,
            registry=self.registry,
        )
        self.istio = IstioRequestMetrics(self.registry)
        self.knative_count: CounterVec | None = None
        self.knative_latency: HistogramVec | None = None
        if pod.knative is not None:
            self.knative_count = CounterVec(
                "revision_app_request_count",
                "The number of requests that are routed to user-container",
                KNATIVE_LABELS,
            )
            self.knative_latency = HistogramVec(
                "revision_app_request_latencies",
                "The response time in millisecond",
                KNATIVE_LABELS,
                KNATIVE_LATENCY_BUCKETS_MS,
            )
            self.registry.register(self.knative_count)
            self.registry.register(self.knative_latency)

    def record_request(self, source: Peer, status: int, duration_ms: float) -> None:
        """What the sidecar and queue-proxy count for one request that reached this pod."""
        self.istio.record(
            reporter="destination",
            source=source,
            service=DestinationService(self.pod.service, self.pod.namespace),
            pod=self.pod,
            response_code=status,
            response_flags="-",
            duration_ms=duration_ms,
        )
        knative = self.pod.knative
        if knative is None or self.knative_count is None or self.knative_latency is None:
            return
        labels = (
            self.pod.namespace,
            knative.service_name,
            knative.configuration_name,
            knative.revision_name,
            self.pod.pod_name,
            "queue-proxy",
            str(status),
            f"{status // 100}xx",
        )
        self.knative_count.inc(labels)
        self.knative_latency.observe(labels, duration_ms)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

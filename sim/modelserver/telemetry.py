"""Everything one model-server pod exports at `/metrics`, kept as long as what counts it lives.

A real pod's metrics come from three containers: the KServe model server itself
(`request_*_seconds` histograms, label `model_name`, prometheus-client defaults), the Istio sidecar
(`reporter="destination"` series, merged into one scrape endpoint by Istio's metrics merging), and
for Knative revisions the queue-proxy (`revision_app_request_*`, latencies in ms). A crash
restarts only the model-server container, so only `ModelServerMetrics` start again from zero; the
sidecars' `SidecarMetrics` reset when the pod is replaced.
"""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    GCCollector,
    Histogram,
    PlatformCollector,
    generate_latest,
)

from sim.mesh.istio import DestinationService, IstioRequestMetrics, Peer
from sim.mesh.pod import PodIdentity
from sim.mesh.series import CounterVec, Family, HistogramVec, exposition
from sim.modelserver.pod_process import PodProcessCollector

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


class ModelServerMetrics:
    """The KServe model server's own metrics, for one start of its container."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.served = 0
        """Predictions made since the container started (what its process series grow with)."""
        # KServe serves prometheus-client's default registry, with the process and Python series;
        # the process series are the pod's own, not the shared test process's (pod_process).
        self.registry.register(PodProcessCollector(lambda: self.served))
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
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


class SidecarMetrics:
    """What the pod's Istio sidecar and, for Knative revisions, queue-proxy count."""

    def __init__(self, pod: PodIdentity) -> None:
        self.pod = pod
        self.istio = IstioRequestMetrics()
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

    def exposition(self) -> bytes:
        families: list[Family] = list(self.istio.families)
        if self.knative_count is not None and self.knative_latency is not None:
            families += [self.knative_count, self.knative_latency]
        return exposition(families)

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


class PodTelemetry:
    """One pod's merged scrape endpoint: the current container's metrics and the sidecars'."""

    def __init__(self, pod: PodIdentity) -> None:
        self.pod = pod
        self.model_server = ModelServerMetrics()
        self.sidecar = SidecarMetrics(pod)

    def restart_container(self) -> None:
        """The model-server container restarted: its metrics start from zero, the sidecars' not."""
        self.model_server = ModelServerMetrics()

    def exposition(self) -> bytes:
        return generate_latest(self.model_server.registry) + self.sidecar.exposition()

"""Istio's standard HTTP metrics, as the sidecars and the ingress gateway export them.

`istio_requests_total` and `istio_request_duration_milliseconds` carry the same label set at both
ends of a request; `reporter` says which proxy counted it. The serving pod's sidecar counts with
`reporter="destination"` and loses its counts when the pod is replaced; the ingress gateway counts
with `reporter="source"` and keeps them. Buckets are Envoy's default histogram bounds (ms).

Which peer sent a request travels in the `x-envoy-peer-metadata` header, as Istio's metadata
exchange does; ours carries base64 JSON instead of Istio's protobuf.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass

from sim.mesh.pod import PodIdentity
from sim.mesh.series import CounterVec, Family, HistogramVec

PEER_METADATA_HEADER = "x-envoy-peer-metadata"

ENVOY_DEFAULT_BUCKETS_MS: tuple[float, ...] = (
    0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000,
    30000, 60000, 300000, 600000, 1800000, 3600000,
)  # fmt: skip

ISTIO_LABELS: tuple[str, ...] = (
    "reporter",
    "source_workload",
    "source_workload_namespace",
    "source_principal",
    "source_app",
    "source_version",
    "source_canonical_service",
    "source_canonical_revision",
    "source_cluster",
    "destination_workload",
    "destination_workload_namespace",
    "destination_principal",
    "destination_app",
    "destination_version",
    "destination_service",
    "destination_service_name",
    "destination_service_namespace",
    "destination_canonical_service",
    "destination_canonical_revision",
    "destination_cluster",
    "request_protocol",
    "response_code",
    "grpc_response_status",
    "response_flags",
    "connection_security_policy",
)

CLUSTER_ID = "Kubernetes"  # Istio's default cluster name


@dataclass(frozen=True)
class Peer:
    """The workload on the other end of a request, as Istio labels it (`unknown` if not meshed)."""

    workload: str = "unknown"
    namespace: str = "unknown"
    principal: str = "unknown"
    app: str = "unknown"
    version: str = "unknown"
    canonical_service: str = "unknown"
    canonical_revision: str = "latest"

    def header_value(self) -> str:
        return _encode_peer(self)

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> Peer:
        """The peer named in the metadata-exchange header, or an unknown (non-mesh) caller."""
        raw = headers.get(PEER_METADATA_HEADER)
        return _decode_peer(raw) if raw else UNKNOWN_PEER


# Every request carries one of a handful of peers: decode and encode each once.
@functools.lru_cache(maxsize=256)
def _encode_peer(peer: Peer) -> str:
    return base64.b64encode(json.dumps(asdict(peer)).encode()).decode()


@functools.lru_cache(maxsize=256)
def _decode_peer(raw: str) -> Peer:
    try:
        fields = json.loads(base64.b64decode(raw, validate=True))
        known = Peer.__dataclass_fields__
        return Peer(**{k: str(v) for k, v in fields.items() if k in known})
    except (binascii.Error, ValueError, TypeError):
        return UNKNOWN_PEER


UNKNOWN_PEER = Peer(canonical_revision="unknown")

INGRESS_GATEWAY = Peer(
    workload="istio-ingressgateway",
    namespace="istio-system",
    principal="spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account",
    app="istio-ingressgateway",
    version="unknown",
    canonical_service="istio-ingressgateway",
    canonical_revision="latest",
)


@dataclass(frozen=True)
class DestinationService:
    """The Service a request was routed to, known even when no pod could take it."""

    name: str
    namespace: str

    @property
    def host(self) -> str:
        return f"{self.name}.{self.namespace}.svc.cluster.local"


class IstioRequestMetrics:
    """One proxy's `istio_requests_total` and `istio_request_duration_milliseconds`."""

    def __init__(self) -> None:
        self.requests = CounterVec("istio_requests_total", "", ISTIO_LABELS)
        self.duration = HistogramVec(
            "istio_request_duration_milliseconds", "", ISTIO_LABELS, ENVOY_DEFAULT_BUCKETS_MS
        )

    @property
    def families(self) -> tuple[Family, ...]:
        return (self.requests, self.duration)

    def record(
        self,
        *,
        reporter: str,
        source: Peer,
        service: DestinationService,
        pod: PodIdentity | None,
        response_code: int,
        response_flags: str,
        duration_ms: float,
    ) -> None:
        labels = istio_labels(
            reporter=reporter,
            source=source,
            service=service,
            pod=pod,
            response_code=response_code,
            response_flags=response_flags,
        )
        self.requests.inc(labels)
        self.duration.observe(labels, duration_ms)


@functools.lru_cache(maxsize=4096)  # few distinct combinations, one lookup per request
def istio_labels(
    *,
    reporter: str,
    source: Peer,
    service: DestinationService,
    pod: PodIdentity | None,
    response_code: int,
    response_flags: str,
) -> tuple[str, ...]:
    """The label values, in `ISTIO_LABELS` order, of one request as one proxy reports it."""
    # mTLS is only known to the server side; the client side reports "unknown".
    security = "mutual_tls" if reporter == "destination" and source != UNKNOWN_PEER else "none"
    if reporter == "source":
        security = "unknown"
    if pod is None:
        # No pod took the request (Envoy's UH/UF): the workload side is unknown.
        destination = ("unknown",) * 4
        canonical = ("unknown", "unknown")
    else:
        destination = (pod.workload, pod.namespace, pod.principal, pod.app)
        canonical = (pod.canonical_service_name, pod.canonical_revision)
    values = {
        "reporter": reporter,
        "source_workload": source.workload,
        "source_workload_namespace": source.namespace,
        "source_principal": source.principal,
        "source_app": source.app,
        "source_version": source.version,
        "source_canonical_service": source.canonical_service,
        "source_canonical_revision": source.canonical_revision,
        "source_cluster": CLUSTER_ID if source != UNKNOWN_PEER else "unknown",
        "destination_workload": destination[0],
        "destination_workload_namespace": destination[1],
        "destination_principal": destination[2],
        "destination_app": destination[3],
        "destination_version": pod.version if pod is not None else "unknown",
        "destination_service": service.host,
        "destination_service_name": service.name,
        "destination_service_namespace": service.namespace,
        "destination_canonical_service": canonical[0],
        "destination_canonical_revision": canonical[1],
        "destination_cluster": CLUSTER_ID,
        "request_protocol": "http",
        "response_code": str(response_code),
        "grpc_response_status": "",
        "response_flags": response_flags,
        "connection_security_policy": security,
    }
    return tuple(values[name] for name in ISTIO_LABELS)

"""Simulated KServe model servers: many real HTTP servers in one process, one per pod.

`ModelServerHost` runs them on one asyncio loop in a background thread; each `ModelServer`
listens on its own loopback port, speaks the KServe V1 and V2 REST protocols, and exports at
`/metrics` what its pod would: the KServe Python server's histograms, the Istio sidecar's
`reporter="destination"` series and, for Serverless revisions, Knative's queue-proxy series.
"""

from sim.mesh.pod import KnativeRevision, PodIdentity
from sim.modelserver.host import ModelServer, ModelServerHost
from sim.modelserver.naming import ModelServerSpec, Protocol, served_model_name

__all__ = [
    "KnativeRevision",
    "ModelServer",
    "ModelServerHost",
    "ModelServerSpec",
    "PodIdentity",
    "Protocol",
    "served_model_name",
]

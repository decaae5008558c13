"""What one reconcile of an ISVC works with: the owned kinds, KServe's config and the switches."""

from __future__ import annotations

from dataclasses import dataclass

from sim.kserve.ingress_config import IngressConfig
from sim.kserve.owned import OwnedObjects


@dataclass
class KServeHostility:
    """Switches for KServe behaviour that a lenient stand-in would hide."""

    revert_route_edits: bool = True  # put back edits to the Ingresses/HTTPRoutes KServe owns


@dataclass(frozen=True)
class ReconcileContext:
    config: IngressConfig
    hostility: KServeHostility
    deployments: OwnedObjects
    services: OwnedObjects
    ingresses: OwnedObjects
    http_routes: OwnedObjects


def cluster_local_host(name: str, namespace: str) -> str:
    return f"{name}.{namespace}.svc.cluster.local"

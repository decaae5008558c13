"""Who a model server is in the cluster: the labels its pod's proxies put on their metrics.

Istio's sidecar derives `destination_workload`, `destination_app`, the canonical service and
revision from the pod's owner and labels; Knative's queue-proxy adds the revision it belongs to.
The cluster wiring fills these in from the objects it created; the defaults follow Istio's rules
(`version` and `app` labels absent give "unknown", canonical revision "latest").
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KnativeRevision:
    """The Knative revision a Serverless pod serves, as queue-proxy labels its metrics."""

    service_name: str  # the Knative Service, `<isvc>-predictor`
    configuration_name: str  # same name as the Knative Service
    revision_name: str  # `<isvc>-predictor-0000N`


@dataclass(frozen=True)
class PodIdentity:
    """The identity of one model-server pod, as Istio and Knative label their metrics."""

    namespace: str
    pod_name: str
    workload: str  # the Deployment: `<isvc>-predictor` or `<revision>-deployment`
    service: str  # the Kubernetes Service in front of it (short name)
    app: str = "unknown"  # pod label `app`
    version: str = "unknown"  # pod label `version`
    canonical_service: str = ""  # defaults to the workload name, as Istio does
    canonical_revision: str = "latest"
    service_account: str = "default"
    knative: KnativeRevision | None = None

    @property
    def service_host(self) -> str:
        """The Service's cluster-local host name, Istio's `destination_service`."""
        return f"{self.service}.{self.namespace}.svc.cluster.local"

    @property
    def principal(self) -> str:
        """The SPIFFE identity of the pod's service account, as mTLS presents it."""
        return f"spiffe://cluster.local/ns/{self.namespace}/sa/{self.service_account}"

    @property
    def canonical_service_name(self) -> str:
        return self.canonical_service or self.workload

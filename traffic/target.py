"""What a router routes: one InferenceService's hosts, gateways and its two Services.

In the istio and gateway-api modes the stable revision runs in kcanary's copy of the ISVC,
``<name>-primary``, whose predictor Service is ``<name>-primary-predictor``; the canary is the
user's ISVC itself, Service ``<name>-predictor``. :func:`route_target` derives all of it from
the ISVC object, KServe's ingress settings and the annotations the caller passes in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from traffic.errors import RouteError
from traffic.ingress_config import IngressConfig
from traffic.router import RouterKind

__all__ = ["CLUSTER_DOMAIN", "MANAGED_BY_LABEL", "RouteTarget", "route_target"]

MANAGED_BY_LABEL = ("app.kubernetes.io/managed-by", "kcanary")
"""The label on every object kcanary creates."""

CLUSTER_DOMAIN = "cluster.local"
ISVC_API_VERSION = "serving.kserve.io/v1beta1"


@dataclass(frozen=True)
class RouteTarget:
    """Everything a router needs to know about the InferenceService it routes."""

    namespace: str
    isvc_name: str
    isvc_uid: str
    """For the ownerReference that lets Kubernetes delete owned routes with the ISVC."""
    hosts: tuple[str, ...] = ()
    """Public hosts the route serves (KServe's, or ``kcanary.io/hosts``)."""
    gateways: tuple[str, ...] = ()
    """Gateways the route attaches to, as ``namespace/name`` (or ``name``: the ISVC's namespace)."""
    port: int = 80
    """The predictor Services' port (KServe's Standard mode uses 80)."""
    adopted_route: str | None = None
    """The name of the user's route to adopt (``kcanary.io/route``), or None to own one."""

    @property
    def stable_service(self) -> str:
        """The Service of kcanary's primary copy, which runs the stable revision."""
        return f"{self.isvc_name}-primary-predictor"

    @property
    def canary_service(self) -> str:
        """The Service of the user's ISVC, which runs the newest spec."""
        return f"{self.isvc_name}-predictor"

    @property
    def owned_route_name(self) -> str:
        """The name of the VirtualService or HTTPRoute kcanary creates."""
        return f"{self.isvc_name}-kcanary"

    @property
    def route_name(self) -> str:
        """The route the router writes: the adopted one, else the owned one."""
        return self.adopted_route or self.owned_route_name

    def service_host(self, service: str) -> str:
        """A Service's fully qualified in-cluster host name."""
        return f"{service}.{self.namespace}.svc.{CLUSTER_DOMAIN}"

    def owner_reference(self) -> dict[str, Any]:
        """Makes the ISVC the controller of an owned object, so deleting it removes them."""
        return {
            "apiVersion": ISVC_API_VERSION,
            "kind": "InferenceService",
            "name": self.isvc_name,
            "uid": self.isvc_uid,
            "controller": True,
            "blockOwnerDeletion": True,
        }

    def owned_metadata(self) -> dict[str, Any]:
        """Metadata for an object kcanary owns: name, namespace, label, ownerReference."""
        key, value = MANAGED_BY_LABEL
        return {
            "name": self.owned_route_name,
            "namespace": self.namespace,
            "labels": {key: value},
            "ownerReferences": [self.owner_reference()],
        }


def route_target(
    isvc: Mapping[str, Any],
    ingress: IngressConfig,
    *,
    kind: RouterKind,
    hosts: Sequence[str] | None = None,
    gateways: Sequence[str] | None = None,
    adopted_route: str | None = None,
    port: int = 80,
) -> RouteTarget:
    """The target for ``isvc``; ``hosts``/``gateways`` override KServe's when given.

    ``hosts`` and ``gateways`` come from the ``kcanary.io/hosts`` and ``kcanary.io/gateways``
    annotations, ``adopted_route`` from ``kcanary.io/route``; the caller parses them.
    """
    meta = isvc.get("metadata") or {}
    name, namespace = str(meta.get("name") or ""), str(meta.get("namespace") or "")
    if not name or not namespace or not meta.get("uid"):
        raise RouteError("the InferenceService object has no name, namespace or uid")
    if hosts:
        chosen_hosts = tuple(hosts)
    else:
        chosen_hosts = ingress.public_hosts(
            name, namespace, labels=meta.get("labels"), annotations=meta.get("annotations")
        )
    if gateways:
        chosen_gateways = tuple(gateways)
    elif kind is RouterKind.ISTIO:
        chosen_gateways = (ingress.ingress_gateway,)
    elif kind is RouterKind.GATEWAY_API:
        chosen_gateways = (ingress.kserve_ingress_gateway,)
    else:
        chosen_gateways = ()
    for gateway in chosen_gateways:
        if not gateway or gateway.count("/") > 1 or "" in gateway.split("/"):
            raise RouteError(
                f"gateway {gateway!r} for InferenceService {namespace}/{name} is neither "
                "namespace/name nor name; fix kcanary.io/gateways"
            )
    return RouteTarget(
        namespace=namespace,
        isvc_name=name,
        isvc_uid=str(meta["uid"]),
        hosts=chosen_hosts,
        gateways=chosen_gateways,
        port=port,
        adopted_route=adopted_route or None,
    )

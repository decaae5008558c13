"""Choosing the router for an InferenceService's ``kcanary.io/traffic`` mode."""

from __future__ import annotations

from traffic.gateway_api import GatewayApiRouter
from traffic.istio import IstioRouter
from traffic.kserve import DeploymentMode, KServeRouter
from traffic.router import Router, RouterKind
from traffic.store import ResourceType, Store
from traffic.target import RouteTarget

__all__ = ["make_router"]


def make_router(
    kind: RouterKind,
    store: Store,
    target: RouteTarget,
    *,
    route_resource: ResourceType | None = None,
    default_mode: DeploymentMode = DeploymentMode.SERVERLESS,
) -> Router:
    """The router of ``kind`` for ``target``, reading and writing through ``store``.

    ``route_resource`` picks another API version of the route kind (Istio before 1.22 serves
    VirtualServices only as ``v1beta1``). ``default_mode`` is KServe's default deployment mode,
    used by the kserve router for ISVCs that neither name a mode nor report one yet.
    """
    if kind is RouterKind.ISTIO:
        return IstioRouter(store, target, resource=route_resource)
    if kind is RouterKind.GATEWAY_API:
        return GatewayApiRouter(store, target, resource=route_resource)
    return KServeRouter(store, target, default_mode=default_mode)

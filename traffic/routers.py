"""Choosing the router for an InferenceService's ``kcanary.io/traffic`` mode."""

from __future__ import annotations

from traffic.gateway_api import GatewayApiRouter
from traffic.istio import IstioRouter
from traffic.kserve import DeploymentMode, KServeRouter
from traffic.router import Router, RouterKind
from traffic.store import Store
from traffic.target import RouteTarget

__all__ = ["make_router"]


def make_router(
    kind: RouterKind,
    store: Store,
    target: RouteTarget,
    *,
    default_mode: DeploymentMode = DeploymentMode.SERVERLESS,
) -> Router:
    """The router of ``kind`` for ``target``, reading and writing through ``store``.

    ``default_mode`` is KServe's default deployment mode (its ``deploy`` settings), used by the
    kserve router for ISVCs that neither name a mode nor report one yet.
    """
    if kind is RouterKind.ISTIO:
        return IstioRouter(store, target)
    if kind is RouterKind.GATEWAY_API:
        return GatewayApiRouter(store, target)
    return KServeRouter(store, target, default_mode=default_mode)

"""The mesh gateway's data plane: one HTTP entry point that routes by Host and splits by weight.

Routes come from VirtualServices, HTTPRoutes, Ingresses and KServe Serverless traffic through
pure translations (`translate`) into a `RoutingTable`; Services resolve to pods through a
`ServiceDirectory`; the gateway exports Istio's `reporter="source"` series as the ingress gateway.
"""

from sim.gateway.directory import Endpoint, PodDirectory, ServiceDirectory
from sim.gateway.proxy import Gateway
from sim.gateway.routing import Backend, RequestMatch, RouteRule, RoutingTable, StringMatch
from sim.gateway.translate import GatewayBinding, HostConflict, Translation, build_routing_table

__all__ = [
    "Backend",
    "Endpoint",
    "Gateway",
    "GatewayBinding",
    "HostConflict",
    "PodDirectory",
    "RequestMatch",
    "RouteRule",
    "RoutingTable",
    "ServiceDirectory",
    "StringMatch",
    "Translation",
    "build_routing_table",
]

"""The gateway-api router: an HTTPRoute splitting the ISVC's host between stable and canary.

The owned HTTPRoute ``<isvc>-kcanary`` attaches to KServe's Gateway (``kserveIngressGateway``,
``kserve/kserve-ingress-gateway`` by default, or ``kcanary.io/gateways``), serves the ISVC's
public hosts, and has one rule with two backendRefs, the primary copy's Service (stable) and
the ISVC's Service (canary). Fields the API server would default (the ``/`` path prefix match,
group and kind of refs) are written out, so a route read back compares equal to what was written.

HTTPRoute weights are relative (0 to 1,000,000). kcanary writes percentages (stable 90,
canary 10). In an adopted route, the pair keeps its total weight when it is at least 100, so
its share of a rule with other backends does not move; a coarser pair (the default weight is 1)
is scaled up to 100 together with the other backends of the rule, which keeps every backend's
share. A rule holds at most 16 backendRefs and kcanary never adds any.
"""

from __future__ import annotations

from typing import Any

from traffic.errors import RouteError, UnroutableTarget
from traffic.router import RouterKind
from traffic.store import JsonObject, ResourceType
from traffic.weighted_route import Split, WeightedRouteRouter, half_up

__all__ = ["HTTP_ROUTE", "GatewayApiRouter", "parent_refs"]

HTTP_ROUTE = ResourceType("gateway.networking.k8s.io", "v1", "HTTPRoute", "httproutes")
GATEWAY_GROUP = "gateway.networking.k8s.io"
MAX_WEIGHT = 1_000_000
MAX_BACKEND_REFS = 16
MAX_HOSTNAMES = 16
MAX_PARENT_REFS = 32
DEFAULT_WEIGHT = 1


def parent_refs(gateways: tuple[str, ...]) -> list[dict[str, Any]]:
    """ParentRefs for gateways written ``namespace/name`` (or ``name``: the route's namespace)."""
    refs: list[dict[str, Any]] = []
    for gateway in gateways:
        namespace, _, name = gateway.rpartition("/")
        ref: dict[str, Any] = {"group": GATEWAY_GROUP, "kind": "Gateway", "name": name}
        if namespace:
            ref["namespace"] = namespace
        refs.append(ref)
    return refs


class GatewayApiRouter(WeightedRouteRouter):
    """Drives an owned or adopted Gateway API HTTPRoute."""

    resource = HTTP_ROUTE
    router_kind = RouterKind.GATEWAY_API

    def owned_route(self, canary_percent: int) -> JsonObject:
        target = self._target
        if not target.gateways:
            raise RouteError(
                f"{self.name} needs a Gateway to attach to; set kserveIngressGateway in KServe's "
                "inferenceservice-config or the kcanary.io/gateways annotation"
            )
        if len(target.hosts) > MAX_HOSTNAMES or len(target.gateways) > MAX_PARENT_REFS:
            raise RouteError(
                f"{self.name}: an HTTPRoute takes at most {MAX_HOSTNAMES} hostnames and "
                f"{MAX_PARENT_REFS} parentRefs; kcanary.io/hosts or kcanary.io/gateways lists "
                f"{len(target.hosts)} and {len(target.gateways)}"
            )
        return {
            "apiVersion": self.resource.api_version,
            "kind": self.resource.kind,
            "metadata": target.owned_metadata(),
            "spec": {
                "parentRefs": parent_refs(target.gateways),
                "hostnames": list(target.hosts),
                "rules": [
                    {
                        "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                        "backendRefs": [
                            self._backend(target.stable_service, 100 - canary_percent),
                            self._backend(target.canary_service, canary_percent),
                        ],
                    }
                ],
            },
        }

    def splits(self, route: JsonObject) -> list[Split]:
        found: list[Split] = []
        sends_to = {"stable": False, "canary": False}
        route_namespace = str((route.get("metadata") or {}).get("namespace") or "")
        for position, rule in enumerate((route.get("spec") or {}).get("rules") or []):
            backends = rule.get("backendRefs") or []
            location = _location(position, rule)
            roles = {
                role: [
                    index
                    for index, backend in enumerate(backends)
                    if self._is_service(backend, service, route_namespace)
                ]
                for role, service in (
                    ("stable", self._target.stable_service),
                    ("canary", self._target.canary_service),
                )
            }
            for role, indices in roles.items():
                sends_to[role] = sends_to[role] or bool(indices)
                if len(indices) > 1:
                    raise UnroutableTarget(
                        f"{self.name}: {location} refers to the {role} Service "
                        f"{len(indices)} times; kcanary can only weigh one backendRef per Service"
                    )
            if roles["stable"] and roles["canary"]:
                found.append(
                    Split(
                        location=location,
                        path=("spec", "rules", position, "backendRefs"),
                        stable=roles["stable"][0],
                        canary=roles["canary"][0],
                        weights=tuple(_weight(backend) for backend in backends),
                    )
                )
        if not found:
            raise UnroutableTarget(self._no_split_message(sends_to))
        return found

    def planned_weights(self, split: Split, canary_percent: int) -> tuple[int, ...]:
        weights = list(split.weights)
        pair = weights[split.stable] + weights[split.canary]
        has_others = len(weights) > 2
        if pair >= 100 or not has_others:
            budget = max(pair, 100)
        elif pair > 0:
            factor = -(-100 // pair)  # the smallest factor that lifts the pair to 100 or more
            weights = [weight * factor for weight in weights]
            budget = pair * factor
        else:
            raise UnroutableTarget(
                f"{self.name}: {split.location} gives weight 0 to both the stable and the canary "
                "Service, so their share of the rule is unknown; give the stable backendRef the "
                "weight the InferenceService should get"
            )
        canary = half_up(budget * canary_percent, 100)
        weights[split.stable], weights[split.canary] = budget - canary, canary
        if max(weights) > MAX_WEIGHT:
            raise UnroutableTarget(
                f"{self.name}: {split.location} would need a weight above {MAX_WEIGHT}; "
                "lower the weights of its backendRefs"
            )
        return tuple(weights)

    def _backend(self, service: str, weight: int) -> dict[str, Any]:
        return {
            "group": "",
            "kind": "Service",
            "name": service,
            "port": self._target.port,
            "weight": weight,
        }

    def _is_service(self, backend: Any, service: str, route_namespace: str) -> bool:
        if not isinstance(backend, dict):
            return False
        return (
            (backend.get("group") or "") == ""
            and (backend.get("kind") or "Service") == "Service"
            and backend.get("name") == service
            and (backend.get("namespace") or route_namespace) == self._target.namespace
        )

    def _no_split_message(self, sends_to: dict[str, bool]) -> str:
        stable, canary = self._target.stable_service, self._target.canary_service
        if not sends_to["stable"] and not sends_to["canary"]:
            missing = "no rule has a backendRef to either"
        elif not sends_to["canary"]:
            missing = "no rule has a backendRef to the canary"
        elif not sends_to["stable"]:
            missing = "no rule has a backendRef to the stable"
        else:
            missing = "no single rule has backendRefs to both"
        return (
            f"{self.name} cannot be adopted: {missing} of Service {stable} (stable, kcanary's "
            f"primary copy) and Service {canary} (canary, the InferenceService) in namespace "
            f"{self._target.namespace}; add the missing backendRef (weight 0) next to the other "
            f"in the rule that serves the InferenceService (at most {MAX_BACKEND_REFS} per rule)"
        )


def _location(position: int, rule: dict[str, Any]) -> str:
    name = rule.get("name")
    return f'spec.rules[{position}] ("{name}")' if name else f"spec.rules[{position}]"


def _weight(backend: Any) -> int:
    weight = backend.get("weight", DEFAULT_WEIGHT) if isinstance(backend, dict) else 0
    return int(weight) if isinstance(weight, int) else DEFAULT_WEIGHT

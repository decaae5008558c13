"""The istio router: a VirtualService splitting the ISVC's host between stable and canary.

The owned VirtualService ``<isvc>-kcanary`` serves the ISVC's public hosts on the ingress
gateway and, for in-mesh callers, the ``<isvc>-predictor`` Service host on the ``mesh``
gateway (one object bound to both, like Flagger's apex service), with one HTTP route of two
destinations::

    hosts:    [iris-models.example.com, iris-predictor.models.svc.cluster.local]
    gateways: [knative-serving/knative-ingress-gateway, mesh]
    http:
    - name: kcanary
      route:
      - destination: {host: iris-primary-predictor.models.svc.cluster.local, port: {number: 80}}
        weight: 90
      - destination: {host: iris-predictor.models.svc.cluster.local, port: {number: 80}}
        weight: 10

Weights are integers summing to 100, which every Istio version accepts. In an adopted
VirtualService a route may send to a third destination as well: its weight is kept and the
stable and canary destinations share what it leaves of 100 (so the route still sums to 100
when it did before). A destination without a weight counts as 0.
"""

from __future__ import annotations

from typing import Any

from traffic.errors import UnroutableTarget
from traffic.router import RouterKind
from traffic.store import JsonObject, ResourceType
from traffic.weighted_route import Split, WeightedRouteRouter, half_up

__all__ = ["VIRTUAL_SERVICE", "VIRTUAL_SERVICE_V1BETA1", "IstioRouter"]

VIRTUAL_SERVICE = ResourceType("networking.istio.io", "v1", "VirtualService", "virtualservices")
VIRTUAL_SERVICE_V1BETA1 = ResourceType(
    "networking.istio.io", "v1beta1", "VirtualService", "virtualservices"
)
"""For Istio before 1.22, which does not serve ``networking.istio.io/v1``."""
MESH_GATEWAY = "mesh"


class IstioRouter(WeightedRouteRouter):
    """Drives an owned or adopted Istio VirtualService."""

    resource = VIRTUAL_SERVICE
    router_kind = RouterKind.ISTIO

    def owned_route(self, canary_percent: int) -> JsonObject:
        target = self._target
        internal_host = target.service_host(target.canary_service)
        return {
            "apiVersion": self.resource.api_version,
            "kind": self.resource.kind,
            "metadata": target.owned_metadata(),
            "spec": {
                "hosts": list(dict.fromkeys([*target.hosts, internal_host])),
                "gateways": list(dict.fromkeys([*target.gateways, MESH_GATEWAY])),
                "http": [
                    {
                        "name": "kcanary",
                        "route": [
                            self._destination(target.stable_service, 100 - canary_percent),
                            self._destination(target.canary_service, canary_percent),
                        ],
                    }
                ],
            },
        }

    def splits(self, route: JsonObject) -> list[Split]:
        found: list[Split] = []
        sends_to = {"stable": False, "canary": False}
        namespace = str((route.get("metadata") or {}).get("namespace") or self._target.namespace)
        for position, http in enumerate((route.get("spec") or {}).get("http") or []):
            destinations = http.get("route") or []
            location = _location(position, http)
            roles = {
                "stable": self._indices(destinations, self._target.stable_service, namespace),
                "canary": self._indices(destinations, self._target.canary_service, namespace),
            }
            for role, indices in roles.items():
                sends_to[role] = sends_to[role] or bool(indices)
                if len(indices) > 1:
                    raise UnroutableTarget(
                        f"{self.name}: {location} sends to the {role} Service "
                        f"{len(indices)} times (subsets?); kcanary can only weigh one "
                        "destination per Service, so merge them"
                    )
            if roles["stable"] and roles["canary"]:
                found.append(
                    Split(
                        location=location,
                        path=("spec", "http", position, "route"),
                        stable=roles["stable"][0],
                        canary=roles["canary"][0],
                        weights=tuple(_weight(d) for d in destinations),
                    )
                )
        if not found:
            raise UnroutableTarget(self._no_split_message(sends_to))
        return found

    def planned_weights(self, split: Split, canary_percent: int) -> tuple[int, ...]:
        others = sum(split.weights) - split.weights[split.stable] - split.weights[split.canary]
        budget = 100 - others
        if budget <= 0:
            raise UnroutableTarget(
                f"{self.name}: other destinations in {split.location} take {others} of 100, "
                "leaving nothing for the stable and canary Services; lower their weights"
            )
        canary = half_up(budget * canary_percent, 100)
        weights = list(split.weights)
        weights[split.stable], weights[split.canary] = budget - canary, canary
        return tuple(weights)

    def _destination(self, service: str, weight: int) -> dict[str, Any]:
        return {
            "destination": {
                "host": self._target.service_host(service),
                "port": {"number": self._target.port},
            },
            "weight": weight,
        }

    def _indices(self, destinations: list[Any], service: str, route_namespace: str) -> list[int]:
        return [
            index
            for index, entry in enumerate(destinations)
            if _names_service(
                str(((entry or {}).get("destination") or {}).get("host") or ""),
                service,
                self._target.namespace,
                route_namespace,
            )
        ]

    def _no_split_message(self, sends_to: dict[str, bool]) -> str:
        stable = self._target.service_host(self._target.stable_service)
        canary = self._target.service_host(self._target.canary_service)
        if not sends_to["stable"] and not sends_to["canary"]:
            missing = "no HTTP route sends to either"
        elif not sends_to["canary"]:
            missing = "no HTTP route sends to the canary"
        elif not sends_to["stable"]:
            missing = "no HTTP route sends to the stable"
        else:
            missing = "no single HTTP route sends to both"
        return (
            f"{self.name} cannot be adopted: {missing} of {stable} (stable, kcanary's primary "
            f"copy) and {canary} (canary, the InferenceService); add the missing destination "
            "(weight 0) next to the other in the route that serves the InferenceService"
        )


def _location(position: int, http: dict[str, Any]) -> str:
    name = http.get("name")
    return f'spec.http[{position}] ("{name}")' if name else f"spec.http[{position}]"


def _weight(entry: Any) -> int:
    weight = (entry or {}).get("weight")
    return int(weight) if isinstance(weight, int) else 0


def _names_service(host: str, service: str, namespace: str, route_namespace: str) -> bool:
    """Whether Istio resolves ``host``, written in ``route_namespace``, to the Service.

    Short names resolve in the route's namespace; the fully qualified name may use any cluster
    domain, not only ``cluster.local``.
    """
    if host == service:
        return route_namespace == namespace
    qualified = f"{service}.{namespace}"
    return host in (qualified, f"{qualified}.svc") or host.startswith(f"{qualified}.svc.")

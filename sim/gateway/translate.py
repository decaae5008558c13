"""Pure translations from route objects (plain dicts, as the API server stores them) to rules.

The gateway reads the same objects a real mesh would: Istio VirtualServices, Gateway API
HTTPRoutes, networking.k8s.io Ingresses (class `istio`), and for KServe Serverless ISVCs the
traffic KServe and Knative program from `status.components.predictor.traffic[]`. It never
calls kcanary's code, so what it routes checks what kcanary's routers wrote.

When several objects claim one host on this gateway, the gateway does what Istio does for
VirtualServices bound to a gateway: it merges their rules, oldest object first (creation
timestamp, then namespace/name), and the first rule that matches a request wins. So an older
catch-all route (KServe's own Ingress, say) shadows a newer split for the same host, as it would in
a real cluster; every such shared host is reported as a `HostConflict` and logged. (For sidecars,
the `mesh` gateway, Istio instead keeps only the oldest VirtualService; this gateway is an ingress
gateway, so merging applies.) Within one HTTPRoute, rules are ordered by Gateway API precedence
(exact path, then longer prefix, then more header matches).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from sim.gateway.routing import (
    Backend,
    PathPrefix,
    RequestMatch,
    RouteOrigin,
    RouteRule,
    RoutingTable,
    StringMatch,
)

log = logging.getLogger(__name__)

Obj = Mapping[str, Any]

CLUSTER_SUFFIX = ".svc.cluster.local"


@dataclass(frozen=True)
class GatewayBinding:
    """Which route objects attach to this entry point.

    Defaults are KServe's: VirtualServices on `knative-serving/knative-ingress-gateway` (the
    `ingressGateway` of `inferenceservice-config`) or the stock `istio-system/istio-ingressgateway`,
    HTTPRoutes on `kserve/kserve-ingress-gateway`, Ingresses of class `istio`.
    """

    istio_gateways: frozenset[str] = frozenset(
        {"knative-serving/knative-ingress-gateway", "istio-system/istio-ingressgateway"}
    )
    gateway_api_parents: frozenset[str] = frozenset({"kserve/kserve-ingress-gateway"})
    ingress_class: str = "istio"


@dataclass(frozen=True)
class HostRules:
    """The rules one object contributes for one host."""

    host: str
    rules: tuple[RouteRule, ...]
    created: str  # RFC 3339 creation timestamp, for Istio's oldest-first merge


@dataclass(frozen=True)
class HostConflict:
    """A host claimed by more than one object; `origins` oldest first (the first one wins)."""

    host: str
    origins: tuple[RouteOrigin, ...]


@dataclass(frozen=True)
class Translation:
    table: RoutingTable
    conflicts: tuple[HostConflict, ...] = field(default_factory=tuple)


def _meta(obj: Obj) -> tuple[str, str, str]:
    meta = obj.get("metadata") or {}
    return (
        str(meta.get("namespace") or "default"),
        str(meta.get("name") or ""),
        str(meta.get("creationTimestamp") or ""),
    )


def service_of(host: str, namespace: str) -> tuple[str, str]:
    """(service, namespace) of a host: `svc`, `svc.ns`, or `svc.ns.svc.cluster.local`."""
    name = host.removesuffix(CLUSTER_SUFFIX).removesuffix(".svc")
    parts = name.split(".")
    if len(parts) == 1:
        return parts[0], namespace
    return parts[0], parts[1]


def _string_match(spec: Any) -> StringMatch | None:
    if not isinstance(spec, Mapping):
        return None
    for kind in ("exact", "prefix", "regex"):
        if kind in spec:
            return StringMatch(kind, str(spec[kind]))  # type: ignore[arg-type]
    return None


# --- Istio VirtualService ---


def virtual_service_rules(vs: Obj, binding: GatewayBinding) -> list[HostRules]:
    """Rules of a VirtualService bound to one of this gateway's Istio gateways."""
    namespace, name, created = _meta(vs)
    spec = vs.get("spec") or {}
    gateways = spec.get("gateways") or ["mesh"]
    refs = {g if "/" in g else f"{namespace}/{g}" for g in gateways if g != "mesh"}
    if not refs & binding.istio_gateways:
        return []
    origin = RouteOrigin("VirtualService", namespace, name)
    rules: list[RouteRule] = []
    for http in spec.get("http") or []:
        matches = tuple(_vs_match(m) for m in http.get("match") or [])
        routes = http.get("route") or []
        backends = tuple(_vs_backend(r, namespace, single=len(routes) == 1) for r in routes)
        mirror = None
        if http.get("mirror"):
            mirror = _vs_backend({"destination": http["mirror"]}, namespace, single=True)
        percent = float((http.get("mirrorPercentage") or {}).get("value", 100.0))
        rules.append(RouteRule(backends, origin, matches, mirror, percent))
    return [HostRules(str(h).lower(), tuple(rules), created) for h in spec.get("hosts") or []]


def _vs_match(match: Obj) -> RequestMatch:
    headers = tuple(
        (str(name).lower(), m)
        for name, spec in (match.get("headers") or {}).items()
        if (m := _string_match(spec)) is not None
    )
    return RequestMatch(path=_string_match(match.get("uri")), headers=headers)


def _vs_backend(route: Obj, namespace: str, *, single: bool) -> Backend:
    destination = route.get("destination") or {}
    service, service_ns = service_of(str(destination.get("host", "")), namespace)
    if destination.get("subset"):
        # DestinationRule subsets are not modelled: every pod of the Service takes the traffic.
        log.warning("subset %r of %s ignored: subsets are not simulated", destination["subset"],
                    service)  # fmt: skip
    # Istio: a lone destination takes all traffic; with several, an unset weight is 0.
    weight = int(route.get("weight", 100 if single else 0))
    port = (destination.get("port") or {}).get("number")
    return Backend(service, service_ns, weight, int(port) if port is not None else None)


# --- Gateway API HTTPRoute ---


def http_route_rules(route: Obj, binding: GatewayBinding) -> list[HostRules]:
    """Rules of an HTTPRoute whose parentRefs include one of this gateway's Gateways."""
    namespace, name, created = _meta(route)
    spec = route.get("spec") or {}
    parents = {
        f"{p.get('namespace') or namespace}/{p.get('name')}"
        for p in spec.get("parentRefs") or []
        if p.get("kind", "Gateway") == "Gateway"
    }
    if not parents & binding.gateway_api_parents:
        return []
    origin = RouteOrigin("HTTPRoute", namespace, name)
    ranked: list[tuple[tuple[int, int, int], RouteRule]] = []
    for rule in spec.get("rules") or []:
        backends = tuple(
            Backend(
                str(ref.get("name")),
                str(ref.get("namespace") or namespace),
                int(ref.get("weight", 1)),
                ref.get("port"),
            )
            for ref in rule.get("backendRefs") or []
            if ref.get("kind", "Service") == "Service"
        )
        mirror = None
        for f in rule.get("filters") or []:
            if f.get("type") == "RequestMirror":
                ref = (f.get("requestMirror") or {}).get("backendRef") or {}
                mirror = Backend(str(ref.get("name")), str(ref.get("namespace") or namespace))
        for match in rule.get("matches") or [{}]:
            request_match = _route_match(match)
            ranked.append(
                (_precedence(request_match), RouteRule(backends, origin, (request_match,), mirror))
            )
    ranked.sort(key=lambda item: item[0])  # stable: equal precedence keeps rule order
    rules = tuple(rule for _, rule in ranked)
    hostnames = spec.get("hostnames") or ["*"]
    return [HostRules(str(h).lower(), rules, created) for h in hostnames]


def _route_match(match: Obj) -> RequestMatch:
    path_spec = match.get("path") or {"type": "PathPrefix", "value": "/"}
    kind = path_spec.get("type", "PathPrefix")
    value = str(path_spec.get("value", "/"))
    path: StringMatch
    if kind == "Exact":
        path = StringMatch("exact", value)
    elif kind == "RegularExpression":
        path = StringMatch("regex", value)
    else:
        path = PathPrefix("prefix", value)
    headers = tuple(
        (
            str(h.get("name", "")).lower(),
            StringMatch(
                "regex" if h.get("type") == "RegularExpression" else "exact", str(h.get("value"))
            ),
        )
        for h in match.get("headers") or []
    )
    return RequestMatch(path=path, headers=headers)


def _precedence(match: RequestMatch) -> tuple[int, int, int]:
    """Sort key, smallest first: exact path, longest prefix, most header matches."""
    path = match.path
    exact = 0 if path is not None and path.kind == "exact" else 1
    length = len(path.value) if path is not None else 0
    return (exact, -length, -len(match.headers))


# --- networking.k8s.io Ingress ---


def ingress_rules(ingress: Obj, binding: GatewayBinding) -> list[HostRules]:
    """Rules of an Ingress of this gateway's class (Istio serves class `istio`)."""
    namespace, name, created = _meta(ingress)
    spec = ingress.get("spec") or {}
    annotations = (ingress.get("metadata") or {}).get("annotations") or {}
    ingress_class = spec.get("ingressClassName") or annotations.get("kubernetes.io/ingress.class")
    if ingress_class != binding.ingress_class:
        return []
    origin = RouteOrigin("Ingress", namespace, name)
    result: list[HostRules] = []
    for rule in spec.get("rules") or []:
        rules: list[RouteRule] = []
        for path in (rule.get("http") or {}).get("paths") or []:
            service = (path.get("backend") or {}).get("service") or {}
            port = (service.get("port") or {}).get("number")
            backend = Backend(str(service.get("name")), namespace, 1, port)
            value = str(path.get("path") or "/")
            condition: StringMatch = (
                StringMatch("exact", value)
                if path.get("pathType") == "Exact"
                else PathPrefix("prefix", value)
            )
            rules.append(RouteRule((backend,), origin, (RequestMatch(path=condition),)))
        result.append(HostRules(str(rule.get("host") or "*").lower(), tuple(rules), created))
    return result


# --- KServe Serverless traffic ---


def serverless_rules(isvc: Obj) -> list[HostRules]:
    """The split Knative programs for a Serverless ISVC, from its predictor's `traffic[]`.

    KServe routes the ISVC's public host (`status.url`) and Knative the predictor's own host
    (`components.predictor.url`) to the revisions by percent; a tagged entry with a `url` also
    gets its own host, all to that revision. Cluster-local hosts are left to the mesh.
    """
    namespace, name, created = _meta(isvc)
    status = isvc.get("status") or {}
    predictor = (status.get("components") or {}).get("predictor") or {}
    traffic = predictor.get("traffic") or []
    origin = RouteOrigin("InferenceService", namespace, name)
    backends = tuple(
        Backend(str(t["revisionName"]), namespace, int(t.get("percent") or 0))
        for t in traffic
        if t.get("revisionName")
    )
    if not backends:
        return []
    result: list[HostRules] = []
    split = (RouteRule(backends, origin),)
    for url in (status.get("url"), predictor.get("url")):
        host = _public_host(url)
        if host:
            result.append(HostRules(host, split, created))
    for entry in traffic:
        host = _public_host(entry.get("url"))
        if host and entry.get("revisionName"):
            revision = Backend(str(entry["revisionName"]), namespace, 100)
            result.append(HostRules(host, (RouteRule((revision,), origin),), created))
    return result


def _public_host(url: Any) -> str | None:
    if not url:
        return None
    host = (urlsplit(str(url)).hostname or "").lower()
    if not host or host.endswith(CLUSTER_SUFFIX):
        return None
    return host


# --- the table ---


def build_routing_table(
    *,
    virtual_services: Iterable[Obj] = (),
    http_routes: Iterable[Obj] = (),
    ingresses: Iterable[Obj] = (),
    inference_services: Iterable[Obj] = (),
    binding: GatewayBinding | None = None,
) -> Translation:
    """The routing table for this gateway from every route object in the cluster."""
    binding = binding or GatewayBinding()
    contributions: list[tuple[str, str, str, HostRules]] = []

    def add(obj: Obj, host_rules: list[HostRules]) -> None:
        namespace, name, created = _meta(obj)
        for item in host_rules:
            if item.rules:
                contributions.append((created, namespace, name, item))

    for vs in virtual_services:
        add(vs, virtual_service_rules(vs, binding))
    for route in http_routes:
        add(route, http_route_rules(route, binding))
    for ingress in ingresses:
        add(ingress, ingress_rules(ingress, binding))
    for isvc in inference_services:
        if _is_serverless(isvc):
            add(isvc, serverless_rules(isvc))

    contributions.sort(key=lambda c: (c[0], c[1], c[2]))
    hosts: dict[str, list[RouteRule]] = {}
    owners: dict[str, list[RouteOrigin]] = {}
    for _, _, _, item in contributions:
        hosts.setdefault(item.host, []).extend(item.rules)
        origin = item.rules[0].origin
        if origin not in owners.setdefault(item.host, []):
            owners[item.host].append(origin)
    conflicts = tuple(
        HostConflict(host, tuple(origins)) for host, origins in owners.items() if len(origins) > 1
    )
    for conflict in conflicts:
        log.warning(
            "host %s is claimed by %s; rules merged oldest first, the first match wins",
            conflict.host,
            ", ".join(str(o) for o in conflict.origins),
        )
    table = RoutingTable({host: tuple(rules) for host, rules in hosts.items()})
    return Translation(table, conflicts)


def _is_serverless(isvc: Obj) -> bool:
    status = isvc.get("status") or {}
    mode = status.get("deploymentMode")
    if mode is None:
        annotations = (isvc.get("metadata") or {}).get("annotations") or {}
        mode = annotations.get("serving.kserve.io/deploymentMode", "Serverless")
    return mode in ("Serverless", "Knative")

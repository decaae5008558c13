"""The gateway's routing table: plain data, built from route objects by `sim.gateway.translate`.

A table maps a host to an ordered list of rules; the first rule whose match accepts the request
wins (Envoy's route order), and that rule's weighted backends split the traffic. Backends name
Kubernetes Services; the gateway resolves them to pods through a `ServiceDirectory`.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

MatchKind = Literal["exact", "prefix", "regex"]


@dataclass(frozen=True)
class StringMatch:
    """One string condition, as Istio's StringMatch and Gateway API's match types have it."""

    kind: MatchKind
    value: str

    def accepts(self, text: str) -> bool:
        if self.kind == "exact":
            return text == self.value
        if self.kind == "prefix":
            return text.startswith(self.value)
        return re.fullmatch(self.value, text) is not None


@dataclass(frozen=True)
class PathPrefix(StringMatch):
    """Gateway API's and Kubernetes Ingress's PathPrefix: matches whole path segments."""

    def accepts(self, text: str) -> bool:
        prefix = self.value.rstrip("/")
        return not prefix or text == prefix or text.startswith(prefix + "/")


@dataclass(frozen=True)
class RequestMatch:
    """All conditions of one match block; a rule matches if any of its blocks does."""

    path: StringMatch | None = None
    headers: tuple[tuple[str, StringMatch], ...] = ()

    def accepts(self, path: str, headers: Mapping[str, str]) -> bool:
        if self.path is not None and not self.path.accepts(path):
            return False
        for name, condition in self.headers:
            value = headers.get(name)
            if value is None or not condition.accepts(value):
                return False
        return True


@dataclass(frozen=True)
class Backend:
    """A weighted Service destination of a rule."""

    service: str
    namespace: str
    weight: int = 1
    port: int | None = None


@dataclass(frozen=True)
class RouteOrigin:
    """The object a rule came from, for logs and conflict reports."""

    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}"


@dataclass(frozen=True)
class RouteRule:
    """Matches (none = everything), weighted backends, and an optional mirror."""

    backends: tuple[Backend, ...]
    origin: RouteOrigin
    matches: tuple[RequestMatch, ...] = ()
    mirror: Backend | None = None
    mirror_percent: float = 100.0

    def accepts(self, path: str, headers: Mapping[str, str]) -> bool:
        return not self.matches or any(m.accepts(path, headers) for m in self.matches)

    def pick_backend(self, rng: random.Random) -> Backend | None:
        """A backend drawn by weight; None when every weight is zero."""
        total = sum(b.weight for b in self.backends)
        if total <= 0:
            return None
        point = rng.uniform(0, total)
        for backend in self.backends:
            point -= backend.weight
            if point < 0:
                return backend
        return next(b for b in reversed(self.backends) if b.weight > 0)


@dataclass(frozen=True)
class RoutingTable:
    """Host -> ordered rules. Hosts may be exact or `*.suffix` wildcards, or `*` for any."""

    hosts: Mapping[str, tuple[RouteRule, ...]] = field(default_factory=dict)

    def rules_for(self, host: str) -> tuple[RouteRule, ...]:
        """The rules for a request's Host (port stripped); exact hosts beat wildcards."""
        name = host.rsplit(":", 1)[0] if not host.startswith("[") else host
        name = name.lower()
        if name in self.hosts:
            return self.hosts[name]
        best: tuple[int, tuple[RouteRule, ...]] | None = None
        for pattern, rules in self.hosts.items():
            wildcard = pattern == "*" or (pattern.startswith("*.") and name.endswith(pattern[1:]))
            if wildcard and (best is None or len(pattern) > best[0]):
                best = (len(pattern), rules)
        return best[1] if best is not None else ()

    def route(self, host: str, path: str, headers: Mapping[str, str]) -> RouteRule | None:
        """The rule that takes a request, or None (Envoy answers 404)."""
        for rule in self.rules_for(host):
            if rule.accepts(path, headers):
                return rule
        return None

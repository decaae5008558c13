"""How the gateway finds the pods behind a Service.

Kubernetes lists only ready pods in a Service's endpoints; the gateway picks uniformly among them
(Envoy's default round-robin-like spread). The cluster wiring implements `ServiceDirectory` from
the Services, Deployments and Knative revisions it runs; `PodDirectory` is a simple one over
model-server pods that tests and the wiring can fill directly.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sim.mesh.pod import PodIdentity


@dataclass(frozen=True)
class Endpoint:
    """One ready pod behind a Service: where to send requests, and who it is."""

    url: str  # http://127.0.0.1:PORT
    pod: PodIdentity


class ServiceDirectory(Protocol):
    """Service name and namespace -> the ready endpoints behind it now."""

    def endpoints(self, service: str, namespace: str) -> Sequence[Endpoint]: ...


class ServingPod(Protocol):
    """What a pod must offer to be listed: a model server qualifies."""

    @property
    def url(self) -> str: ...

    @property
    def pod(self) -> PodIdentity: ...

    @property
    def ready(self) -> bool: ...


class PodDirectory:
    """Services -> pods; `endpoints` lists those ready at the time of the call."""

    def __init__(self) -> None:
        self._pods: dict[tuple[str, str], list[ServingPod]] = {}
        self._lock = threading.Lock()

    def add(self, service: str, namespace: str, pod: ServingPod) -> None:
        with self._lock:
            self._pods.setdefault((service, namespace), []).append(pod)

    def remove(self, pod: ServingPod) -> None:
        with self._lock:
            for pods in self._pods.values():
                if pod in pods:
                    pods.remove(pod)

    def set_pods(self, service: str, namespace: str, pods: Sequence[ServingPod]) -> None:
        with self._lock:
            self._pods[(service, namespace)] = list(pods)

    def endpoints(self, service: str, namespace: str) -> Sequence[Endpoint]:
        with self._lock:
            pods = list(self._pods.get((service, namespace), ()))
        return [Endpoint(p.url, p.pod) for p in pods if p.ready]

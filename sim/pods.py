"""The local cluster's pods: model servers started from a Deployment's pod template.

The API server stores no Pods; the pods of the local cluster are model servers in this process,
one per replica, kept here with the labels a kubelet would give them. The Deployment controller
starts and deletes them, the gateway's service directory selects them by label, and Prometheus
scrapes each of them with the `namespace` and `pod` target labels. The registry outlives the
controllers, so a restarted KServe stand-in or Deployment controller adopts the running pods
instead of starting new ones, as after a controller-manager restart.

A pod template says what to run the way KServe writes it: container args and env of the
`kserve-container`, the model location in the annotation
`internal.serving.kserve.io/storage-initializer-sourceuri`, the protocol in
`serving.kserve.io/protocol-version`, and the ISVC in the label
`serving.kserve.io/inferenceservice`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import string
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from sim.behaviour import BehaviourError, ModelBehaviour, parse_storage_uri
from sim.mesh.pod import KnativeRevision, PodIdentity
from sim.modelserver import ModelServer, ModelServerHost, ModelServerSpec, Protocol

log = logging.getLogger(__name__)

STORAGE_URI_ANNOTATION = "internal.serving.kserve.io/storage-initializer-sourceuri"
PROTOCOL_ANNOTATION = "serving.kserve.io/protocol-version"
ISVC_LABEL = "serving.kserve.io/inferenceservice"
REVISION_LABEL = "serving.knative.dev/revision"
KNATIVE_SERVICE_LABEL = "serving.knative.dev/service"

_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # Kubernetes' rand.String alphabet


def template_hash(template: Mapping[str, Any]) -> str:
    """A pod-template-hash: short, stable, DNS-safe (digits and lower-case letters)."""
    digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).digest()
    number = int.from_bytes(digest[:8], "big")
    alphabet = string.digits + string.ascii_lowercase
    text = ""
    while len(text) < 10:
        number, index = divmod(number, len(alphabet))
        text += alphabet[index]
    return text


def matches(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


@dataclass(frozen=True)
class PodRecord:
    """One running pod: its identity, labels, owner and model server."""

    name: str
    namespace: str
    owner: str  # the Deployment
    template_hash: str
    labels: Mapping[str, str]
    server: ModelServer = field(compare=False)

    @property
    def ready(self) -> bool:
        return self.server.ready

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def pod(self) -> PodIdentity:
        return self.server.pod

    @property
    def metrics_address(self) -> str:
        return f"127.0.0.1:{self.server.port}"


class PodTemplateError(ValueError):
    """A pod template the local cluster cannot run (a bad storageUri, say)."""


def server_spec(template: Mapping[str, Any], extra_startup_s: float = 0.0) -> ModelServerSpec:
    """The model server a pod template runs; PodTemplateError says what is wrong with it."""
    meta = template.get("metadata") or {}
    annotations = meta.get("annotations") or {}
    labels = meta.get("labels") or {}
    containers = (template.get("spec") or {}).get("containers") or [{}]
    container = containers[0]
    env = {str(e.get("name")): str(e.get("value", "")) for e in container.get("env") or []}
    uri = annotations.get(STORAGE_URI_ANNOTATION)
    try:
        behaviour = parse_storage_uri(uri) if uri else ModelBehaviour()
    except BehaviourError as error:
        raise PodTemplateError(str(error)) from None
    if extra_startup_s:
        behaviour = replace(behaviour, startup_s=behaviour.startup_s + extra_startup_s)
    protocol = Protocol.V2 if annotations.get(PROTOCOL_ANNOTATION) == "v2" else Protocol.V1
    return ModelServerSpec(
        isvc_name=str(labels.get(ISVC_LABEL) or meta.get("name") or "model"),
        args=tuple(str(a) for a in container.get("args") or []),
        env=env,
        behaviour=behaviour,
        protocol=protocol,
    )


def pod_identity(
    namespace: str, deployment: str, pod_name: str, labels: Mapping[str, str]
) -> PodIdentity:
    """How Istio and queue-proxy label this pod's metrics."""
    revision = labels.get(REVISION_LABEL)
    knative = None
    service = deployment
    if revision:
        knative_service = labels.get(KNATIVE_SERVICE_LABEL, revision.rsplit("-", 1)[0])
        knative = KnativeRevision(knative_service, knative_service, revision)
        service = revision
    return PodIdentity(
        namespace=namespace,
        pod_name=pod_name,
        workload=deployment,
        service=service,
        app=labels.get("app", "unknown"),
        version=labels.get("version", "unknown"),
        knative=knative,
    )


class PodRegistry:
    """Every model-server pod of the local cluster (thread-safe)."""

    def __init__(self, host: ModelServerHost) -> None:
        self._host = host
        self._pods: dict[tuple[str, str], PodRecord] = {}
        self._lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []

    def on_change(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def _changed(self) -> None:
        for listener in self._listeners:
            try:
                listener()
            except Exception:
                log.exception("pod listener failed")

    def all(self) -> list[PodRecord]:
        with self._lock:
            return list(self._pods.values())

    def owned_by(self, namespace: str, owner: str) -> list[PodRecord]:
        with self._lock:
            return [p for p in self._pods.values() if p.namespace == namespace and p.owner == owner]

    def selected(self, namespace: str, selector: Mapping[str, str]) -> list[PodRecord]:
        with self._lock:
            return [
                p
                for p in self._pods.values()
                if p.namespace == namespace and matches(selector, p.labels)
            ]

    def start_pod(
        self,
        namespace: str,
        owner: str,
        hash_: str,
        template: Mapping[str, Any],
        spec: ModelServerSpec,
    ) -> PodRecord:
        labels = {
            **((template.get("metadata") or {}).get("labels") or {}),
            "pod-template-hash": hash_,
        }
        suffix = "".join(secrets.choice(_SUFFIX_ALPHABET) for _ in range(5))
        name = f"{owner}-{hash_}-{suffix}"
        server = self._host.launch(spec, pod_identity(namespace, owner, name, labels))
        record = PodRecord(name, namespace, owner, hash_, labels, server)
        with self._lock:
            self._pods[(namespace, name)] = record
        self._changed()
        return record

    def delete_pod(self, record: PodRecord) -> None:
        with self._lock:
            self._pods.pop((record.namespace, record.name), None)
        self._changed()  # out of the endpoints before the server stops, as kube-proxy does
        self._host.delete(record.server)

    def restart_pod(self, record: PodRecord) -> None:
        """Restart the model-server container: same pod, name and port; the model server's own
        histograms start from zero, while the sidecar's Istio and queue-proxy counters carry on."""
        self._host.restart(record.server)

    def stop(self) -> None:
        for record in self.all():
            self.delete_pod(record)

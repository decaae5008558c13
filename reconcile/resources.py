"""The objects the reconciler reads and writes for one InferenceService, and how it names them.

One rollout is keyed by the user's ISVC, `(namespace, name)`. Around it live the
InferenceRollout of the same name (its state), the `<name>-primary` copy (stable, in the istio
and gateway-api modes) and KServe's Deployments `<name>-predictor` and
`<name>-primary-predictor` (Standard mode), whose rollouts tell when pods of a new spec serve.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from traffic.inference_service import INFERENCE_SERVICE
from traffic.store import JsonObject, ObjectRef, ResourceType, Store

__all__ = [
    "CONFIG_MAP",
    "DEPLOYMENT",
    "INFERENCE_ROLLOUT",
    "INFERENCE_SERVICE",
    "ClusterStore",
    "ObjectReader",
    "RolloutKey",
    "RolloutObjects",
]

INFERENCE_ROLLOUT = ResourceType("kcanary.io", "v1alpha1", "InferenceRollout", "inferencerollouts")
DEPLOYMENT = ResourceType("apps", "v1", "Deployment", "deployments")
CONFIG_MAP = ResourceType("", "v1", "ConfigMap", "configmaps")

RolloutKey = tuple[str, str]
"""(namespace, name) of the user's InferenceService."""


class ObjectReader(Protocol):
    """Reads objects, possibly from a watch cache (so possibly a little stale)."""

    def get(self, ref: ObjectRef) -> JsonObject | None: ...


class ClusterStore(Store, Protocol):
    """The routers' store plus the one write routers never make: the status subresource."""

    def patch_status(
        self, ref: ObjectRef, patch: JsonObject, *, resource_version: str | None
    ) -> JsonObject:
        """Merge-patch `status` through `/status`; Conflict when the version is stale."""
        ...


@dataclass(frozen=True)
class RolloutObjects:
    """The references of everything around one rollout."""

    namespace: str
    name: str

    @classmethod
    def of(cls, key: RolloutKey) -> RolloutObjects:
        return cls(key[0], key[1])

    @property
    def key(self) -> RolloutKey:
        return (self.namespace, self.name)

    @property
    def isvc(self) -> ObjectRef:
        return ObjectRef(INFERENCE_SERVICE, self.namespace, self.name)

    @property
    def primary(self) -> ObjectRef:
        return ObjectRef(INFERENCE_SERVICE, self.namespace, f"{self.name}-primary")

    @property
    def rollout(self) -> ObjectRef:
        return ObjectRef(INFERENCE_ROLLOUT, self.namespace, self.name)

    @property
    def canary_deployment(self) -> ObjectRef:
        return ObjectRef(DEPLOYMENT, self.namespace, f"{self.name}-predictor")

    @property
    def primary_deployment(self) -> ObjectRef:
        return ObjectRef(DEPLOYMENT, self.namespace, f"{self.name}-primary-predictor")

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


def metadata(obj: JsonObject | None) -> dict[str, Any]:
    return dict((obj or {}).get("metadata") or {})


def annotations_of(obj: JsonObject | None) -> dict[str, str]:
    return {str(k): str(v) for k, v in (metadata(obj).get("annotations") or {}).items()}


def resource_version(obj: JsonObject | None) -> str | None:
    value = metadata(obj).get("resourceVersion")
    return str(value) if value else None

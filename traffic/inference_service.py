"""What the kserve router reads from an InferenceService: its mode and KServe's traffic status.

KServe resolves the deployment mode into ``status.deploymentMode``; before it has, the
``serving.kserve.io/deploymentMode`` annotation (old and new spellings) decides. In Serverless
mode KServe reports the revisions and the split Knative applies under
``status.components.predictor``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from traffic.errors import RouteError
from traffic.store import JsonObject, ResourceType

__all__ = [
    "INFERENCE_SERVICE",
    "MODE_ANNOTATION",
    "DeploymentMode",
    "ServerlessSplit",
    "TrafficEntry",
    "deployment_mode",
    "serverless_split",
]

INFERENCE_SERVICE = ResourceType(
    "serving.kserve.io", "v1beta1", "InferenceService", "inferenceservices"
)
MODE_ANNOTATION = "serving.kserve.io/deploymentMode"


class DeploymentMode(enum.Enum):
    """How KServe serves the ISVC, which decides what the kserve router writes."""

    SERVERLESS = "Serverless"
    STANDARD = "Standard"


_MODE_NAMES = {
    "serverless": DeploymentMode.SERVERLESS,
    "knative": DeploymentMode.SERVERLESS,
    "rawdeployment": DeploymentMode.STANDARD,
    "standard": DeploymentMode.STANDARD,
}


def deployment_mode(
    isvc: JsonObject, default: DeploymentMode = DeploymentMode.SERVERLESS
) -> DeploymentMode:
    """The ISVC's mode: KServe's resolved status, else its annotation, else ``default``."""
    status_mode = (isvc.get("status") or {}).get("deploymentMode")
    annotations = (isvc.get("metadata") or {}).get("annotations") or {}
    for value in (status_mode, annotations.get(MODE_ANNOTATION)):
        if value:
            mode = _MODE_NAMES.get(str(value).lower())
            if mode is None:
                raise RouteError(
                    f"deployment mode {value!r} of InferenceService "
                    f"{_display(isvc)} cannot be canaried by kcanary; use Serverless or Standard"
                )
            return mode
    if (isvc.get("spec") or {}).get("canary"):
        return DeploymentMode.STANDARD
    return default


@dataclass(frozen=True)
class TrafficEntry:
    """One entry of ``status.components.predictor.traffic``."""

    revision_name: str
    percent: int
    latest_revision: bool
    tag: str | None = None


@dataclass(frozen=True)
class ServerlessSplit:
    """The split KServe reports for a Serverless predictor."""

    stable_revision: str | None
    """``latestRolledoutRevision``: the last revision that took all traffic."""
    canary_revision: str | None
    """``latestCreatedRevision``: the newest revision, ready or not."""
    ready_revision: str | None
    """``latestReadyRevision``."""
    traffic: tuple[TrafficEntry, ...]

    @property
    def canary_ready(self) -> bool:
        """Whether the newest revision is ready, so ``latestRevision`` entries mean it."""
        return self.canary_revision is not None and self.canary_revision == self.ready_revision

    @property
    def rolling_out(self) -> bool:
        """Whether a revision newer than the rolled-out one exists."""
        return self.canary_revision is not None and self.canary_revision != self.stable_revision

    @property
    def canary_percent(self) -> int:
        """The traffic the canary revision takes now (0 when nothing rolls out)."""
        if not self.rolling_out:
            return 0
        return sum(
            entry.percent for entry in self.traffic if entry.revision_name == self.canary_revision
        )


def serverless_split(isvc: JsonObject) -> ServerlessSplit:
    """Read :class:`ServerlessSplit` from the ISVC's status (empty before KServe reports)."""
    predictor = ((isvc.get("status") or {}).get("components") or {}).get("predictor") or {}
    entries = tuple(
        TrafficEntry(
            revision_name=str(entry.get("revisionName") or ""),
            percent=int(entry.get("percent") or 0),
            latest_revision=bool(entry.get("latestRevision")),
            tag=entry.get("tag"),
        )
        for entry in predictor.get("traffic") or []
        if isinstance(entry, dict)
    )
    return ServerlessSplit(
        stable_revision=predictor.get("latestRolledoutRevision"),
        canary_revision=predictor.get("latestCreatedRevision"),
        ready_revision=predictor.get("latestReadyRevision"),
        traffic=entries,
    )


def _display(isvc: JsonObject) -> str:
    meta = isvc.get("metadata") or {}
    return f"{meta.get('namespace')}/{meta.get('name')}"

"""What the cluster's objects say, in the state machine's terms (rollout.observations).

KServe's objects are read as KServe writes them: an ISVC is ready when its `Ready` condition is
True for its current generation; in Standard mode pods of a new spec serve under the same
workload name as the old ones until the Deployment's rollout completes (updated and available
replicas equal the desired ones for the current generation, and no old replica is left); in
Serverless mode the newest Knative revision must be the latest ready one.

In the kserve mode promotion is KServe's to finish: it is complete once KServe serves the
canary as its stable (Serverless: latestRolledoutRevision is the canary's revision).

The primary copy's revision is the one it was copied from, kept in its `kcanary.io/revision`
annotation: its own spec differs from the user's by the pinned model name, so hashing it would
never match.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rollout.annotations import InvalidStrategy
from rollout.observations import ManualRequest, Workload
from rollout.revision import Revision, is_serverless, revision_hash, revision_of
from rollout.state import RolloutState
from rollout.strategy import Strategy
from traffic.errors import RouteError
from traffic.inference_service import DeploymentMode, deployment_mode, serverless_split
from traffic.store import JsonObject

ACTION_ANNOTATION = "kcanary.io/action"
PRIMARY_REVISION_ANNOTATION = "kcanary.io/revision"


def isvc_workload(isvc: JsonObject, deployment: JsonObject | None) -> Workload:
    """The user's ISVC: the newest spec, ready or not, its pods rolled out or not."""
    return Workload(
        revision=revision_of(isvc),
        ready=is_ready(isvc),
        rollout_complete=_rollout_complete(isvc, deployment),
    )


def primary_workload(primary: JsonObject, deployment: JsonObject | None) -> Workload:
    """The `<name>-primary` copy, with the revision it was copied from."""
    copied = revision_of(primary)
    annotations = (primary.get("metadata") or {}).get("annotations") or {}
    hash_ = str(annotations.get(PRIMARY_REVISION_ANNOTATION) or "") or revision_hash(
        primary.get("spec") or {}
    )
    revision = Revision(hash_, copied.storage_uri, copied.model_format, copied.revision_name)
    return Workload(
        revision=revision,
        ready=is_ready(primary),
        rollout_complete=_rollout_complete(primary, deployment),
    )


def is_ready(isvc: JsonObject) -> bool:
    """`Ready=True`, reported for the ISVC's current generation when KServe says which."""
    status = isvc.get("status") or {}
    generation = (isvc.get("metadata") or {}).get("generation")
    observed = status.get("observedGeneration")
    if generation is not None and observed is not None and int(observed) < int(generation):
        return False
    for condition in status.get("conditions") or []:
        if isinstance(condition, dict) and condition.get("type") == "Ready":
            return str(condition.get("status")) == "True"
    return False


def deployment_complete(deployment: JsonObject) -> bool:
    """The Deployment's rollout for its current generation has completed."""
    spec = deployment.get("spec") or {}
    status = deployment.get("status") or {}
    generation = int((deployment.get("metadata") or {}).get("generation") or 0)
    if int(status.get("observedGeneration") or 0) < generation:
        return False
    desired = int(spec.get("replicas", 1) if spec.get("replicas") is not None else 1)
    updated = int(status.get("updatedReplicas") or 0)
    available = int(status.get("availableReplicas") or 0)
    total = int(status.get("replicas") or 0)
    return updated == desired and available == desired and total == desired


def _rollout_complete(isvc: JsonObject, deployment: JsonObject | None) -> bool:
    if is_serverless(isvc):
        predictor = ((isvc.get("status") or {}).get("components") or {}).get("predictor") or {}
        created = predictor.get("latestCreatedRevision")
        return bool(created) and created == predictor.get("latestReadyRevision")
    if deployment is None:
        # KServe has not created (or we cannot see) the Deployment: the ISVC's own readiness
        # is all there is to go by.
        return True
    return deployment_complete(deployment)


def manual_request(isvc: JsonObject) -> ManualRequest | None:
    """The `kcanary.io/action` annotation, with who set it and when if managedFields say."""
    meta = isvc.get("metadata") or {}
    action = (meta.get("annotations") or {}).get(ACTION_ANNOTATION)
    if action is None:
        return None
    by, at = _annotation_writer(meta.get("managedFields") or [], ACTION_ANNOTATION)
    return ManualRequest(str(action), by, at)


def _annotation_writer(
    managed_fields: list[Any], annotation: str
) -> tuple[str | None, datetime | None]:
    """The manager that last set `annotation`, and when (the newest entry that owns it)."""
    best: tuple[str | None, datetime | None] = (None, None)
    for entry in managed_fields:
        if not isinstance(entry, dict):
            continue
        fields = entry.get("fieldsV1") or {}
        owned = ((fields.get("f:metadata") or {}).get("f:annotations") or {}).get(f"f:{annotation}")
        if owned is None:
            continue
        at = _time(entry.get("time"))
        if best[1] is None or (at is not None and at > best[1]):
            best = (str(entry.get("manager") or "") or None, at)
    return best


def _time(text: object) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def serverless_revisions(isvc: JsonObject) -> tuple[str | None, str | None]:
    """(stable, canary) Knative revision names: latestRolledoutRevision, latestCreatedRevision."""
    predictor = ((isvc.get("status") or {}).get("components") or {}).get("predictor") or {}
    stable = predictor.get("latestRolledoutRevision")
    canary = predictor.get("latestCreatedRevision")
    return (str(stable) if stable else None, str(canary) if canary else None)


def promotion_complete(
    strategy: Strategy | InvalidStrategy | None, isvc: JsonObject, state: RolloutState
) -> bool:
    """kserve mode: KServe now serves the canary as its stable (Serverless: rolled out;
    Standard: the canary entry was moved into spec.predictor)."""
    if not isinstance(strategy, Strategy) or strategy.uses_primary_copy or state.canary is None:
        return False
    try:
        mode = deployment_mode(isvc)
    except RouteError:
        return False
    if mode is DeploymentMode.STANDARD:
        return not (isvc.get("spec") or {}).get("canary")
    split = serverless_split(isvc)
    return (
        revision_of(isvc).hash == state.canary.hash
        and split.canary_revision is not None
        and split.stable_revision == split.canary_revision
    )

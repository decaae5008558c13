"""Revisions: which version of an InferenceService's serving spec is running where.

A revision is identified by a short, stable hash of the canonical JSON (sorted keys, no spaces)
of the ISVC's `spec`, leaving out what kcanary itself writes (the traffic percentages) so that
moving traffic never looks like a new version. Metadata never counts: relabelling or annotating
an ISVC (including `kcanary.io/action`) is not a new revision.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

HASH_LENGTH = 10
"""40 bits: collisions among one ISVC's revisions are negligible, and it stays readable."""

SERVERLESS_MODES = frozenset({"Serverless", "Knative"})

# Fields of the spec that kcanary writes while moving traffic (DESIGN section 2).
_PREDICTOR_WRITTEN = ("canaryTrafficPercent",)
_CANARY_ENTRY_WRITTEN = ("trafficPercent",)

# Pre-`model` predictor spellings (`spec.predictor.sklearn.storageUri`), still accepted by KServe.
_LEGACY_FRAMEWORKS = (
    "sklearn",
    "xgboost",
    "lightgbm",
    "tensorflow",
    "pytorch",
    "triton",
    "onnx",
    "pmml",
    "paddle",
    "huggingface",
)


@dataclass(frozen=True)
class Revision:
    """One version of the serving spec, as the rollout status shows it."""

    hash: str
    storage_uri: str | None = None
    model_format: str | None = None
    revision_name: str | None = None
    """Knative revision (Serverless mode), e.g. `iris-predictor-00002`; None in Standard mode."""

    def with_revision_name(self, name: str | None) -> Revision:
        return Revision(self.hash, self.storage_uri, self.model_format, name)

    def same_version(self, other: Revision | None) -> bool:
        """Same spec, whatever Knative named it."""
        return other is not None and other.hash == self.hash


def revision_hash(spec: Mapping[str, Any]) -> str:
    """The short hash of a spec without the fields kcanary writes."""
    canonical = json.dumps(
        _without_written_fields(spec), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:HASH_LENGTH]


def revision_of(isvc: Mapping[str, Any]) -> Revision:
    """The revision an ISVC dict asks for, with its model and, in Serverless mode, the newest
    Knative revision KServe created for it."""
    spec = isvc.get("spec") or {}
    predictor = spec.get("predictor") or {}
    storage_uri, model_format = _model_of(predictor)
    return Revision(
        hash=revision_hash(spec),
        storage_uri=storage_uri,
        model_format=model_format,
        revision_name=_latest_created_revision(isvc) if is_serverless(isvc) else None,
    )


def is_serverless(isvc: Mapping[str, Any]) -> bool:
    """Serverless (Knative) mode, resolved by KServe in the status or asked for by annotation."""
    status = isvc.get("status") or {}
    resolved = status.get("deploymentMode")
    if resolved:
        return str(resolved) in SERVERLESS_MODES
    annotations = (isvc.get("metadata") or {}).get("annotations") or {}
    return str(annotations.get("serving.kserve.io/deploymentMode", "")) in SERVERLESS_MODES


def _without_written_fields(spec: Mapping[str, Any]) -> dict[str, Any]:
    cleaned = dict(spec)
    predictor = cleaned.get("predictor")
    if isinstance(predictor, Mapping):
        cleaned["predictor"] = {
            key: value for key, value in predictor.items() if key not in _PREDICTOR_WRITTEN
        }
    canaries = cleaned.get("canary")
    if isinstance(canaries, list):
        cleaned["canary"] = [
            {key: value for key, value in entry.items() if key not in _CANARY_ENTRY_WRITTEN}
            if isinstance(entry, Mapping)
            else entry
            for entry in canaries
        ]
    return cleaned


def _model_of(predictor: Mapping[str, Any]) -> tuple[str | None, str | None]:
    model = predictor.get("model")
    if isinstance(model, Mapping):
        fmt = model.get("modelFormat") or {}
        name = fmt.get("name") if isinstance(fmt, Mapping) else None
        version = fmt.get("version") if isinstance(fmt, Mapping) else None
        model_format = f"{name}:{version}" if name and version else name
        return _text(model.get("storageUri")), _text(model_format)
    for framework in _LEGACY_FRAMEWORKS:
        legacy = predictor.get(framework)
        if isinstance(legacy, Mapping):
            return _text(legacy.get("storageUri")), framework
    return None, None


def _latest_created_revision(isvc: Mapping[str, Any]) -> str | None:
    status = isvc.get("status") or {}
    components = status.get("components") or {}
    predictor = components.get("predictor") or {}
    return _text(predictor.get("latestCreatedRevision"))


def _text(value: object) -> str | None:
    return str(value) if value not in (None, "") else None

"""The `<name>-primary` copy of a user's InferenceService, which serves the stable revision.

KServe's runtimes serve the model under the ISVC's name, so a copy named `<name>-primary` would
answer `/v1/models/<name>:predict` with 404. The copy pins the served name back to `<name>`:
KServe's Python runtimes (and TF Serving) take the last `--model_name` on their command line, and
args on the model spec are appended after the runtime's own; MLServer reads `MLSERVER_MODEL_NAME`,
and env on the model spec overrides the runtime's. Triton and TorchServe name models from the model
repository, so their copies need no pin. Any other runtime is refused (InvalidSpec): serving a
different name on the stable path would break every client during a rollout.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "kcanary"
VISIBILITY_LABEL = "networking.kserve.io/visibility"
ANNOTATION_PREFIX = "kcanary.io/"
# Annotations KServe or kubectl own that must not be copied onto a controller-made object.
_DROPPED_ANNOTATIONS = ("kubectl.kubernetes.io/last-applied-configuration",)


class PinMethod(StrEnum):
    ARGS = "args"
    ENV = "env"
    NOT_NEEDED = "not-needed"


# Runtime name -> how its served model name is set.
_RUNTIMES: dict[str, PinMethod] = {
    "kserve-sklearnserver": PinMethod.ARGS,
    "kserve-xgbserver": PinMethod.ARGS,
    "kserve-lgbserver": PinMethod.ARGS,
    "kserve-pmmlserver": PinMethod.ARGS,
    "kserve-paddleserver": PinMethod.ARGS,
    "kserve-huggingfaceserver": PinMethod.ARGS,
    "kserve-tensorflow-serving": PinMethod.ARGS,
    "kserve-mlserver": PinMethod.ENV,
    "kserve-tritonserver": PinMethod.NOT_NEEDED,
    "kserve-torchserve": PinMethod.NOT_NEEDED,
}
# Model format -> the runtime KServe picks for it when `runtime` is not set.
_FORMATS: dict[str, PinMethod] = {
    "sklearn": PinMethod.ARGS,
    "xgboost": PinMethod.ARGS,
    "lightgbm": PinMethod.ARGS,
    "pmml": PinMethod.ARGS,
    "paddle": PinMethod.ARGS,
    "huggingface": PinMethod.ARGS,
    "tensorflow": PinMethod.ARGS,
    "mlflow": PinMethod.ENV,
    "onnx": PinMethod.NOT_NEEDED,
    "tensorrt": PinMethod.NOT_NEEDED,
    "triton": PinMethod.NOT_NEEDED,
    "pytorch": PinMethod.NOT_NEEDED,
}


@dataclass(frozen=True)
class CannotPin:
    """Why the copy cannot serve the model under the user's ISVC name."""

    message: str


def pin_method(predictor: dict[str, Any]) -> PinMethod | CannotPin:
    model = predictor.get("model")
    if not isinstance(model, dict):
        return CannotPin(
            "spec.predictor has no `model` (a custom container or a framework-specific "
            "predictor): kcanary cannot pin the served model name of its <name>-primary copy; "
            "use spec.predictor.model with a KServe runtime, or the kserve traffic mode"
        )
    runtime = model.get("runtime")
    if isinstance(runtime, str) and runtime:
        method = _RUNTIMES.get(runtime)
        if method is None:
            return CannotPin(
                f"spec.predictor.model.runtime {runtime!r} is not one whose served model name "
                f"kcanary knows how to pin (known: {', '.join(sorted(_RUNTIMES))}); use one of "
                "those, or the kserve traffic mode, which makes no copy"
            )
        return method
    fmt = str(((model.get("modelFormat") or {}).get("name")) or "").lower()
    method = _FORMATS.get(fmt)
    if method is None:
        return CannotPin(
            f"spec.predictor.model.modelFormat.name {fmt or '(empty)'!r} has no KServe runtime "
            f"kcanary knows (known: {', '.join(sorted(_FORMATS))}); set "
            "spec.predictor.model.runtime to a known runtime, or use the kserve traffic mode"
        )
    return method


def _pinned_model(model: dict[str, Any], name: str, method: PinMethod) -> dict[str, Any]:
    model = copy.deepcopy(model)
    if method is PinMethod.ARGS:
        # Appended after the runtime's `--model_name={{.Name}}`: argparse keeps the last one.
        args = [a for a in model.get("args") or [] if not str(a).startswith("--model_name")]
        model["args"] = [*args, f"--model_name={name}"]
    elif method is PinMethod.ENV:
        env = [e for e in model.get("env") or [] if e.get("name") != "MLSERVER_MODEL_NAME"]
        model["env"] = [*env, {"name": "MLSERVER_MODEL_NAME", "value": name}]
    return model


def primary_name(isvc_name: str) -> str:
    return f"{isvc_name}-primary"


def build_primary(isvc: dict[str, Any], stable_spec: dict[str, Any]) -> dict[str, Any] | CannotPin:
    """The primary copy of `isvc`, running `stable_spec` and serving the model as `<name>`."""
    meta = isvc.get("metadata") or {}
    name = str(meta["name"])
    predictor = stable_spec.get("predictor") or {}
    method = pin_method(predictor)
    if isinstance(method, CannotPin):
        return method
    spec = copy.deepcopy(stable_spec)
    spec.pop("canary", None)
    spec["predictor"] = dict(spec.get("predictor") or {})
    spec["predictor"].pop("canaryTrafficPercent", None)
    if method is not PinMethod.NOT_NEEDED:
        spec["predictor"]["model"] = _pinned_model(spec["predictor"]["model"], name, method)
    labels = {k: v for k, v in (meta.get("labels") or {}).items()}
    labels[MANAGED_BY_LABEL] = MANAGED_BY
    labels[VISIBILITY_LABEL] = "cluster-local"
    annotations = {
        k: v
        for k, v in (meta.get("annotations") or {}).items()
        if not k.startswith(ANNOTATION_PREFIX) and k not in _DROPPED_ANNOTATIONS
    }
    return {
        "apiVersion": isvc.get("apiVersion", "serving.kserve.io/v1beta1"),
        "kind": "InferenceService",
        "metadata": {
            "name": primary_name(name),
            "namespace": meta.get("namespace"),
            "labels": labels,
            "annotations": annotations,
            "ownerReferences": [
                {
                    "apiVersion": isvc.get("apiVersion", "serving.kserve.io/v1beta1"),
                    "kind": "InferenceService",
                    "name": name,
                    "uid": meta.get("uid"),
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": spec,
    }


def is_primary_copy(isvc: dict[str, Any]) -> bool:
    labels = (isvc.get("metadata") or {}).get("labels") or {}
    return labels.get(MANAGED_BY_LABEL) == MANAGED_BY

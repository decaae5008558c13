"""`kcanary set model NAME URI [--format NAME]`: point an InferenceService at another model, the
way a CI does (a merge patch of `spec.predictor.model.storageUri`), so a person can start a
rollout without editing YAML. Like `kubectl set image`, it changes the spec and returns; the
controller then rolls the new model out (`kcanary status NAME` waits for the end).
"""

from __future__ import annotations

import argparse
from typing import Any

from kcanary.command_errors import CommandError, reports_errors
from kcanary.kube import JsonObject, add_cluster_flags, connect


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "set",
        help="change an InferenceService's model (starts a rollout)",
        description="Change part of an InferenceService, as a CI would.",
    )
    commands = parser.add_subparsers(dest="set_command", metavar="FIELD", required=True)
    model = commands.add_parser(
        "model",
        help="point the predictor at another model URI",
        description="Merge-patch spec.predictor.model.storageUri (and modelFormat.name with "
        "--format) of the InferenceService NAME; with kcanary's strategy on it, the controller "
        "rolls the new model out as a canary.",
    )
    model.add_argument("name", metavar="NAME", help="the InferenceService")
    model.add_argument("uri", metavar="URI", help="the new storageUri, e.g. s3://models/iris/v2")
    model.add_argument(
        "--format",
        metavar="NAME",
        dest="model_format",
        help="also change spec.predictor.model.modelFormat.name (e.g. sklearn, onnx)",
    )
    add_cluster_flags(model)
    model.set_defaults(func=run)


@reports_errors
def run(args: argparse.Namespace) -> int:
    uri = args.uri.strip()
    if not uri:
        raise CommandError("URI is empty: give the model's storageUri, e.g. s3://models/iris/v2")
    model_format = None if args.model_format is None else args.model_format.strip()
    if model_format == "":
        raise CommandError("--format is empty: give a model format name, e.g. sklearn")
    cluster = connect(args)
    try:
        current = _model_of(cluster.isvc(args.name), args.name, cluster.namespace)
        changes = _changes(current, uri, model_format)
        if not changes:
            print(f"inferenceservice/{args.name}: model unchanged (storageUri is already {uri})")
            return 0
        patch: JsonObject = {"storageUri": uri}
        if model_format is not None:
            patch["modelFormat"] = {"name": model_format}
        cluster.set_model(args.name, patch)
    finally:
        cluster.close()
    for field, (old, new) in changes.items():
        print(f"inferenceservice/{args.name}: {field} {old or '(none)'} -> {new}")
    return 0


def _model_of(isvc: JsonObject, name: str, namespace: str) -> JsonObject:
    model = ((isvc.get("spec") or {}).get("predictor") or {}).get("model")
    if not isinstance(model, dict):
        raise CommandError(
            f'InferenceService "{name}" in namespace "{namespace}" has no spec.predictor.model '
            "(a custom container or a framework-specific predictor): change its model in its "
            "own spec (kubectl edit inferenceservice)"
        )
    return model


def _changes(model: JsonObject, uri: str, model_format: str | None) -> dict[str, tuple[str, str]]:
    """field -> (old, new) for each field the patch changes."""
    found: dict[str, tuple[str, str]] = {}
    old_uri = str(model.get("storageUri") or "")
    if old_uri != uri:
        found["storageUri"] = (old_uri, uri)
    old_format = str((model.get("modelFormat") or {}).get("name") or "")
    if model_format is not None and old_format != model_format:
        found["modelFormat.name"] = (old_format, model_format)
    return found

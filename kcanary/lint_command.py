"""`kcanary lint FILE`: check the kcanary annotations of the InferenceServices in a YAML file
before applying it, offline, with the checks the controller makes (reconcile.spec_check).

One line per InferenceService: `NAME: ok`, or `NAME: ` and the message the controller would put
in its InvalidSpec condition. Exit 0 when all are usable, 1 when any is not, 2 when the file
cannot be read, is not YAML or holds no InferenceService. An InferenceService with no
`kcanary.io/` annotation at all is not kcanary's: it is listed as such and fails nothing.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml

from kcanary.command_errors import CommandError, reports_errors
from reconcile.spec_check import check_spec
from rollout.annotations import PREFIX, InvalidStrategy

UNREADABLE = 2
"""Exit code when there is nothing to check (kubectl's for a usage error)."""
ISVC_KIND = "InferenceService"
ISVC_GROUP = "serving.kserve.io/"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "lint",
        help="check the kcanary annotations of the InferenceServices in a YAML file",
        description="Check the kcanary annotations (and the analysis they describe) of every "
        "InferenceService in FILE, offline, as the controller does: NAME: ok, or the "
        "InvalidSpec message the controller would give. Exit 1 if any is invalid, 2 if FILE "
        "cannot be read, is not YAML or holds no InferenceService.",
    )
    parser.add_argument("file", metavar="FILE", help="a YAML file, or - for standard input")
    parser.set_defaults(func=run)


@reports_errors
def run(args: argparse.Namespace) -> int:
    where = "standard input" if args.file == "-" else args.file
    isvcs = list(inference_services(_documents(_read(args.file, where), where)))
    if not isvcs:
        raise CommandError(
            f"{where} holds no InferenceService (kind: {ISVC_KIND}, apiVersion: "
            f"{ISVC_GROUP}...): nothing to check",
            UNREADABLE,
        )
    invalid = 0
    for index, isvc in isvcs:
        name = str((isvc.get("metadata") or {}).get("name") or f"(document {index}, no name)")
        verdict = lint(isvc)
        invalid += verdict.invalid
        print(f"{name}: {verdict.text}")
    return 1 if invalid else 0


@dataclass(frozen=True)
class Verdict:
    """What lint says of one InferenceService, and whether that fails the file."""

    text: str
    invalid: bool


def lint(isvc: dict[str, Any]) -> Verdict:
    """Whether kcanary can roll `isvc` out; if not, what is wrong, as the controller says it."""
    annotations = (isvc.get("metadata") or {}).get("annotations") or {}
    if not isinstance(annotations, dict):
        return Verdict("metadata.annotations: is not a map: write it as key: value lines", True)
    if not any(str(key).startswith(PREFIX) for key in annotations):
        return Verdict(f"not managed by kcanary (no {PREFIX} annotation), not checked", False)
    for key, value in annotations.items():
        if not isinstance(value, str):
            # The API server refuses the whole object for this.
            return Verdict(f"{key}: is not a string: quote the value in the YAML", True)
    checked = check_spec(isvc)
    if isinstance(checked, InvalidStrategy):
        return Verdict(checked.message, True)
    return Verdict("ok", False)


def inference_services(documents: list[Any]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(document number from 1, ISVC) for each ISVC, looking inside `kind: List` documents."""
    for index, document in enumerate(documents, start=1):
        if not isinstance(document, dict):
            continue
        items = document.get("items") if document.get("kind") == "List" else [document]
        for item in items if isinstance(items, list) else []:
            if (
                isinstance(item, dict)
                and item.get("kind") == ISVC_KIND
                and str(item.get("apiVersion", "")).startswith(ISVC_GROUP)
            ):
                yield index, item


def _read(path: str, where: str) -> str:
    try:
        if path == "-":
            return sys.stdin.read()
        with open(path, encoding="utf-8") as file:
            return file.read()
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or error
        raise CommandError(f"cannot read {where}: {reason}", UNREADABLE) from None


def _documents(text: str, where: str) -> list[Any]:
    try:
        return list(yaml.safe_load_all(text))
    except yaml.YAMLError as error:
        problem = " ".join(str(error).split())
        raise CommandError(f"{where} is not YAML: {problem}", UNREADABLE) from None

"""Whatever a client sends, the building blocks answer with their own errors, never a crash."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable
from typing import Any

from sim.apiserver import jsonpath, objectmeta, patch, schema, selectors, tables
from sim.apiserver.builtin_kinds import BUILTIN_TYPES

SCALARS: list[Any] = [None, True, 0, -1, 1.5, "", "x", "$patch", "a/b", "~1"]
KEYS = ["metadata", "spec", "status", "name", "labels", "containers", "$patch", "finalizers",
        "$retainKeys", "$setElementOrder/containers", "$deleteFromPrimitiveList/finalizers",
        "ownerReferences", "template", "data", "op", "path", "value", "from"]  # fmt: skip


def _random_value(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if depth > 4 or roll < 0.4:
        return rng.choice(SCALARS)
    if roll < 0.7:
        return {rng.choice(KEYS): _random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))}
    return [_random_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]


def test_random_documents_and_patches_never_crash() -> None:
    rng = random.Random(20261123)
    for _ in range(3000):
        doc, body = _random_value(rng), _random_value(rng)
        rtype = rng.choice(BUILTIN_TYPES)
        attempts: list[Callable[[], Any]] = [
            lambda: patch.json_patch(doc, body),  # noqa: B023 (called at once, in the loop)
            lambda: patch.merge_patch(doc, body),  # noqa: B023
            lambda: patch.strategic_merge_patch(doc, body, rtype),  # noqa: B023
        ]
        for attempt in attempts:
            with contextlib.suppress(patch.PatchError):
                attempt()
        schema.validate(doc, rtype.schema)
        schema.prune(doc, rtype.schema)
        schema.apply_defaults(doc, rtype.schema)
        if isinstance(doc, dict):
            objectmeta.validate_object_meta(doc, rtype, creating=True)
            tables.table_row(doc, rtype, "Object")


def test_random_selectors_and_paths_never_crash() -> None:
    rng = random.Random(7)
    alphabet = "ab=!,()<> in notin.-_/'\"[]?@*:0123456789$"
    events = next(t for t in BUILTIN_TYPES if t.plural == "events")
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14)))
        with contextlib.suppress(selectors.SelectorError):
            selectors.parse_label_selector(text).matches({"a": "b"})
        with contextlib.suppress(selectors.SelectorError):
            selectors.parse_field_selector(text, events).matches({"metadata": {"name": "b"}})
        with contextlib.suppress(jsonpath.JSONPathError):
            jsonpath.find({"a": [{"b": 1}]}, text)

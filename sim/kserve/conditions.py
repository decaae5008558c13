"""ISVC status conditions as KServe writes them (knative.dev/pkg's condition sets).

`lastTransitionTime` changes only when a condition's status flips, so a watcher can tell how long
an ISVC has been Ready; `Ready` is True only when every dependent condition is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class Condition:
    type: str
    status: str  # True | False | Unknown
    reason: str = ""
    message: str = ""


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def ready_of(parts: Sequence[Condition]) -> Condition:
    """`Ready` from its dependents: the first False, else the first Unknown, else True."""
    for wanted in ("False", "Unknown"):
        for part in parts:
            if part.status == wanted:
                return Condition("Ready", wanted, part.reason, part.message)
    return Condition("Ready", "True")


def conditions_status(
    before: Sequence[Mapping[str, Any]], conditions: Sequence[Condition]
) -> list[dict[str, Any]]:
    """The `status.conditions` list, keeping each unchanged condition's transition time."""
    previous = {str(c.get("type")): c for c in before}
    stamp = now_rfc3339()
    result: list[dict[str, Any]] = []
    for condition in sorted(conditions, key=lambda c: c.type):
        old = previous.get(condition.type)
        same = old is not None and old.get("status") == condition.status
        entry: dict[str, Any] = {
            "type": condition.type,
            "status": condition.status,
            "lastTransitionTime": str(old.get("lastTransitionTime")) if same and old else stamp,
        }
        if condition.reason:
            entry["reason"] = condition.reason
        if condition.message:
            entry["message"] = condition.message
        result.append(entry)
    return result


def same_conditions(a: Sequence[Mapping[str, Any]], b: Sequence[Mapping[str, Any]]) -> bool:
    def key(items: Sequence[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
        return sorted(
            (c.get("type"), c.get("status"), c.get("reason"), c.get("message")) for c in items
        )

    return key(a) == key(b)

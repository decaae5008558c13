"""Timestamps as the API server writes them.

Built-in kinds hold typed times that the real server parses and writes back in one canonical
form: `metav1.Time` to the second (`2026-01-02T03:04:05Z`) and `metav1.MicroTime` with six
fractional digits (`2026-01-02T03:04:05.123456Z`, used by Leases and Events). Clients send
other spellings (the Python client writes `+00:00` offsets), so the server normalises them.
Custom resources keep their strings as sent, as a real server does.
"""

from __future__ import annotations

import datetime
from typing import Any

from sim.apiserver.errors import StatusError, bad_request


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def format_time(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_micro_time(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> datetime.datetime:
    """RFC 3339 with any fractional precision and `Z` or an offset."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    moment = datetime.datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError("no time zone")
    return moment


# Per (group, kind): dotted paths of Time and MicroTime fields, as the Go types declare them.
_TIME_FIELDS: dict[tuple[str, str], tuple[tuple[str, bool], ...]] = {
    ("coordination.k8s.io", "Lease"): (("spec.acquireTime", True), ("spec.renewTime", True)),
    ("", "Event"): (
        ("eventTime", True),
        ("firstTimestamp", False),
        ("lastTimestamp", False),
        ("series.lastObservedTime", True),
    ),
    ("events.k8s.io", "Event"): (
        ("eventTime", True),
        ("deprecatedFirstTimestamp", False),
        ("deprecatedLastTimestamp", False),
        ("series.lastObservedTime", True),
    ),
}


def normalise_times(obj: dict[str, Any], group: str, kind: str) -> None:
    """Rewrite the typed time fields of a built-in object in place; 400 on an unreadable one."""
    for path, micro in _TIME_FIELDS.get((group, kind), ()):
        *parents, leaf = path.split(".")
        holder: Any = obj
        for key in parents:
            holder = holder.get(key) if isinstance(holder, dict) else None
        if not isinstance(holder, dict) or holder.get(leaf) is None:
            continue
        raw = holder[leaf]
        try:
            moment = parse_time(str(raw))
        except ValueError:
            raise _unparseable(kind, group, path, raw) from None
        holder[leaf] = format_micro_time(moment) if micro else format_time(moment)


def _unparseable(kind: str, group: str, path: str, raw: Any) -> StatusError:
    version = "v1"
    return bad_request(
        f'{kind} in version "{version}" cannot be handled as a {kind}: '
        f'parsing time "{raw}" as "2006-01-02T15:04:05Z07:00": cannot parse it ({path})'
    )

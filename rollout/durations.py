"""Durations as people write them in annotations: `30s`, `2m`, `1h30m`, `250ms`.

Go-style units (`ms`, `s`, `m`, `h`) chained without spaces, so what works in a Flagger or Argo
Rollouts manifest works here. A bare number is refused on purpose: `30` could mean seconds or
minutes, and the annotation should say which. A negative one is refused with its own message:
no duration here can go back in time.
"""

from __future__ import annotations

import re
from datetime import timedelta

_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)")
_LONGEST = timedelta(days=365)
_WHOLE = re.compile(r"(?:[0-9]+(?:\.[0-9]+)?(?:ms|s|m|h))+")


class DurationError(ValueError):
    """A duration string that cannot be read; the message says what a good one looks like."""


def parse_duration(text: str) -> timedelta:
    """Read `1h30m`-style text; raise DurationError with a one-line fix otherwise."""
    cleaned = text.strip()
    if cleaned.startswith("-") and _WHOLE.fullmatch(cleaned[1:].strip()):
        raise DurationError(f'"{text}" is negative: use 0s or a longer duration')
    if not _WHOLE.fullmatch(cleaned):
        raise DurationError(
            f'"{text}" is not a duration: use a number with a unit, like 30s, 2m, 1h30m or 250ms'
        )
    seconds = sum(float(value) * _UNIT_SECONDS[unit] for value, unit in _PART.findall(cleaned))
    if seconds > _LONGEST.total_seconds():
        raise DurationError(f'"{text}" is too long: use at most 8760h (a year)')
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """Write a duration the way parse_duration reads it, shortest form first (`90s` -> `1m30s`)."""
    total_ms = round(value.total_seconds() * 1000)
    if total_ms == 0:
        return "0s"
    hours, rest = divmod(total_ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    parts = []
    if hours:
        parts.append(f"{hours}h")
    if minutes:
        parts.append(f"{minutes}m")
    if seconds:
        parts.append(f"{seconds}s")
    if millis:
        parts.append(f"{millis}ms")
    return "".join(parts)

"""Exact, reset-aware increases of Prometheus counters since a start time, from raw samples.

`rate()` and `increase()` extrapolate to the edges of their window, so their results are not the
number of requests that happened; the sequential tests need that number. Here the increase is
folded sample by sample:

- the last sample at or before `since` is the baseline: what a series had counted before the
  rollout started does not count;
- a series whose first sample comes after `since` was born after the start, and its first value is
  all increase (it counted from zero);
- a value lower than the previous one is a counter reset (the process restarted): the increase
  continues from zero, so the new value is all increase;
- a series that vanishes keeps what it counted while it lived.

Series scraped together are folded as a *group*: the buckets of one histogram (same labels but
`le`) reset together when their process restarts, so a drop in any bucket is a reset of all of
them. Without this, a bucket whose value happens not to drop after a restart would be read as a
small increase and the buckets would stop being cumulative.

The fold is resumable (a `GroupTally` carries its state), so a long window can be read in pieces
and a later tick can continue from an earlier one. Samples at or before a group's last folded
timestamp are ignored, which makes overlapping pieces safe.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

Sample = tuple[float, float]
"""(unix time in seconds, counter value)."""

GroupKey = tuple[tuple[str, str], ...]
"""The sorted labels that a group's series share (all of them but the member label)."""


@dataclass(frozen=True)
class Series:
    """One Prometheus series: its labels and its samples in time order."""

    labels: Mapping[str, str]
    samples: tuple[Sample, ...]


@dataclass(frozen=True)
class GroupTally:
    """The folded state of one group of series.

    `last_values` holds each member's last value (the baseline before `since`, or the last value
    after it); `increases` what each member counted after `since`. A counter group has a single
    member whose key is the empty string; a histogram group has one member per `le`.
    """

    last_time: float | None = None
    last_values: Mapping[str, float] = field(default_factory=dict)
    increases: Mapping[str, float] = field(default_factory=dict)
    last_gap: float | None = None
    """Seconds between the last two samples: the scrape interval, as the samples show it."""


def fold_group(
    tally: GroupTally, rows: Iterable[tuple[float, Mapping[str, float]]], *, since: float
) -> GroupTally:
    """Continue `tally` with rows of simultaneous member values, in time order."""
    last_time = tally.last_time
    last_gap = tally.last_gap
    last_values = dict(tally.last_values)
    increases = dict(tally.increases)
    for time, values in rows:
        if last_time is not None and time <= last_time:
            continue
        if last_time is not None:
            last_gap = time - last_time
        if time > since:
            reset = any(
                value < last_values[member]
                for member, value in values.items()
                if member in last_values
            )
            for member, value in values.items():
                previous = last_values.get(member)
                counted = value if reset or previous is None else value - previous
                increases[member] = increases.get(member, 0.0) + counted
        last_values.update(values)
        last_time = time
    return GroupTally(
        last_time=last_time, last_values=last_values, increases=increases, last_gap=last_gap
    )


def fold_series(
    tallies: Mapping[GroupKey, GroupTally],
    series: Iterable[Series],
    *,
    since: float,
    member_label: str | None = None,
) -> dict[GroupKey, GroupTally]:
    """Fold a query's series into the tallies of their groups, returning the updated tallies.

    With `member_label` (`le` for histogram buckets) the series that differ only in that label form
    one group; without it each series is its own group. Samples that are not finite numbers are
    skipped: they are not counts.
    """
    rows_by_group: dict[GroupKey, dict[float, dict[str, float]]] = defaultdict(
        lambda: defaultdict(dict)
    )
    for one in series:
        member = one.labels.get(member_label, "") if member_label is not None else ""
        key = tuple(
            sorted((name, value) for name, value in one.labels.items() if name != member_label)
        )
        rows = rows_by_group[key]
        for time, value in one.samples:
            if math.isfinite(value):
                rows[time][member] = value
    updated = dict(tallies)
    for key, rows in rows_by_group.items():
        ordered = sorted(rows.items())
        updated[key] = fold_group(updated.get(key, GroupTally()), ordered, since=since)
    return updated


def staleness(tallies: Iterable[GroupTally], at: float) -> tuple[float, float] | None:
    """(seconds since the newest sample of any group, the shortest scrape interval seen), or
    None while no group has two samples yet (no interval to judge by)."""
    groups = [t for t in tallies if t.last_time is not None]
    gaps = [t.last_gap for t in groups if t.last_gap is not None and t.last_gap > 0]
    if not groups or not gaps:
        return None
    newest = max(t.last_time for t in groups if t.last_time is not None)
    return at - newest, min(gaps)


def member_totals(tallies: Iterable[GroupTally]) -> dict[str, int]:
    """What each member counted after the start, summed over groups, as exact integers.

    Every member seen is present, with 0 when it counted nothing after the start.
    """
    totals: dict[str, float] = defaultdict(float)
    for tally in tallies:
        for member in tally.last_values:
            totals[member] += tally.increases.get(member, 0.0)
    return {member: round(total) for member, total in totals.items()}

"""Serverless mode's traffic and revision bookkeeping, as KServe programs Knative.

Pure: from the ISVC's revisions (oldest first, with readiness), its `canaryTrafficPercent` and
the previously rolled-out revision in its status, what `status.components.predictor` says next.

- The route's `latestRevision: true` entry names the latest *ready* revision.
- With `canaryTrafficPercent: c` and a rolled-out revision, the latest ready revision gets c and
  the rolled-out one 100 - c (both entries may name the same revision).
- Without it, or with no rolled-out revision yet (first deployment), 100% goes to the latest ready
  revision.
- `latestRolledoutRevision` moves to the latest ready revision only once that revision carries
  all the traffic; its old value moves to `previousRolledoutRevision`.
- Tags (`latest`, `prev`) and their URLs appear only with tag routing enabled on the ISVC.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RevisionState:
    name: str
    generation: int
    ready: bool


@dataclass(frozen=True)
class TrafficEntry:
    revision: str
    percent: int
    latest: bool
    tag: str | None = None
    url: str | None = None

    def as_status(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "revisionName": self.revision,
            "percent": self.percent,
            "latestRevision": self.latest,
        }
        if self.tag is not None:
            entry["tag"] = self.tag
        if self.url is not None:
            entry["url"] = self.url
        return entry


@dataclass(frozen=True)
class PredictorTraffic:
    latest_created: str | None
    latest_ready: str | None
    latest_rolledout: str | None
    previous_rolledout: str | None
    traffic: tuple[TrafficEntry, ...]

    def serving(self) -> frozenset[str]:
        """Revisions the route names (with any percent): these must keep running."""
        return frozenset(e.revision for e in self.traffic)


def next_traffic(
    revisions: Sequence[RevisionState],
    *,
    canary_percent: int | None,
    rolled_out: str | None,
    previous: str | None,
    tag_url: Any = None,
) -> PredictorTraffic:
    """What KServe writes next; `tag_url(tag)` gives a tag's URL when tag routing is on."""
    known = {r.name for r in revisions}
    latest_created = revisions[-1].name if revisions else None
    ready = [r for r in revisions if r.ready]
    latest_ready = ready[-1].name if ready else None
    if latest_ready is None:
        return PredictorTraffic(latest_created, None, rolled_out, previous, ())

    def tagged(tag: str) -> tuple[str | None, str | None]:
        return (tag, tag_url(tag)) if tag_url is not None else (None, None)

    # A rolled-out revision that no longer runs cannot take a share; its name stays on record.
    if canary_percent is not None and rolled_out in known:
        assert rolled_out is not None
        percent = max(0, min(100, int(canary_percent)))
        traffic: tuple[TrafficEntry, ...] = (
            TrafficEntry(latest_ready, percent, True, *tagged("latest")),
            TrafficEntry(rolled_out, 100 - percent, False, *tagged("prev")),
        )
    else:
        traffic = (TrafficEntry(latest_ready, 100, True, *tagged("latest")),)

    on_latest = sum(e.percent for e in traffic if e.revision == latest_ready)
    if on_latest == 100 and rolled_out != latest_ready:
        previous, rolled_out = rolled_out, latest_ready
    return PredictorTraffic(latest_created, latest_ready, rolled_out, previous, traffic)

"""What the reconciler saw of the world, in the state machine's own terms.

The reconciler reads the ISVC, the primary copy, the route and Prometheus, and hands the machine
only what it decides on. Nothing here refers to Kubernetes objects, routers or analysis types,
so the machine stays a pure function that tests drive with plain values.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rollout.annotations import InvalidStrategy
from rollout.evidence import AnalysisResult
from rollout.revision import Revision
from rollout.strategy import Strategy


@dataclass(frozen=True)
class Workload:
    """An InferenceService as far as the rollout cares: which revision it runs and whether it
    is ready to take traffic."""

    revision: Revision
    ready: bool
    rollout_complete: bool = True
    """Standard mode: the Deployment's rollout for the current generation has completed
    (updated and available replicas equal the desired ones), so no old pod answers under the
    canary's name. Serverless mode: latestReadyRevision == latestCreatedRevision."""

    @property
    def serving(self) -> bool:
        return self.ready and self.rollout_complete


@dataclass(frozen=True)
class ManualRequest:
    """The `kcanary.io/action` annotation as found on the ISVC.

    `requested_at` is when the annotation was last set (managedFields time of that field): it
    tells a request already taken, whose removal was lost in a crash or not yet seen by a cache,
    from a new one. Without it a request seen again is taken again.
    """

    action: str
    by: str | None = None
    requested_at: datetime | None = None
    after_removal: bool = False
    """Seen in a version of the ISVC later than this controller's own removal of the previous
    request: certainly a new request, even when its time (whole seconds) equals that one's."""


@dataclass(frozen=True)
class Observations:
    strategy: Strategy | InvalidStrategy | None
    """The parsed annotations; None when `kcanary.io/strategy` was removed (hand back)."""
    isvc: Workload
    """The user's ISVC: it runs the newest spec, so in a rollout it is the canary."""
    primary: Workload | None = None
    """The `<name>-primary` copy; None when it does not exist (or the mode has none). Its
    revision is the one it was copied from, not a hash of its own (pinned) spec."""
    weight: int | None = None
    """Canary percent read back from the router; None when there is no route yet."""
    promotion_complete: bool = False
    """Modes without a primary copy: the router reports that the canary revision is now what
    it serves as stable (Serverless: latestRolledoutRevision is the canary's revision)."""
    analysis: AnalysisResult | None = None
    """A fresh analysis run, when this reconcile is an analysis tick."""
    request: ManualRequest | None = None
    generation: int | None = None
    """metadata.generation of the ISVC, reported as observedGeneration."""

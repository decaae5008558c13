"""What the state machine asks the reconciler to do, as data.

Order and the commit point: the reconciler carries out `before_commit` actions in order, then
writes the status, then carries out `after_commit` actions. If any before-commit action fails,
the status is not written and the object is retried. So:

- Traffic and copies move first, status second. A status never claims a weight, a step or a
  promotion that did not happen; a controller killed between the route patch and the status
  write reads the old status, decides the same step again, and finds the route already where it
  wanted it (SetWeight is absolute, and the machine emits it only when the router reads back a
  different weight), so traffic does not move twice. We chose this over status-first, where a
  crash would leave a status whose step timer runs for traffic that never moved.
- Decisions live in the status. A decision (promoted, rolled back, aborted) is in the history
  the moment the status write succeeds, and RecordDecision (the metric) only follows it, so a
  replay cannot decide twice.
- The manual-action annotation is removed only after the status records the action. A crash in
  between leaves the annotation; the history's record of it (compared with the request time)
  makes the replay consume it without taking it again. Consuming first would lose it instead.
- Events follow the commit, so none announces something that did not happen; a crash may drop
  one.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

from rollout.revision import Revision


class EventType(StrEnum):
    NORMAL = "Normal"
    WARNING = "Warning"


class Decision(StrEnum):
    """Label values of kcanary_decisions_total."""

    PROMOTED = "promoted"
    ROLLED_BACK = "rolled_back"
    ABORTED = "aborted"


@dataclass(frozen=True)
class EnsurePrimary:
    """Create or update `<name>-primary` so that it runs `revision`, copied from the user's ISVC
    (model name pinned, kcanary annotations dropped). Do nothing unless the ISVC's own revision
    hash is `revision.hash`: then its spec is exactly that revision."""

    after_commit: ClassVar[bool] = False
    revision: Revision


@dataclass(frozen=True)
class SetWeight:
    """Send `weight` percent to the canary and verify it; create the route if it is missing.
    Absolute and idempotent: setting the weight the route already has changes nothing."""

    after_commit: ClassVar[bool] = False
    weight: int


@dataclass(frozen=True)
class PromoteInRouter:
    """Modes without a primary copy: make the router serve `revision` as stable (Serverless:
    canaryTrafficPercent 100 until latestRolledoutRevision moves; KServe's Standard canary:
    move the canary predictor into spec.predictor). Idempotent."""

    after_commit: ClassVar[bool] = False
    revision: Revision


@dataclass(frozen=True)
class HandBack:
    """The strategy was removed while nothing rolls out: delete kcanary's route and primary copy
    (or drop canaryTrafficPercent), then the InferenceRollout, and write no status (there is
    none left to write). Idempotent. The strategy is gone, so the reconciler finds the traffic
    mode from the objects it owns (or remembers it)."""

    after_commit: ClassVar[bool] = False


@dataclass(frozen=True)
class ConsumeAction:
    """Remove `kcanary.io/action` from the ISVC if it still says `action` (a JSON patch with a
    `test`), so a newer request written meanwhile is not lost."""

    after_commit: ClassVar[bool] = True
    action: str


@dataclass(frozen=True)
class EmitEvent:
    """A Kubernetes Event on the ISVC."""

    after_commit: ClassVar[bool] = True
    type: EventType
    reason: str
    message: str


@dataclass(frozen=True)
class RecordDecision:
    """Count a decision in kcanary_decisions_total (the decision itself is in the status)."""

    after_commit: ClassVar[bool] = True
    decision: Decision


Action = (
    EnsurePrimary
    | SetWeight
    | PromoteInRouter
    | HandBack
    | ConsumeAction
    | EmitEvent
    | RecordDecision
)


def normal(reason: str, message: str) -> EmitEvent:
    return EmitEvent(EventType.NORMAL, reason, message)


def warning(reason: str, message: str) -> EmitEvent:
    return EmitEvent(EventType.WARNING, reason, message)

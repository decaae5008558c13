"""The rollout state: everything the state machine needs, and nothing it does not persist.

Every field is written to the InferenceRollout status (rollout.status) and read back from it, so
a restarted controller continues exactly where the last status write left off: the status is the
commit point. The state is immutable; `with_*` methods return a changed copy.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from rollout.evidence import AnalysisSummary
from rollout.revision import Revision


class Phase(StrEnum):
    INITIALIZING = "Initializing"
    STABLE = "Stable"
    PROGRESSING = "Progressing"
    PAUSED = "Paused"
    PROMOTING = "Promoting"
    ROLLING_BACK = "RollingBack"
    ROLLED_BACK = "RolledBack"
    ABORTED = "Aborted"

    @property
    def in_rollout(self) -> bool:
        """A canary is being judged (it may still take traffic)."""
        return self in (Phase.PROGRESSING, Phase.PAUSED)


class Outcome(StrEnum):
    """How a rollout ended, as history entries spell it."""

    PROMOTED = "promoted"
    ROLLED_BACK = "rolled-back"
    ABORTED = "aborted"
    SUPERSEDED = "superseded"


@dataclass(frozen=True)
class Condition:
    """A metav1.Condition: its time moves only when `status` or `reason` changes."""

    type: str
    status: str
    reason: str
    message: str
    last_transition_time: datetime
    observed_generation: int | None = None


@dataclass(frozen=True)
class ActionRecord:
    """A manual action taken: which, who asked (when the API told us), when, and its effect."""

    action: str
    by: str | None
    at: datetime
    message: str


@dataclass(frozen=True)
class HistoryEntry:
    """One rollout of one canary revision. `outcome` is set when the decision is made (a
    rollback's before traffic is back), `finished_at` when the rollout has ended."""

    revision: Revision
    started_at: datetime
    finished_at: datetime | None = None
    outcome: Outcome | None = None
    reason: str | None = None
    actions: tuple[ActionRecord, ...] = ()

    @property
    def is_open(self) -> bool:
        return self.finished_at is None

    def with_action(self, record: ActionRecord) -> HistoryEntry:
        return replace(self, actions=(*self.actions, record))

    def with_decision(self, outcome: Outcome, reason: str) -> HistoryEntry:
        return replace(self, outcome=outcome, reason=reason)

    def finished(self, at: datetime) -> HistoryEntry:
        return replace(self, finished_at=at)


@dataclass(frozen=True)
class Pause:
    """Why the rollout is paused: a pause step, or someone asked (then only resume ends it)."""

    by_user: bool
    since: datetime


@dataclass(frozen=True)
class WeightPeriod:
    """From `since` on (until the next period), the canary was asked for `weight` percent."""

    weight: int
    since: datetime


class StepEndReason(StrEnum):
    """What ended a step, as the status's `lastStepEnd.reason` spells it."""

    DURATION = "duration"
    """Its time was up (and the analysis let it end)."""
    EVIDENCE = "evidence"
    """The analysis showed non-inferiority (Pass) before its time, or during its extension."""
    EXTENSION_LIMIT = "extension-limit"
    """The last step's extension ran out undecided, and `onInconclusive` applied."""
    EXTENSION_CLEARED = "extension-cleared"
    """The last step's extension ended early, undecided: the evidence no longer leaned towards
    harm, and `onInconclusive` applied."""
    MANUAL = "manual"
    """Someone promoted or resumed by hand."""


@dataclass(frozen=True)
class StepEnd:
    """The last step change: which step (index, pauses included) ended, why, and when."""

    step: int
    reason: StepEndReason
    at: datetime


@dataclass(frozen=True)
class RolloutState:
    phase: Phase = Phase.INITIALIZING
    message: str = ""
    observed_generation: int | None = None
    current_step: int = 0
    """Index into the strategy's steps, pause steps included."""
    canary_weight: int = 0
    """Percent of traffic the canary should get; what the router was last told."""
    stable: Revision | None = None
    canary: Revision | None = None
    rollout_started_at: datetime | None = None
    """When the canary became ready and took traffic: the analysis window and its ticks start
    here. None while waiting for the canary."""
    step_started_at: datetime | None = None
    weight_periods: tuple[WeightPeriod, ...] = ()
    """Each change of the canary's weight since the rollout started: the analysis compares the
    revisions within each period of constant weight."""
    pause: Pause | None = None
    extension_started_at: datetime | None = None
    """When the last weight step, its duration over and the analysis undecided, began its
    extension (`extendInconclusive`); None when it is not extended."""
    last_step_end: StepEnd | None = None
    """What ended the step before the current one (or before the promotion)."""
    last_analysis: AnalysisSummary | None = None
    no_data_since: datetime | None = None
    """Start of the current run of NoData verdicts, for the no-data limit."""
    conditions: tuple[Condition, ...] = ()
    history: tuple[HistoryEntry, ...] = ()

    # -- reading -------------------------------------------------------------------------------

    @property
    def current_entry(self) -> HistoryEntry | None:
        """The history entry of the rollout under way (or just decided), if any."""
        if self.history and self.history[-1].is_open:
            return self.history[-1]
        return None

    @property
    def last_entry(self) -> HistoryEntry | None:
        return self.history[-1] if self.history else None

    @property
    def canary_started(self) -> bool:
        return self.rollout_started_at is not None

    def condition(self, kind: str) -> Condition | None:
        return next((c for c in self.conditions if c.type == kind), None)

    # -- changing ------------------------------------------------------------------------------

    def with_phase(self, phase: Phase, message: str) -> RolloutState:
        return replace(self, phase=phase, message=message)

    def with_message(self, message: str) -> RolloutState:
        return replace(self, message=message)

    def with_generation(self, generation: int | None) -> RolloutState:
        return replace(self, observed_generation=generation)

    def with_stable(self, stable: Revision | None) -> RolloutState:
        return replace(self, stable=stable)

    def with_canary(self, canary: Revision | None) -> RolloutState:
        return replace(self, canary=canary)

    def with_step(self, index: int, weight: int, started_at: datetime | None) -> RolloutState:
        """Any step change ends the extension of the step before."""
        return replace(
            self,
            current_step=index,
            canary_weight=weight,
            step_started_at=started_at,
            extension_started_at=None,
        )

    def with_step_end(self, end: StepEnd) -> RolloutState:
        return replace(self, last_step_end=end)

    def with_extension(self, started_at: datetime | None) -> RolloutState:
        return replace(self, extension_started_at=started_at)

    def with_weight_from(self, weight: int, at: datetime) -> RolloutState:
        """A new period of constant weight from `at`, unless the weight stays what it was."""
        periods = self.weight_periods
        if periods and periods[-1].weight == weight:
            return self
        return replace(self, weight_periods=(*periods, WeightPeriod(weight, at)))

    def with_rollout_started(self, at: datetime | None) -> RolloutState:
        return replace(self, rollout_started_at=at)

    def with_pause(self, pause: Pause | None) -> RolloutState:
        return replace(self, pause=pause)

    def with_analysis(
        self, summary: AnalysisSummary | None, no_data_since: datetime | None
    ) -> RolloutState:
        return replace(self, last_analysis=summary, no_data_since=no_data_since)

    def with_conditions(self, conditions: tuple[Condition, ...]) -> RolloutState:
        return replace(self, conditions=conditions)

    def with_history(self, history: tuple[HistoryEntry, ...]) -> RolloutState:
        return replace(self, history=history)

    def with_last_entry(self, entry: HistoryEntry) -> RolloutState:
        assert self.history, "no history entry to replace"
        return replace(self, history=(*self.history[:-1], entry))

    def with_rollout_reset(self) -> RolloutState:
        """Forget everything about the canary under way (a new one starts or none is left)."""
        return replace(
            self,
            current_step=0,
            canary_weight=0,
            rollout_started_at=None,
            step_started_at=None,
            weight_periods=(),
            pause=None,
            extension_started_at=None,
            last_step_end=None,
            last_analysis=None,
            no_data_since=None,
        )

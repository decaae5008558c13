"""Lineage: one history entry per rollout, saying which model went live when, and why.

An entry opens when a canary revision starts rolling out. Its outcome is written with the
decision (so a rollback's reason survives a restart while traffic is still moving back) and its
end time when the rollout is over. Manual actions are recorded in the entry they acted on. The
list is capped so the status stays small; the oldest entries go first.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from rollout.revision import Revision
from rollout.state import ActionRecord, HistoryEntry, Outcome, RolloutState

MAX_ENTRIES = 20


def open_entry(state: RolloutState, revision: Revision, at: datetime) -> RolloutState:
    # The status's history has no Knative revision name; keep the entry as it reads back.
    entry = HistoryEntry(revision=revision.with_revision_name(None), started_at=at)
    entries = (*state.history, entry)
    return state.with_history(entries[-MAX_ENTRIES:])


def decide(state: RolloutState, outcome: Outcome, reason: str) -> RolloutState:
    """Write the outcome of the rollout under way (its end time comes with `finish`)."""
    entry = state.current_entry
    if entry is None:
        return state
    return state.with_last_entry(entry.with_decision(outcome, reason))


def note_reason(state: RolloutState, reason: str) -> RolloutState:
    """Say why the rollout under way is heading where it is, before its outcome is known."""
    entry = state.current_entry
    if entry is None:
        return state
    return state.with_last_entry(replace(entry, reason=reason))


def finish(state: RolloutState, at: datetime) -> RolloutState:
    entry = state.current_entry
    if entry is None:
        return state
    return state.with_last_entry(entry.finished(at))


def close(state: RolloutState, outcome: Outcome, reason: str, at: datetime) -> RolloutState:
    return finish(decide(state, outcome, reason), at)


def record_action(state: RolloutState, record: ActionRecord) -> RolloutState:
    """Add a manual action to the newest entry (the one it acted on)."""
    entry = state.last_entry
    if entry is None:
        return state
    return state.with_last_entry(entry.with_action(record))


def last_record_of(state: RolloutState, action: str) -> ActionRecord | None:
    """The most recent time this manual action was taken, in any entry."""
    for entry in reversed(state.history):
        for record in reversed(entry.actions):
            if record.action == action:
                return record
    return None


def pending_outcome(state: RolloutState) -> Outcome | None:
    entry = state.current_entry
    return entry.outcome if entry is not None else None

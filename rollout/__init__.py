"""The rollout: strategy schema, the pure state machine, manual actions and the rollout status.

The reconciler's whole use of this package, in one reconcile:

    strategy = parse_strategy(annotations)            # Strategy | InvalidStrategy
    state = from_status(inference_rollout_status)     # RolloutState
    transition = step(state, Observations(...), now)  # pure
    for action in transition.before_commit: carry out (stop and retry on failure)
    write to_status(transition.state) if it differs from the stored status
    for action in transition.after_commit: carry out
    schedule next_wakeup(transition.state, strategy, now)

rollout knows nothing of Kubernetes clients, routers or the analysis package: it takes
observations in its own types and returns actions as data (rollout.actions).
"""

from rollout.actions import (
    Action,
    ConsumeAction,
    Decision,
    EmitEvent,
    EnsurePrimary,
    EventType,
    HandBack,
    PromoteInRouter,
    RecordDecision,
    SetWeight,
)
from rollout.annotations import ACTION, STRATEGY, InvalidStrategy, is_managed, parse_strategy
from rollout.evidence import AnalysisResult, AnalysisSummary, Verdict
from rollout.machine import step
from rollout.manual import ManualAction
from rollout.observations import ManualRequest, Observations, Workload
from rollout.revision import Revision, revision_hash, revision_of
from rollout.schedule import next_analysis_at, next_wakeup
from rollout.state import Outcome, Phase, RolloutState
from rollout.status import StatusError, from_status, to_status
from rollout.strategy import Strategy, TrafficMode
from rollout.transition import Transition

__all__ = [
    "ACTION",
    "STRATEGY",
    "Action",
    "AnalysisResult",
    "AnalysisSummary",
    "ConsumeAction",
    "Decision",
    "EmitEvent",
    "EnsurePrimary",
    "EventType",
    "HandBack",
    "InvalidStrategy",
    "ManualAction",
    "ManualRequest",
    "Observations",
    "Outcome",
    "Phase",
    "PromoteInRouter",
    "RecordDecision",
    "Revision",
    "RolloutState",
    "SetWeight",
    "StatusError",
    "Strategy",
    "TrafficMode",
    "Transition",
    "Verdict",
    "Workload",
    "from_status",
    "is_managed",
    "next_analysis_at",
    "next_wakeup",
    "parse_strategy",
    "revision_hash",
    "revision_of",
    "step",
    "to_status",
]

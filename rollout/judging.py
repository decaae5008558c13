"""Taking analysis results in, and the verdicts that end a rollout early.

A result counts only for the canary under way and only if it is newer than the last one kept,
so a late or repeated result cannot change a decision already made. Harm (Fail) rolls back at
once, whatever the step. NoData follows the strategy's no-data policy: `fail` rolls back,
`hold` waits (the step does not advance) and rolls back once there has been no data for the
policy's limit, `pass` lets the step advance: never a silent promotion by default. A metric
with its own policy that lacked data decides instead (rollout.no_data).
"""

from __future__ import annotations

from rollout.durations import format_duration
from rollout.evidence import AnalysisSummary, Verdict
from rollout.no_data import no_data_rule
from rollout.rollback import begin_rollback
from rollout.state import Outcome, RolloutState
from rollout.strategy import NoDataPolicy
from rollout.transition import Tick, Transition, stay


def absorb(state: RolloutState, tick: Tick) -> Transition:
    """Keep a fresh analysis result of the current canary as the last analysis."""
    result = tick.observed.analysis
    taken_at = result.time.replace(microsecond=0) if result is not None else None
    if (
        result is None
        or not state.phase.in_rollout
        or state.canary is None
        or state.rollout_started_at is None
        or result.revision != state.canary.hash
        or taken_at is None
        or taken_at < state.rollout_started_at
        or (state.last_analysis is not None and taken_at <= state.last_analysis.time)
    ):
        return stay(state)
    no_data_since = None
    if result.verdict is Verdict.NO_DATA:
        no_data_since = state.no_data_since or taken_at
    return stay(state.with_analysis(AnalysisSummary.of(result), no_data_since))


def harm(state: RolloutState, tick: Tick, *, no_data_counts: bool = True) -> Transition | None:
    """A rollback the last analysis calls for, or None to carry on."""
    last = state.last_analysis
    if last is None:
        return None
    if last.verdict is Verdict.FAIL:
        return begin_rollback(
            state,
            outcome=Outcome.ROLLED_BACK,
            reason=f"analysis failed: {last.describe()}",
            event_reason="AnalysisFailed",
        )
    if last.verdict is not Verdict.NO_DATA or not no_data_counts:
        return None
    rule = no_data_rule(last, tick.strategy)
    if rule.policy is NoDataPolicy.FAIL:
        return begin_rollback(
            state,
            outcome=Outcome.ROLLED_BACK,
            reason=f"analysis has no {rule.data} ({rule.field}.policy: fail)",
            event_reason="AnalysisNoData",
        )
    since = state.no_data_since
    if rule.policy is NoDataPolicy.HOLD and since is not None and tick.now - since >= rule.limit:
        return begin_rollback(
            state,
            outcome=Outcome.ROLLED_BACK,
            reason=f"analysis had no {rule.data} for {format_duration(rule.limit)} "
            f"({rule.field}.limit)",
            event_reason="AnalysisNoData",
        )
    return None


def may_advance(last: AnalysisSummary, tick: Tick) -> bool:
    """Pass and Inconclusive end a step; NoData only under the `pass` policy."""
    verdict = last.verdict
    if verdict is Verdict.NO_DATA:
        return no_data_rule(last, tick.strategy).policy is NoDataPolicy.PASS
    return verdict in (Verdict.PASS, Verdict.INCONCLUSIVE)

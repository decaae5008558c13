"""One look at a rollout: counts in, verdicts with evidence out.

`evaluate` is the pure entry point the controller calls at every analysis tick; `judge` is the
same computation over a batch of rollouts (numpy arrays), which the simulator uses. The tests
need the counts since the rollout started, cut into periods of constant canary weight (the
error-rate and latency checks compare the revisions within each period, so a drift shared by
both over time is not taken for a regression; the sample-ratio check holds each period's split
to its weight). The periods' boundaries are in the rollout's status, so a restarted controller
gets the same answer by re-querying Prometheus.

The overall verdict: Fail if any harm or guardrail check fails; otherwise Pass if every
non-inferiority check passes and the split matches the weights; otherwise Inconclusive. Without
data (a failed query, or a revision that served nothing yet) the no-data policy decides. A look
during the warm-up, before the counts start, is Inconclusive without counting (`warming_up`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from analysis.check import CheckArrays
from analysis.count_arrays import CountArrays, Period
from analysis.counts import RevisionCounts
from analysis.error_rate import error_rate_checks
from analysis.evidence import AnalysisResult, CheckEvidence
from analysis.latency import latency_checks
from analysis.no_data import no_data_verdict
from analysis.query_result import NoData
from analysis.sample_ratio import sample_ratio_check
from analysis.settings import AnalysisSettings, Metric, NoDataPolicy
from analysis.slo import slo_checks, untestable_latency_limits
from analysis.verdict import CODE_OF, VERDICT_OF, Role, Verdict


@dataclass(frozen=True)
class SplitPeriod:
    """Requests each revision served while the canary's weight was `canary_percent`."""

    canary_percent: float
    stable_requests: int
    canary_requests: int


def split_periods(
    canary_percents: Sequence[float],
    stable_requests_at_end: Sequence[int],
    canary_requests_at_end: Sequence[int],
) -> tuple[SplitPeriod, ...]:
    """Periods from cumulative request counts at the end of each period of constant weight.

    Raises ValueError when the sequences differ in length or a count goes down.
    """
    if not len(canary_percents) == len(stable_requests_at_end) == len(canary_requests_at_end):
        raise ValueError("give one weight and one cumulative count per revision for each period")
    periods = []
    previous_stable = previous_canary = 0
    for percent, stable, canary in zip(
        canary_percents, stable_requests_at_end, canary_requests_at_end, strict=True
    ):
        if stable < previous_stable or canary < previous_canary:
            raise ValueError("cumulative request counts must not decrease from one period to next")
        periods.append(SplitPeriod(percent, stable - previous_stable, canary - previous_canary))
        previous_stable, previous_canary = stable, canary
    return tuple(periods)


def judge(
    settings: AnalysisSettings,
    stable: CountArrays,
    canary: CountArrays,
    split: tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.int64]] | None = None,
    periods: Sequence[Period] | None = None,
) -> tuple[list[CheckArrays], NDArray[np.int64]]:
    """All checks and the overall verdict codes over a batch of rollouts.

    `stable` and `canary` are the counts since the rollout started. `periods` are the same
    counts cut where the canary's weight changed, (stable, canary) per period: the error-rate
    and latency checks compare the revisions within each period (`analysis.margin`), None
    compares the totals. `split` is (canary fractions per period, stable requests per period,
    canary requests per period), the period on the last axis; None skips the sample-ratio
    check. Rollouts where a revision has served no request yet get the NoData code; the
    caller applies the policy.
    """
    checks: list[CheckArrays] = []
    if settings.check_error_rate:
        checks += error_rate_checks(stable, canary, settings, periods)
    if settings.check_latency:
        checks += latency_checks(stable, canary, settings, periods)
    checks += slo_checks(stable, canary, settings)
    if settings.check_sample_ratio and split is not None:
        weights, stable_split, canary_split = split
        checks.append(sample_ratio_check(weights, stable_split, canary_split, settings.alpha))

    shape = np.shape(stable.requests)
    fail = np.zeros(shape, dtype=bool)
    all_pass = np.ones(shape, dtype=bool)
    any_noninferiority = False
    for check in checks:
        if check.role.rolls_back:
            fail |= check.verdict == CODE_OF[Verdict.FAIL]
        elif check.role is Role.NON_INFERIORITY:
            any_noninferiority = True
            all_pass &= check.verdict == CODE_OF[Verdict.PASS]
        elif check.role is Role.SAMPLE_RATIO:
            all_pass &= check.verdict != CODE_OF[Verdict.FAIL]
    all_pass &= any_noninferiority
    overall = np.where(
        fail,
        CODE_OF[Verdict.FAIL],
        np.where(all_pass, CODE_OF[Verdict.PASS], CODE_OF[Verdict.INCONCLUSIVE]),
    )
    empty = (np.asarray(stable.requests) <= 0) | (np.asarray(canary.requests) <= 0)
    return checks, np.asarray(np.where(empty, CODE_OF[Verdict.NO_DATA], overall), dtype=np.int64)


_CheckName = tuple[str, Role, Metric | None]


def _check_names(settings: AnalysisSettings) -> list[_CheckName]:
    """Every configured check with its role and the metric whose counts it needs (None: the
    requests alone)."""
    names: list[_CheckName] = []
    if settings.check_error_rate:
        names += [
            ("error-rate-harm", Role.HARM, Metric.ERROR_RATE),
            ("error-rate-noninferiority", Role.NON_INFERIORITY, Metric.ERROR_RATE),
        ]
    if settings.check_latency:
        names += [
            ("latency-harm", Role.HARM, Metric.LATENCY),
            ("latency-noninferiority", Role.NON_INFERIORITY, Metric.LATENCY),
        ]
    if settings.slo.max_error_rate is not None:
        names.append(("error-rate-slo", Role.GUARDRAIL, Metric.ERROR_RATE))
    names += [(name, Role.GUARDRAIL, Metric.LATENCY) for name in settings.slo.latency_check_names()]
    if settings.check_sample_ratio:
        names.append(("sample-ratio", Role.SAMPLE_RATIO, None))
    return names


def _without_data(
    settings: AnalysisSettings, reason: str, seconds_without_data: float
) -> AnalysisResult:
    verdict = no_data_verdict(settings.no_data, seconds_without_data)
    checks = tuple(
        CheckEvidence.no_data(name, role, reason) for name, role, _ in _check_names(settings)
    )
    policy = settings.no_data.policy.value
    limit = settings.no_data.limit_seconds
    if verdict is Verdict.NO_DATA and math.isinf(limit):
        message = f"no data ({reason}); holding"
    elif verdict is Verdict.NO_DATA:
        message = (
            f"no data for {seconds_without_data:.0f}s ({reason}); holding "
            f"(fails after {limit:.0f}s)"
        )
    elif settings.no_data.policy is NoDataPolicy.HOLD:
        message = (
            f"no data for {seconds_without_data:.0f}s ({reason}); failing: longer than the "
            f"{settings.no_data.limit_seconds:.0f}s no-data limit"
        )
    else:
        message = f"no data ({reason}); no-data policy {policy}: {verdict.value}"
    return AnalysisResult(verdict=verdict, checks=checks, message=message)


def warming_up(settings: AnalysisSettings, message: str) -> AnalysisResult:
    """A look during the warm-up, before the counts start: nothing counted, nothing decided.

    Inconclusive, with every check Inconclusive and `message` (when the counts start) as its
    reason; not NoData, whose policy would start counting down to a rollback."""
    checks = tuple(
        CheckEvidence.uncounted(name, role, Verdict.INCONCLUSIVE, message)
        for name, role, _ in _check_names(settings)
    )
    return AnalysisResult(verdict=Verdict.INCONCLUSIVE, checks=checks, message=message)


def evaluate(
    settings: AnalysisSettings,
    *,
    stable: RevisionCounts | NoData,
    canary: RevisionCounts | NoData,
    split: Sequence[SplitPeriod] = (),
    periods: Sequence[tuple[RevisionCounts, RevisionCounts]] = (),
    seconds_without_data: float = 0.0,
    missing: Mapping[Metric, str] | None = None,
) -> AnalysisResult:
    """Judge one rollout from both revisions' cumulative counts since the rollout started.

    `periods` holds (stable, canary) counts per period of constant weight, compared period by
    period (empty: the cumulative counts are compared as one period); `split` holds the
    requests per period (empty skips the sample-ratio check); `seconds_without_data` is how
    long data has been missing, counted by the caller from the last look that had data, and
    only matters when this look has none. `missing` names the metrics whose counts could not
    be had while requests could, with why: each metric's own no-data policy decides what that
    means (`_judged_without`), and its checks are NoData naming the metric.
    """
    if isinstance(stable, NoData) or isinstance(canary, NoData):
        reasons = [
            f"{side}: {counts.reason}"
            for side, counts in (("stable", stable), ("canary", canary))
            if isinstance(counts, NoData)
        ]
        return _without_data(settings, "; ".join(reasons), seconds_without_data)
    sides = [("stable", stable), ("canary", canary)]
    for index, (period_stable, period_canary) in enumerate(periods):
        sides += [(f"period {index + 1} stable", period_stable)]
        sides += [(f"period {index + 1} canary", period_canary)]
    for side, counts in sides:
        problem = _inconsistency(counts)
        if problem:
            return _without_data(settings, f"{side}: {problem}", seconds_without_data)
    empty = [side for side, c in (("stable", stable), ("canary", canary)) if c.requests <= 0]
    if empty:
        reason = " and ".join(empty) + " served no requests yet"
        return _without_data(settings, reason, seconds_without_data)

    split_arrays = None
    if split:
        split_arrays = (
            np.array([period.canary_percent / 100.0 for period in split]),
            np.array([period.stable_requests for period in split], dtype=np.int64),
            np.array([period.canary_requests for period in split], dtype=np.int64),
        )
    lacking = frozenset(missing or {})
    period_arrays = [
        (CountArrays.of(_without(s, lacking)), CountArrays.of(_without(c, lacking)))
        for s, c in periods
    ] or None
    checks, overall = judge(
        settings,
        CountArrays.of(_without(stable, lacking)),
        CountArrays.of(_without(canary, lacking)),
        split_arrays,
        period_arrays,
    )
    evidence = tuple(CheckEvidence.of(check) for check in checks)
    verdict = VERDICT_OF[int(overall)]
    message = _summary(verdict, evidence, settings, canary)
    if missing:
        return _judged_without(settings, missing, seconds_without_data, verdict, evidence, message)
    return AnalysisResult(verdict=verdict, checks=evidence, message=message)


def _without(counts: RevisionCounts, lacking: frozenset[Metric]) -> RevisionCounts:
    """The counts as if the source had no query for the lacking metrics: their checks drop out."""
    return RevisionCounts(
        counts.requests,
        None if Metric.ERROR_RATE in lacking else counts.failures,
        None if Metric.LATENCY in lacking else counts.latency,
    )


def _judged_without(
    settings: AnalysisSettings,
    missing: Mapping[Metric, str],
    seconds_without_data: float,
    verdict: Verdict,
    checks: tuple[CheckEvidence, ...],
    message: str,
) -> AnalysisResult:
    """The verdict of a look in which some metrics' counts are missing while requests are not,
    from the other checks' `verdict` and each missing metric's own no-data policy: `pass` skips
    the metric, `fail` fails the look, `hold` holds it (NoData, failing after the limit). The
    other checks still count: a harm shown on them rolls back whatever the missing metric's
    policy."""
    notes = []
    outcomes = []
    for metric, reason in missing.items():
        policy = settings.no_data.of(metric)
        outcome = no_data_verdict(policy, seconds_without_data)
        outcomes.append(outcome)
        what = f"no {metric.label} data ({reason})"
        if outcome is Verdict.PASS:
            notes.append(f"{what}: {metric.label} not checked (its no-data policy is pass)")
        elif outcome is Verdict.NO_DATA:
            notes.append(f"{what}; holding")
        elif policy.policy is NoDataPolicy.HOLD:
            notes.append(
                f"{what} for {seconds_without_data:.0f}s; failing: longer than its "
                f"{policy.limit_seconds:.0f}s no-data limit"
            )
        else:
            notes.append(f"{what}; failing (its no-data policy is fail)")
    if verdict is not Verdict.FAIL and Verdict.FAIL in outcomes:
        verdict, message = Verdict.FAIL, "; ".join(notes)
    elif verdict is not Verdict.FAIL and Verdict.NO_DATA in outcomes:
        verdict, message = Verdict.NO_DATA, "; ".join(notes)
    else:
        message = "; ".join([message, *notes])
    skipped = tuple(
        CheckEvidence.no_data(
            name, role, f"no {metric.label} data ({missing[metric]})", metric.value
        )
        for name, role, metric in _check_names(settings)
        if metric is not None and metric in missing
    )
    return AnalysisResult(verdict=verdict, checks=checks + skipped, message=message)


def _inconsistency(counts: RevisionCounts) -> str | None:
    """Why these counts cannot be judged (they are then treated as missing), or None."""
    if counts.requests < 0 or (counts.failures is not None and counts.failures < 0):
        return f"negative counts (requests {counts.requests}, failures {counts.failures})"
    if counts.failures is not None and counts.failures > counts.requests:
        return f"more failures ({counts.failures}) than requests ({counts.requests})"
    latency = counts.latency
    if latency is not None:
        if len(latency.upper_bounds) != len(latency.cumulative) or not latency.cumulative:
            return "latency histogram bounds and counts differ in length"
        if latency.upper_bounds[-1] != float("inf"):
            return "latency histogram has no +Inf bucket"
        steps = zip(latency.cumulative, latency.cumulative[1:], strict=False)
        if latency.cumulative[0] < 0 or any(b < a for a, b in steps):
            return "latency histogram counts are not cumulative"
    return None


def _summary(
    verdict: Verdict,
    checks: tuple[CheckEvidence, ...],
    settings: AnalysisSettings,
    canary: RevisionCounts,
) -> str:
    notes = []
    if canary.failures is None and settings.check_error_rate:
        notes.append("the metrics source has no error counts: error rate not checked")
    if canary.latency is None and settings.check_latency:
        notes.append("the metrics source has no latency histogram: latency not checked")
    notes += untestable_latency_limits(settings, CountArrays.of(canary))
    if verdict is Verdict.FAIL:
        failed = [c.name for c in checks if c.role.rolls_back and c.verdict is Verdict.FAIL]
        head = "canary worse than allowed: " + ", ".join(failed)
    elif verdict is Verdict.PASS:
        head = "canary shown not worse than allowed on every check"
    else:
        waiting = [
            c.name
            for c in checks
            if (c.role is Role.NON_INFERIORITY and c.verdict is not Verdict.PASS)
            or (c.role is Role.SAMPLE_RATIO and c.verdict is Verdict.FAIL)
        ]
        head = "not decided yet: " + ", ".join(waiting) if waiting else "not decided yet"
        if any(c.role is Role.SAMPLE_RATIO and c.verdict is Verdict.FAIL for c in checks):
            head += " (sample-ratio mismatch: the split does not match the weights)"
    return "; ".join([head, *notes])

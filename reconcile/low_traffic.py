"""The LowTraffic warning: a rollout whose traffic is too low for its plan to catch much.

When a rollout starts analysing (the canary is ready and `rolloutStartedAt` is set), the
controller reads the InferenceService's request rate over the `LOOKBACK` before the start (both
revisions' requests: before the start that is everything the ISVC served, whichever revision
served it) and stable's error rate, and asks `analysis.required_traffic` whether the plan
catches a doubled error rate at that rate before it ends, with 90% probability. If it does not,
one Warning Event with reason `LowTraffic` names the observed rate and the rate the plan would
need.

It is emitted only by the reconcile whose status write sets `rolloutStartedAt`, so later ticks
and a restarted controller (which reads the start from the status) never repeat it; a
controller killed between that write and the Event loses it, as any Event may be lost. A rate
that cannot be read (no series, a failed query, stale samples) warns about nothing: the
analysis itself reports missing data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from analysis.prometheus import PrometheusSource
from analysis.query_result import NoData, NoDataKind
from analysis.required_traffic import CATCH_PROBABILITY, PlanShape, required_rps
from analysis.settings import AnalysisSettings
from analysis.templates import MetricTemplate, RevisionRef
from reconcile.analysis_run import AnalysisPlan, revision_refs
from reconcile.log_fields import rollout_logger
from rollout.durations import format_duration
from rollout.strategy import Strategy
from traffic.store import JsonObject

log = rollout_logger(__name__)

REASON = "LowTraffic"
LOOKBACK = timedelta(minutes=5)
DEFAULT_STABLE_ERROR_RATE = 0.01
"""The stable error rate assumed when stable failed no request in the lookback."""
RATIO = 2.0


@dataclass(frozen=True)
class ObservedTraffic:
    """What the ISVC served before the rollout started."""

    requests_per_second: float
    stable_error_rate: float | None
    """None when stable served no request or failed none (nothing to scale)."""


class TrafficReader(Protocol):
    """Reads the traffic before a rollout; None when it cannot be read."""

    def observed_traffic(
        self,
        template: MetricTemplate,
        stable: RevisionRef,
        canary: RevisionRef,
        *,
        since: datetime,
        at: datetime,
    ) -> ObservedTraffic | None: ...


class PrometheusTraffic:
    """The observed traffic from exact per-revision counts (analysis.prometheus)."""

    def __init__(self, source: PrometheusSource) -> None:
        self._source = source

    def observed_traffic(
        self,
        template: MetricTemplate,
        stable: RevisionRef,
        canary: RevisionRef,
        *,
        since: datetime,
        at: datetime,
    ) -> ObservedTraffic | None:
        seconds = (at - since).total_seconds()
        served = self._source.revision_reading(template, stable, since=since, at=at)
        if isinstance(served.requests, NoData):
            log.debug("no request rate for %s: %s", stable, served.requests.reason)
            return None
        # A canary pod that has just become ready may have no series or no scrape yet.
        newest = self._source.revision_reading(template, canary, since=since, at=at, fresh=False)
        canary_requests = 0
        if isinstance(newest.requests, int):
            canary_requests = newest.requests
        elif newest.requests.kind is not NoDataKind.NO_DATA:
            log.debug("no request rate for %s: %s", canary, newest.requests.reason)
            return None
        error_rate = None
        if isinstance(served.failures, int) and served.failures > 0:
            error_rate = served.failures / served.requests
        return ObservedTraffic((served.requests + canary_requests) / seconds, error_rate)


def warning_at_start(
    traffic: TrafficReader,
    strategy: Strategy,
    plan: AnalysisPlan,
    isvc: JsonObject,
    start: datetime,
) -> str | None:
    """The LowTraffic Event's message for a rollout that started analysing at `start`, or None
    (enough traffic, or none that can be read, or revisions not named yet)."""
    refs = revision_refs(strategy, isvc)
    if isinstance(refs, str):
        return None
    observed = traffic.observed_traffic(
        plan.template, refs[0], refs[1], since=start - LOOKBACK, at=start
    )
    if observed is None:
        return None
    return low_traffic_message(strategy, plan.settings, observed)


def low_traffic_message(
    strategy: Strategy, settings: AnalysisSettings, observed: ObservedTraffic
) -> str | None:
    """The Event's message when `observed` is too little for the plan, else None."""
    weights = tuple(weight for weight in strategy.weights if weight < 100)
    if not weights or not settings.check_error_rate:
        return None
    plan = PlanShape(
        weights,
        step_seconds=strategy.step_duration.total_seconds(),
        interval_seconds=strategy.interval.total_seconds(),
        extension_seconds=strategy.extend_inconclusive.total_seconds(),
    )
    error_rate = observed.stable_error_rate or DEFAULT_STABLE_ERROR_RATE
    if error_rate >= 1.0 / RATIO:
        return None
    needed = required_rps(plan, settings, stable_error_rate=error_rate, ratio=RATIO)
    if needed is None:
        log.debug("a doubled error rate from %s is within the tolerance", _percent(error_rate))
        return None
    rate = observed.requests_per_second
    if rate >= needed:
        return None
    return (
        f"at {_rate(rate)} req/s a doubled error rate ({_percent(error_rate)} -> "
        f"{_percent(RATIO * error_rate)}) is caught before the plan ends with "
        f"{CATCH_PROBABILITY:.0%} probability only above {_rate(needed)} req/s; lengthen the "
        "steps (kcanary.io/step-duration), raise the weights (kcanary.io/steps) or the "
        "extension of an undecided last step (kcanary.io/extend-inconclusive) "
        f"(kcanary sensitivity --rps {_rate(rate)} --steps {','.join(map(str, weights))} "
        f"--step-duration {format_duration(strategy.step_duration)} --interval "
        f"{format_duration(strategy.interval)} shows what this plan catches)"
    )


def _rate(rps: float) -> str:
    return f"{math.ceil(rps)}" if rps >= 10 else f"{rps:.2g}"


def _percent(fraction: float) -> str:
    return f"{fraction * 100:.2g}%"

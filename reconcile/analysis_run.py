"""One analysis tick: the strategy mapped onto the analysis package, counts from Prometheus, a
verdict in the rollout's terms.

The strategy (rollout.strategy) is what users write; `analysis.settings` is what the tests
take. The mapping, in one place:

- alpha as is; the tolerances' and harm margins' `absolute` parts are in percentage points, the
  analysis's fractions; the latency ones apply to the share of requests slower than each
  histogram bucket edge (analysis.settings.Tolerance);
- SLO limits: percent to fraction, each latency limit a guardrail of its own;
- no data: the state machine applies the strategy's policy and limit from the persisted start of
  the no-data run, so the analysis is asked only to say NoData (policy hold, no limit); so too
  for a metric's own policy (`noData.errorRate`, `noData.latency`), except `pass`, under which
  the analysis judges the canary without that metric;
- which checks run follows what the template can count: no failures query, no error-rate check.

A tick is due when `rolloutStartedAt + k * interval` (k >= 1) has passed since the analysis kept
in the status (`analysis_due`): computed from the status alone, so a restart keeps the ticks.
Every count starts at `rolloutStartedAt + warmup` (rollout.warmup), for both revisions and every
period of constant weight, the sample-ratio split included; a tick at or before then asks
Prometheus nothing and is Inconclusive (`warming_up`).

Revisions are named for each metrics source as the source labels them: with a primary copy the
stable pods are `<name>-primary-predictor`, the canary's `<name>-predictor`; in Serverless mode
Knative's revisions (stable latestRolledoutRevision, canary latestCreatedRevision) run as
`<revision>-deployment`; KServe's Standard-mode canary entries run as `<name>-<entry>-predictor`.
"""

from __future__ import annotations

import logging
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from analysis.counts import RevisionCounts
from analysis.evaluate import SplitPeriod, evaluate
from analysis.evaluate import warming_up as analysis_warming_up
from analysis.prometheus import PrometheusSource
from analysis.prometheus_connection import PrometheusConnection
from analysis.query_result import NoData, NoDataKind
from analysis.settings import (
    AnalysisSettings,
    LatencyLimit,
    Metric,
    NoDataPolicy,
    NoDataSettings,
    SettingsError,
    SloLimits,
    Tolerance,
)
from analysis.templates import MetricTemplate, RevisionRef, TemplateError, builtin_template
from reconcile.metrics import MetricsRecorder
from rollout.annotations import ANALYSIS, InvalidStrategy
from rollout.evidence import AnalysisResult, Verdict
from rollout.machine import whole_seconds
from rollout.state import RolloutState, WeightPeriod
from rollout.strategy import MetricsSource, NoDataMetric, Strategy, TrafficMode
from rollout.strategy import NoDataPolicy as StrategyNoDataPolicy
from rollout.warmup import warming_up_message
from traffic.errors import RouteError
from traffic.inference_service import DeploymentMode, deployment_mode
from traffic.store import JsonObject

log = logging.getLogger(__name__)

STATUS_CHECK_FIELDS = (
    "name",
    "metric",
    "verdict",
    "stable",
    "canary",
    "effect",
    "interval",
    "evalue",
    "threshold",
    "samples",
)
"""The fields of `lastAnalysis.checks[]` (DESIGN.md section 8); the CRD declares these."""

_QUERY_FIELDS = {"requests": "requests", "errors": "failures", "latencyBuckets": "latency_buckets"}


@dataclass(frozen=True)
class AnalysisPlan:
    """What to ask Prometheus and how to judge it, fixed by the strategy."""

    template: MetricTemplate
    settings: AnalysisSettings


@dataclass(frozen=True)
class AnalysisJob:
    """One tick of one rollout."""

    namespace: str
    name: str
    plan: AnalysisPlan
    canary_hash: str
    stable: RevisionRef
    canary: RevisionRef
    since: datetime
    """The counts start, rolloutStartedAt + warmup: every count is since then (recomputed each
    tick)."""
    at: datetime
    periods: tuple[WeightPeriod, ...] = ()
    """The periods of constant weight since the rollout started (status.weightPeriods)."""
    warmup: timedelta = timedelta(0)
    """How long after rolloutStartedAt the counts start (the strategy's warmup)."""

    @property
    def canary_weight(self) -> int:
        """The weight of the period under way (0 before any)."""
        return self.periods[-1].weight if self.periods else 0


class Analyst(Protocol):
    """Runs one analysis tick; never raises for missing data (that is a NoData verdict)."""

    def analyse(self, job: AnalysisJob) -> AnalysisResult: ...


def analysis_plan(strategy: Strategy) -> AnalysisPlan | InvalidStrategy:
    """The template and settings for `strategy`, or why they cannot be built."""
    template = metric_template(strategy)
    if isinstance(template, InvalidStrategy):
        return template
    settings = analysis_settings(strategy, template)
    if isinstance(settings, InvalidStrategy):
        return settings
    return AnalysisPlan(template, settings)


def metric_template(strategy: Strategy) -> MetricTemplate | InvalidStrategy:
    metrics = strategy.metrics
    queries = dict(metrics.queries)
    try:
        if metrics.source is MetricsSource.CUSTOM:
            return MetricTemplate(
                name="custom",
                requests=queries["requests"],
                failures=queries.get("errors"),
                latency_buckets=queries.get("latencyBuckets"),
                latency_unit_s=1.0,
            )
        base = builtin_template(metrics.source.value)
        if not queries:
            return base
        fields: dict[str, Any] = {
            "name": base.name,
            "requests": base.requests,
            "failures": base.failures,
            "latency_buckets": base.latency_buckets,
            "latency_unit_s": base.latency_unit_s,
        }
        for key, text in queries.items():
            fields[_QUERY_FIELDS[key]] = text
        return MetricTemplate(**fields)
    except TemplateError as error:
        return InvalidStrategy(ANALYSIS, f"metrics.queries: {error}")


def analysis_settings(
    strategy: Strategy, template: MetricTemplate
) -> AnalysisSettings | InvalidStrategy:
    tolerances = strategy.tolerances
    latency = tolerances.latency
    limits = strategy.slo.latency
    try:
        error_rate = strategy.slo.error_rate
        return AnalysisSettings(
            alpha=strategy.alpha,
            error_rate=Tolerance(
                absolute=tolerances.error_rate.absolute / 100.0,
                relative=tolerances.error_rate.relative,
            ),
            latency=Tolerance(absolute=latency.absolute / 100.0, relative=latency.relative),
            error_rate_harm=Tolerance(
                absolute=tolerances.error_rate.harm.absolute / 100.0,
                relative=tolerances.error_rate.harm.relative,
            ),
            latency_harm=Tolerance(
                absolute=latency.harm.absolute / 100.0, relative=latency.harm.relative
            ),
            slo=SloLimits(
                max_error_rate=error_rate / 100.0 if error_rate is not None else None,
                latency=tuple(
                    LatencyLimit(limit.quantile, limit.max.total_seconds()) for limit in limits
                ),
            ),
            no_data=NoDataSettings(
                policy=NoDataPolicy.HOLD,
                limit_seconds=math.inf,
                error_rate=_metric_no_data(strategy, NoDataMetric.ERROR_RATE),
                latency=_metric_no_data(strategy, NoDataMetric.LATENCY),
            ),
            check_error_rate=template.failures is not None,
            check_latency=template.latency_buckets is not None,
            check_sample_ratio=True,
        )
    except SettingsError as error:
        return InvalidStrategy(ANALYSIS, f"tolerances: {error}")


def _metric_no_data(strategy: Strategy, metric: NoDataMetric) -> NoDataSettings:
    """A metric whose policy is `pass` is skipped by the analysis; under `hold` and `fail` the
    analysis says NoData and the state machine applies the policy (rollout.no_data)."""
    policy, _ = strategy.no_data.for_metric(metric)
    if policy is StrategyNoDataPolicy.PASS:
        return NoDataSettings(policy=NoDataPolicy.PASS)
    return NoDataSettings(policy=NoDataPolicy.HOLD, limit_seconds=math.inf)


def revision_refs(strategy: Strategy, isvc: JsonObject) -> tuple[RevisionRef, RevisionRef] | str:
    """(stable, canary) as the metrics source names them, or why they are not known yet."""
    meta = isvc.get("metadata") or {}
    namespace, name = str(meta.get("namespace") or ""), str(meta.get("name") or "")

    def ref(workload: str | None, revision: str | None, service: str | None) -> RevisionRef:
        return RevisionRef(namespace, name, workload, revision, service, name)

    if strategy.mode is not TrafficMode.KSERVE:
        primary = f"{name}-primary-predictor"
        canary = f"{name}-predictor"
        return ref(primary, None, primary), ref(canary, None, canary)
    try:
        mode = deployment_mode(isvc)
    except RouteError as error:
        return str(error)
    if mode is DeploymentMode.STANDARD:
        spec = isvc.get("spec") or {}
        entries = spec.get("canary") or []
        if not entries:
            return "the InferenceService has no spec.canary[] entry yet"
        stable_name = (spec.get("predictor") or {}).get("name")
        canary_name = ((entries[0] or {}).get("predictor") or {}).get("name")
        stable = f"{name}-{stable_name}-predictor" if stable_name else f"{name}-predictor"
        canary = f"{name}-{canary_name}-predictor"
        return ref(stable, None, stable), ref(canary, None, canary)
    predictor = ((isvc.get("status") or {}).get("components") or {}).get("predictor") or {}
    stable_revision = predictor.get("latestRolledoutRevision")
    canary_revision = predictor.get("latestCreatedRevision")
    if not stable_revision or not canary_revision:
        return "KServe reports no latestRolledoutRevision/latestCreatedRevision yet"
    return (
        ref(f"{stable_revision}-deployment", str(stable_revision), str(stable_revision)),
        ref(f"{canary_revision}-deployment", str(canary_revision), str(canary_revision)),
    )


@dataclass(frozen=True)
class _Window:
    """One period of constant weight, as counted: [since, until] at `weight` percent."""

    weight: int
    since: datetime
    until: datetime


def windows(job: AnalysisJob) -> list[_Window]:
    """The job's periods of constant weight from the counts start up to its time (one window
    without periods); a period over before the counts start (in the warm-up) has none."""
    periods = [p for p in job.periods if p.since < job.at]
    if not periods:
        return [_Window(-1, job.since, job.at)] if job.since < job.at else []
    ends = [p.since for p in periods[1:]] + [job.at]
    return [
        _Window(p.weight, max(p.since, job.since), until)
        for p, until in zip(periods, ends, strict=True)
        if until > job.since
    ]


_NOTHING_SERVED = NoData.because(NoDataKind.NO_DATA, "no series for the revision yet")


@dataclass(frozen=True)
class _Counted:
    """What one tick counted: totals since the rollout started (or why they are missing),
    (stable, canary) per period in which both served, and requests per period for the split."""

    stable: RevisionCounts | NoData = _NOTHING_SERVED
    canary: RevisionCounts | NoData = _NOTHING_SERVED
    periods: tuple[tuple[RevisionCounts, RevisionCounts], ...] = ()
    split: tuple[SplitPeriod, ...] = ()
    missing: tuple[tuple[Metric, str], ...] = ()
    """Metrics whose counts were missing where requests were counted, with the first reason."""

    def lacking(self, metric: Metric, reason: str) -> _Counted:
        if any(known is metric for known, _ in self.missing):
            return self
        return replace(self, missing=(*self.missing, (metric, reason)))

    def with_window(
        self, window: _Window, stable: RevisionCounts | None, canary: RevisionCounts | None
    ) -> _Counted:
        periods = self.periods
        if stable is not None and canary is not None:
            periods = (*periods, (stable, canary))
        split = self.split
        if window.weight >= 0:
            served = SplitPeriod(
                float(window.weight),
                stable.requests if stable is not None else 0,
                canary.requests if canary is not None else 0,
            )
            split = (*split, served)
        return _Counted(
            _add(self.stable, stable), _add(self.canary, canary), periods, split, self.missing
        )

    def finished(self) -> _Counted:
        """Without a period at a weight strictly between 0 and 100 there is no split to test."""
        if any(0 < period.canary_percent < 100 for period in self.split):
            return self
        return replace(self, split=())


def _add(total: RevisionCounts | NoData, more: RevisionCounts | None) -> RevisionCounts | NoData:
    if more is None:
        return total
    return more if isinstance(total, NoData) else total.plus(more)


class PrometheusAnalyst:
    """Counts both revisions in each period of constant weight and judges them
    (analysis.evaluate): within each period, so a drift both share is not a regression."""

    CLOSED_AFTER = timedelta(minutes=1)
    """A period ended this long ago has all its samples scraped: its counts are kept."""

    def __init__(self, source: PrometheusSource, *, cache_size: int = 4096) -> None:
        self._source = source
        self._closed: OrderedDict[tuple[object, ...], RevisionCounts] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    @classmethod
    def connect(
        cls, connection: PrometheusConnection, *, metrics: MetricsRecorder
    ) -> PrometheusAnalyst:
        """An analyst over the Prometheus `connection` reaches whose failed queries are counted
        in kcanary_prometheus_query_errors_total{reason}."""

        def count(kind: NoDataKind) -> None:
            metrics.prometheus_query_errors.labels(kind.value).inc()

        source = PrometheusSource.connect(connection, on_query_error=count)
        return cls(source)

    @property
    def source(self) -> PrometheusSource:
        """The Prometheus source it counts from (shared with the LowTraffic check)."""
        return self._source

    def close(self) -> None:
        self._source.close()

    def analyse(self, job: AnalysisJob) -> AnalysisResult:
        counted = self._count(job)
        result = evaluate(
            job.plan.settings,
            stable=counted.stable,
            canary=counted.canary,
            split=counted.split,
            periods=counted.periods,
            missing=dict(counted.missing),
        )
        if result.verdict.value == Verdict.NO_DATA.value:
            log.info("%s/%s: %s", job.namespace, job.name, result.message)
        checks = tuple(status_check(check.to_dict()) for check in result.checks)
        return AnalysisResult(job.canary_hash, job.at, Verdict(result.verdict.value), checks)

    def _count(self, job: AnalysisJob) -> _Counted:
        """Both revisions' counts per period and in all, or the first reason they cannot be had.

        A revision without series in a period (it served nothing there yet) is no reason to
        give up: that period weighs nothing in the comparison, and its requests count as none
        in the split. A metric whose counts are missing while requests are not (the errors
        query failed, the histogram has no series) is left out and named in `missing`, for its
        own no-data policy. Any other missing data makes the whole tick NoData, and a
        Prometheus that fails once is not asked again in the same tick (it would only time out
        again)."""
        counted = _Counted()
        for window in windows(job):
            sides: list[RevisionCounts | None] = []
            for side, ref in (("stable", job.stable), ("canary", job.canary)):
                counts, lacking = self._window_counts(job, ref, window)
                if isinstance(counts, NoData) and counts.kind is not NoDataKind.NO_DATA:
                    return _Counted(counts, counts)
                for metric, why in lacking:
                    counted = counted.lacking(metric, f"{side}: {why}")
                sides.append(counts if isinstance(counts, RevisionCounts) else None)
            try:
                counted = counted.with_window(window, sides[0], sides[1])
            except ValueError as error:
                broken = NoData.because(NoDataKind.BAD_RESPONSE, str(error))
                return _Counted(broken, broken)
        return counted.finished()

    def _window_counts(
        self, job: AnalysisJob, ref: RevisionRef, window: _Window
    ) -> tuple[RevisionCounts | NoData, list[tuple[Metric, NoData]]]:
        """The revision's counts in the window (NoData when its requests cannot be had), and the
        metrics whose counts are missing while requests are not (left out of the counts)."""
        template = job.plan.template
        key = (template, ref, window.since, window.until)
        with self._lock:
            kept = self._closed.get(key)
        if kept is not None:
            return kept, []
        # Only the period under way must be fresh: a closed one is final (analysis.prometheus).
        reading = self._source.revision_reading(
            template, ref, since=window.since, at=window.until, fresh=window.until >= job.at
        )
        if isinstance(reading.requests, NoData):
            return reading.requests, []
        lacking = [
            (metric, found)
            for metric, found in (
                (Metric.ERROR_RATE, reading.failures),
                (Metric.LATENCY, reading.latency),
            )
            if isinstance(found, NoData)
        ]
        if lacking and reading.requests == 0:
            # Nothing served in the window: no series of any metric is no surprise.
            return _NOTHING_SERVED, []
        counts = RevisionCounts(
            reading.requests,
            None if isinstance(reading.failures, NoData) else reading.failures,
            None if isinstance(reading.latency, NoData) else reading.latency,
        )
        if not lacking and job.at - window.until >= self.CLOSED_AFTER:
            with self._lock:
                self._closed[key] = counts
                while len(self._closed) > self._cache_size:
                    self._closed.popitem(last=False)
        return counts, lacking


def warming_up(job: AnalysisJob) -> AnalysisResult:
    """The look of a job in its warm-up: Inconclusive, nothing asked of Prometheus."""
    message = warming_up_message(job.since, job.warmup)
    log.info("%s/%s: %s", job.namespace, job.name, message)
    result = analysis_warming_up(job.plan.settings, message)
    checks = tuple(status_check(check.to_dict()) for check in result.checks)
    return AnalysisResult(job.canary_hash, job.at, Verdict(result.verdict.value), checks)


def status_check(evidence: dict[str, Any]) -> dict[str, Any]:
    """A check's evidence cut to the status's fields (the CRD prunes any other)."""
    return {key: evidence.get(key) for key in STATUS_CHECK_FIELDS}


def analysis_due(state: RolloutState, strategy: Strategy, now: datetime) -> bool:
    """An anchored tick (`rolloutStartedAt + k * interval`, k >= 1) has passed since the last
    analysis kept in the status; ticks are compared at the status's precision (seconds)."""
    start = state.rollout_started_at
    if start is None or not state.phase.in_rollout or state.canary is None:
        return False
    now = whole_seconds(now)
    interval = strategy.interval
    if now < start + interval:
        return False
    ticks = math.floor((now - start) / interval)
    tick = whole_seconds(start + ticks * interval)
    last = state.last_analysis
    return last is None or last.time < tick

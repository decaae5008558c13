"""One analysis tick: the strategy mapped onto the analysis package, counts from Prometheus, a
verdict in the rollout's terms.

The strategy (rollout.strategy) is what users write; `analysis.settings` is what the tests
take. The mapping, in one place:

- alpha as is; the error-rate tolerance's `absolute` is in percentage points, the analysis's a
  fraction; the latency tolerance compares exceedance probabilities at the histogram's bucket
  edges (analysis.settings.Tolerance): `relative` as is, and `margin` as the absolute part with
  the stochastic-order method (the analysis default, half a point, with the quantiles method);
- SLO limits: percent to fraction, one latency limit (the analysis tests one quantile);
- no data: the state machine applies the strategy's policy and limit from the persisted start of
  the no-data run, so the analysis is asked only to say NoData (policy hold, no limit);
- which checks run follows what the template can count: no failures query, no error-rate check.

A tick is due when `rolloutStartedAt + k * interval` (k >= 1) has passed since the analysis kept
in the status (`analysis_due`): computed from the status alone, so a restart keeps the ticks.

Revisions are named for each metrics source as the source labels them: with a primary copy the
stable pods are `<name>-primary-predictor`, the canary's `<name>-predictor`; in Serverless mode
Knative's revisions (stable latestRolledoutRevision, canary latestCreatedRevision) run as
`<revision>-deployment`; KServe's Standard-mode canary entries run as `<name>-<entry>-predictor`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from analysis.evaluate import SplitPeriod, evaluate
from analysis.prometheus import PrometheusSource
from analysis.query_result import NoData, NoDataKind
from analysis.settings import (
    AnalysisSettings,
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
from rollout.state import RolloutState
from rollout.strategy import LatencyMethod, MetricsSource, Strategy, TrafficMode
from traffic.errors import RouteError
from traffic.inference_service import DeploymentMode, deployment_mode
from traffic.store import JsonObject

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
    """rolloutStartedAt: every count is since then (recomputed each tick)."""
    at: datetime
    canary_weight: int
    step_started_at: datetime | None


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
    if len(limits) > 1:
        return InvalidStrategy(
            ANALYSIS,
            f"slo.latency: {len(limits)} limits given, but one quantile can be guarded per "
            "rollout; keep the one that matters most (usually 0.99)",
        )
    try:
        latency_tolerance = (
            Tolerance(absolute=latency.margin, relative=0.0)
            if latency.method is LatencyMethod.STOCHASTIC_ORDER
            else Tolerance(relative=latency.relative)
        )
        error_rate = strategy.slo.error_rate
        return AnalysisSettings(
            alpha=strategy.alpha,
            error_rate=Tolerance(
                absolute=tolerances.error_rate.absolute / 100.0,
                relative=tolerances.error_rate.relative,
            ),
            latency=latency_tolerance,
            slo=SloLimits(
                max_error_rate=error_rate / 100.0 if error_rate is not None else None,
                latency_quantile=limits[0].quantile if limits else 0.99,
                max_latency_seconds=limits[0].max.total_seconds() if limits else None,
            ),
            no_data=NoDataSettings(policy=NoDataPolicy.HOLD, limit_seconds=math.inf),
            check_error_rate=template.failures is not None,
            check_latency=template.latency_buckets is not None,
            check_sample_ratio=True,
        )
    except SettingsError as error:
        return InvalidStrategy(ANALYSIS, f"tolerances: {error}")


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


class PrometheusAnalyst:
    """Counts both revisions since the rollout started and judges them (analysis.evaluate)."""

    def __init__(self, source: PrometheusSource) -> None:
        self._source = source

    @classmethod
    def connect(
        cls,
        url: str,
        *,
        metrics: MetricsRecorder,
        token_file: str | None = None,
        timeout_s: float = 10.0,
    ) -> PrometheusAnalyst:
        """An analyst over the Prometheus at `url` whose failed queries are counted in
        kcanary_prometheus_query_errors_total{reason}; ValueError for an unusable URL or file."""

        def count(kind: NoDataKind) -> None:
            metrics.prometheus_query_errors.labels(kind.value).inc()

        source = PrometheusSource.connect(
            url, timeout_s=timeout_s, token_file=token_file, on_query_error=count
        )
        return cls(source)

    def close(self) -> None:
        self._source.close()

    def analyse(self, job: AnalysisJob) -> AnalysisResult:
        return self._analyse(job)

    def _analyse(self, job: AnalysisJob) -> AnalysisResult:
        template = job.plan.template
        stable = self._source.revision_counts(template, job.stable, since=job.since, at=job.at)
        canary = self._source.revision_counts(template, job.canary, since=job.since, at=job.at)
        split: tuple[SplitPeriod, ...] = ()
        have_data = not isinstance(stable, NoData) and not isinstance(canary, NoData)
        # Without data there is nothing to split, and a Prometheus that times out would only
        # time out again: the tick would block its worker twice as long.
        if have_data and job.step_started_at is not None and 0 < job.canary_weight < 100:
            split = self._split(job, job.step_started_at)
        result = evaluate(
            job.plan.settings,
            stable=stable,
            canary=canary,
            split=split,
        )
        checks = tuple(status_check(check.to_dict()) for check in result.checks)
        return AnalysisResult(job.canary_hash, job.at, Verdict(result.verdict.value), checks)

    def _split(self, job: AnalysisJob, step_start: datetime) -> tuple[SplitPeriod, ...]:
        """Requests per revision since the current weight was set: one period of that weight."""
        template = job.plan.template
        stable = self._source.revision_counts(template, job.stable, since=step_start, at=job.at)
        canary = self._source.revision_counts(template, job.canary, since=step_start, at=job.at)
        if isinstance(stable, NoData) or isinstance(canary, NoData):
            return ()
        return (SplitPeriod(float(job.canary_weight), stable.requests, canary.requests),)


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

"""Everything a report draws, read from the cluster and Prometheus over the rollout's window.

Per-revision series come from the same metric template the rollout's analysis used (the ISVC's
`kcanary.io/metrics` and `kcanary.io/analysis` annotations, through the controller's own
`metric_template` and `revision_refs`), so the report shows the traffic the decision was made on.
Whatever cannot be read is listed in `ReportData.missing` with the reason; the report is still
written from what is there.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from kubernetes.client import ApiClient

from analysis.prometheus_connection import PrometheusConnection
from analysis.templates import MetricTemplate, RevisionRef
from kcanary.command_errors import CommandError
from kcanary.kube import Cluster, annotations_of
from kcanary.report.prometheus_range import (
    Missing,
    PrometheusRange,
    PrometheusUnreachable,
    RangeQueries,
)
from kcanary.report.record import RolloutRecord, rollout_record
from kcanary.report.timeline import (
    Mark,
    WeightPoint,
    decision_mark,
    in_window,
    step_marks,
    weight_from_events,
)
from reconcile.analysis_run import metric_template, revision_refs
from rollout.annotations import InvalidStrategy, parse_strategy
from rollout.strategy import Strategy, TrafficMode

QUANTILES = (0.5, 0.99)
SIDES = ("stable", "canary")

Points = tuple[tuple[datetime, float], ...]


@dataclass(frozen=True)
class RevisionSeries:
    """One revision's traffic over the window, from the rollout's metric source."""

    side: str
    request_rate: Points = ()
    error_rate: Points = ()
    latency_s: Mapping[float, Points] = field(default_factory=dict)
    """Latency quantile (0.5, 0.99) -> seconds over time."""


@dataclass(frozen=True)
class ReportData:
    record: RolloutRecord
    window: tuple[datetime, datetime]
    rate_window_s: int
    """Range of the `rate()` behind the per-revision series."""
    weight: tuple[WeightPoint, ...]
    weight_source: str
    """Where the weight came from: `prometheus`, `events`, or empty when unknown."""
    marks: tuple[Mark, ...]
    metric_source: str
    """The template the analysis read (`istio`, `knative`, `kserve`, `custom`...)."""
    revisions: Mapping[str, RevisionSeries]
    analysis: Mapping[str, Mapping[str, Points]]
    """Check name -> side (stable, canary) -> the controller's estimate over time."""
    missing: tuple[str, ...]


@dataclass(frozen=True)
class Window:
    """Where the plots start and end, and how finely Prometheus is asked."""

    start: datetime
    end: datetime
    step_s: float
    rate_s: int
    """Range of `rate()`: long enough for several scrapes, short enough to follow the steps."""


def report_window(record: RolloutRecord, now: datetime, rate_s: int | None = None) -> Window:
    """A margin before the rollout (stable alone) and after it (the decision's effect)."""
    started = record.started_at or now
    ended = record.finished_at or now
    duration = max((ended - started).total_seconds(), 10.0)
    margin = timedelta(seconds=max(6.0, duration * 0.1))
    end = min(ended + margin, now)
    rate = rate_s if rate_s is not None else int(min(max(duration / 12, 10), 300))
    span = (end - (started - margin)).total_seconds()
    return Window(started - margin, end, step_s=max(1.0, span / 400), rate_s=rate)


def gather_from_client(
    api: ApiClient, namespace: str, name: str, prometheus_url: str | None
) -> ReportData:
    """`gather` for a caller that already holds a client (the demo); the client stays open."""
    reach = PrometheusConnection(prometheus_url) if prometheus_url else None
    prometheus = PrometheusRange(reach) if reach is not None else None
    try:
        return gather(Cluster(api, namespace), name, prometheus)
    finally:
        if prometheus is not None:
            prometheus.close()


def gather(
    cluster: Cluster,
    name: str,
    prometheus: PrometheusRange | None,
    *,
    now: datetime | None = None,
    rate_window_s: int | None = None,
) -> ReportData:
    """The report's data for the latest rollout of the ISVC `name`; raises CommandError (via
    the cluster) when the ISVC or its InferenceRollout does not exist."""
    isvc = cluster.managed_isvc(name)
    rollout = cluster.rollout(name)
    if rollout is None:
        raise CommandError(
            f'no InferenceRollout for "{name}" in namespace "{cluster.namespace}" yet: the '
            "kcanary controller creates it; check that the controller is running"
        )
    record = rollout_record(rollout)
    moment = now or datetime.now(UTC)
    window = report_window(record, moment, rate_window_s)
    events, _ = cluster.events(name)
    return shape(isvc, record, events, prometheus, window)


def shape(
    isvc: Mapping[str, Any],
    record: RolloutRecord,
    events: Sequence[Mapping[str, Any]],
    prometheus: RangeQueries | None,
    window: Window,
) -> ReportData:
    """Join the status, the Events and Prometheus into what the plots draw."""
    missing: list[str] = []
    if not record.started:
        missing.append("no canary has rolled out yet: there is nothing to plot over time")
    ordered = in_window(events, record.started_at or window.start, record.finished_at)
    marks = list(step_marks(ordered))
    decision = decision_mark(record)
    if decision is not None:
        marks.append(decision)
    weight: tuple[WeightPoint, ...] = ()
    weight_source = ""
    revisions: dict[str, RevisionSeries] = {}
    analysis: dict[str, dict[str, Points]] = {}
    strategy = parse_strategy(annotations_of(isvc))
    template = metric_template(strategy) if isinstance(strategy, Strategy) else strategy
    source = template.name if isinstance(template, MetricTemplate) else ""
    if prometheus is None:
        missing.append(
            "no Prometheus given (--prometheus-url): the weight comes from the Events; error "
            "rates, latencies and the analysis over time are not drawn"
        )
    elif record.started:
        try:
            weight = _weight(prometheus, record, window)
            weight_source = "prometheus" if weight else ""
            if not weight:
                missing.append(
                    "kcanary_canary_weight has no samples in the window: is the controller's "
                    "/metrics scraped? The weight comes from the Events"
                )
            if isinstance(strategy, InvalidStrategy) or not isinstance(template, MetricTemplate):
                problem = template if isinstance(template, InvalidStrategy) else strategy
                missing.append(f"the ISVC's strategy cannot be read ({problem}): no revisions")
            else:
                revisions = _revisions(
                    prometheus, strategy, template, isvc, record, window, missing
                )
            analysis = _analysis(prometheus, record, window)
            if not analysis:
                missing.append("kcanary_analysis_value has no samples for this rollout")
        except PrometheusUnreachable as error:
            missing.append(f"{error}: only what the status and the Events say is drawn")
    if not weight and record.started:
        weight = tuple(weight_from_events(record, ordered))
        weight_source = "events" if weight else ""
    return ReportData(
        record=record,
        window=(window.start, window.end),
        rate_window_s=window.rate_s,
        weight=weight,
        weight_source=weight_source,
        marks=tuple(marks),
        metric_source=source,
        revisions=revisions,
        analysis=analysis,
        missing=tuple(missing),
    )


def _rollout_matchers(record: RolloutRecord) -> str:
    return f'namespace="{record.namespace}", name="{record.name}"'


def _weight(
    prometheus: RangeQueries, record: RolloutRecord, window: Window
) -> tuple[WeightPoint, ...]:
    # max(): two controller replicas may both export the gauge for a while.
    found = prometheus.query(
        f"max(kcanary_canary_weight{{{_rollout_matchers(record)}}})",
        window.start,
        window.end,
        window.step_s,
    )
    if isinstance(found, Missing):
        return ()
    points = [WeightPoint(at, value) for at, value in found[0].points]
    # Right after a decision Prometheus may not have scraped the gauge since: the status's weight
    # is the one the controller set then.
    if record.finished_at is not None and points and points[-1].at < record.finished_at:
        points.append(WeightPoint(record.finished_at, float(record.current_weight)))
    return tuple(points)


def _revisions(
    prometheus: RangeQueries,
    strategy: Strategy,
    template: MetricTemplate,
    isvc: Mapping[str, Any],
    record: RolloutRecord,
    window: Window,
    missing: list[str],
) -> dict[str, RevisionSeries]:
    refs = _revision_refs(strategy, isvc, record)
    if isinstance(refs, str):
        missing.append(f"the revisions' series are not known: {refs}")
        return {}
    refs = _previous_knative_revision(refs, missing)
    found = {}
    for side, ref in zip(SIDES, refs, strict=True):
        # After the decision the canary serves nothing: its ratios would only be the rate
        # window's tail of too few requests.
        end = record.finished_at if side == "canary" else None
        queries = template.render(ref)
        rate = f"[{window.rate_s}s]"
        requests = f"sum(rate({queries.requests}{rate}))"
        series = RevisionSeries(side=side, request_rate=_points(prometheus, requests, window))
        if not series.request_rate:
            missing.append(f"no {template.name} requests for the {side} revision ({ref.workload})")
        if queries.failures is not None:
            failed = f"sum(rate({queries.failures}{rate}))"
            # A revision without a single failure has no failure series: that is 0, not no data.
            expr = f"({failed} or {requests} * 0) / {requests}"
            series = replace(series, error_rate=_until(_points(prometheus, expr, window), end))
        if queries.latency_buckets is not None:
            latency = {}
            for quantile in QUANTILES:
                expr = (
                    f"histogram_quantile({quantile}, sum by (le) "
                    f"(rate({queries.latency_buckets}{rate}))) * {template.latency_unit_s}"
                )
                latency[quantile] = _until(_points(prometheus, expr, window), end)
            series = replace(series, latency_s=latency)
        found[side] = series
    if template.failures is None:
        missing.append(f"the {template.name} source counts no failures: no error rate per revision")
    return found


def _revision_refs(
    strategy: Strategy, isvc: Mapping[str, Any], record: RolloutRecord
) -> tuple[RevisionRef, RevisionRef] | str:
    """(stable, canary) as the analysis named them. In Serverless mode the status remembers the
    rollout's Knative revisions, which outlive the ISVC's own status fields."""
    stable, canary = record.stable, record.canary
    if (
        strategy.mode is TrafficMode.KSERVE
        and stable is not None
        and canary is not None
        and stable.revision_name
        and canary.revision_name
        and stable.revision_name != canary.revision_name
    ):
        namespace, name = record.namespace, record.name

        def ref(revision: str) -> RevisionRef:
            workload = f"{revision}-deployment"
            return RevisionRef(namespace, name, workload, revision, revision, name)

        return ref(stable.revision_name), ref(canary.revision_name)
    return revision_refs(strategy, dict(isvc))


def _previous_knative_revision(
    refs: tuple[RevisionRef, RevisionRef], missing: list[str]
) -> tuple[RevisionRef, RevisionRef]:
    """After a Serverless promotion KServe names only the promoted revision, and the status no
    longer the one it replaced: Knative numbers a configuration's revisions in order
    (`<isvc>-predictor-00002` follows `-00001`), so the one before is taken; the page says so."""
    stable, canary = refs
    found = re.fullmatch(r"(.*-)(\d+)", canary.revision or "")
    if stable.revision != canary.revision or found is None or int(found.group(2)) < 2:
        return refs
    previous = f"{found.group(1)}{int(found.group(2)) - 1:0{len(found.group(2))}d}"
    missing.append(
        f"the status no longer names the stable revision after the promotion: {previous} (the "
        f"Knative revision before {canary.revision}) is shown as stable"
    )
    workload = f"{previous}-deployment"
    return replace(stable, workload=workload, revision=previous, service=previous), canary


def _analysis(
    prometheus: RangeQueries, record: RolloutRecord, window: Window
) -> dict[str, dict[str, Points]]:
    """The controller's estimates per check and side while this rollout ran: the gauges keep
    their last value afterwards (and the previous rollout's before), so only the rollout's own
    span is kept."""
    found = prometheus.query(
        f"max by (check, revision) (kcanary_analysis_value{{{_rollout_matchers(record)}}})",
        window.start,
        window.end,
        window.step_s,
    )
    if isinstance(found, Missing):
        return {}
    start = record.started_at or window.start
    end = record.finished_at or window.end
    analysis: dict[str, dict[str, Points]] = {}
    for series in found:
        points = tuple((at, v) for at, v in series.points if start <= at <= end)
        check, side = series.labels.get("check", ""), series.labels.get("revision", "")
        if points and check and side in SIDES:
            analysis.setdefault(check, {})[side] = points
    return analysis


def _points(prometheus: RangeQueries, expr: str, window: Window) -> Points:
    found = prometheus.query(expr, window.start, window.end, window.step_s)
    if isinstance(found, Missing) or not found:
        return ()
    return found[0].points


def _until(points: Points, end: datetime | None) -> Points:
    """The points up to the decision. A canary rolled back before Prometheus had two scrapes
    of it has none there; then the first point after it stands in, since its `rate()` window
    holds only requests served before the decision (the canary serves none afterwards)."""
    if end is None:
        return points
    before = tuple((at, v) for at, v in points if at <= end)
    return before or points[:1]

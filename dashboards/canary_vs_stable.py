"""kcanary / Canary vs stable: one InferenceService's two revisions side by side.

One row per metric source (see `dashboards.sources`): request rate with the canary weight
overlaid, error rate, the canary's share of requests against its weight (a sample-ratio mismatch
shows as a gap between the two), and p50/p90/p99 latency from the histogram buckets. The Istio row
is open and the others collapsed: a Grafana row cannot open itself from a variable, and Istio is
the source of the default traffic modes. Open the row of the source the rollout uses
(`kcanary.io/metrics`).
"""

from __future__ import annotations

from collections.abc import Sequence

from grafana_foundation_sdk.builders import dashboard as dashboard_builders
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.models import dashboard as dashboard_models
from grafana_foundation_sdk.models.common import BigValueTextMode

from dashboards import variables
from dashboards.annotations import decision_annotations
from dashboards.panels import Query, row, stat_panel, time_series
from dashboards.sources import SOURCES, MetricSource

TITLE = "kcanary / Canary vs stable"

ROLLOUT = 'namespace="$namespace", name="$isvc"'
WEIGHT = f"max(kcanary_canary_weight{{{ROLLOUT}}})"
QUANTILES = (0.5, 0.9, 0.99)

Panel = cogbuilder.Builder[dashboard_models.Panel]


def _source_panels(source: MetricSource) -> list[Panel]:
    panels: list[Panel] = [
        time_series(
            "Request rate",
            f"{source.description} Dashed: the canary weight kcanary set (right axis).",
            [Query(side.request_rate(), side.legend) for side in source.sides],
            unit="reqps",
            width=8,
            weight_overlay=WEIGHT,
        )
    ]
    error_queries = [
        Query(expr, side.legend)
        for side in source.sides
        if (expr := side.error_ratio()) is not None
    ]
    if error_queries:
        panels.append(
            time_series(
                "Error rate (5xx)",
                "Share of requests that failed with a 5xx status, per revision.",
                error_queries,
                unit="percentunit",
                width=8,
            )
        )
    share = source.canary_share()
    if share is not None:
        panels.append(
            time_series(
                "Canary share of requests vs weight",
                "The canary's percentage of requests against the weight kcanary set; a "
                "lasting gap is a sample-ratio mismatch.",
                [Query(share, "canary share %")],
                unit="percent",
                width=8,
                weight_overlay=WEIGHT,
            )
        )
    for quantile in QUANTILES:
        label = f"p{round(quantile * 100)}"
        panels.append(
            time_series(
                f"Latency {label}",
                f"{label} latency per revision, from the histogram buckets.",
                [Query(side.latency_quantile(quantile), side.legend) for side in source.sides],
                unit=source.latency_unit,
                width=8,
            )
        )
    return panels


def _add_row(
    dashboard: dashboard_builders.Dashboard,
    title: str,
    panels: Sequence[Panel],
    *,
    collapsed: bool,
) -> None:
    """Grafana keeps a collapsed row's panels inside the row and an open row's after it."""
    if collapsed:
        folded = row(title, collapsed=True)
        for panel in panels:
            folded = folded.with_panel(panel)
        dashboard.with_row(folded)
        return
    dashboard.with_row(row(title))
    for panel in panels:
        dashboard.with_panel(panel)


def _rollout_panels() -> list[Panel]:
    return [
        stat_panel(
            "Phase",
            "The rollout's current phase.",
            [
                Query(
                    f"max by (phase) (kcanary_rollout_phase{{{ROLLOUT}}}) == 1",
                    "{{phase}}",
                )
            ],
            width=6,
            height=6,
        ).text_mode(BigValueTextMode.NAME),
        time_series(
            "Canary weight",
            "Share of traffic sent to the canary, in percent.",
            [Query(WEIGHT, "canary weight %")],
            unit="percent",
            width=18,
            height=6,
            stepped=True,
        )
        .min(0)
        .max(100),
    ]


def build() -> dashboard_builders.Dashboard:
    dashboard = (
        dashboard_builders.Dashboard(TITLE)
        .description("One InferenceService's canary and stable revisions side by side.")
        .tags(["kcanary"])
        .refresh("30s")
        .time("now-1h", "now")
        .tooltip(dashboard_models.DashboardCursorSync.CROSSHAIR)
        .with_variable(variables.datasource())
        .with_variable(
            variables.label_values(
                "namespace",
                label="Namespace",
                metric_selector="kcanary_canary_weight",
                values_of="namespace",
                multi=False,
            )
        )
        .with_variable(
            variables.label_values(
                "isvc",
                label="InferenceService",
                metric_selector='kcanary_canary_weight{namespace="$namespace"}',
                values_of="name",
                multi=False,
            )
        )
        .annotations(decision_annotations(ROLLOUT))
        .link(
            dashboard_builders.DashboardLink("kcanary")
            .type(dashboard_models.DashboardLinkType.DASHBOARDS)
            .tags(["kcanary"])
            .as_dropdown(True)
            .include_vars(True)
            .keep_time(True)
        )
    )
    _add_row(dashboard, "Rollout", _rollout_panels(), collapsed=False)
    for source in SOURCES:
        _add_row(dashboard, source.title, _source_panels(source), collapsed=source.key != "istio")
    return dashboard

"""kcanary / Rollouts overview: every rollout the controller runs, from its `kcanary_*` metrics.

Gauges are read through `max by (namespace, name, ...)`: with two controller replicas, or after a
leader change, the same rollout can be exported by more than one pod for a while, and the
scrape's own labels (`pod`, `instance`) would otherwise split it into several series.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as dashboard_builders
from grafana_foundation_sdk.builders import statetimeline
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as dashboard_models

from dashboards import variables
from dashboards.annotations import decision_annotations
from dashboards.panels import (
    DATASOURCE,
    Query,
    dashed_series,
    row,
    stat_panel,
    table_panel,
    targets,
    time_series,
)

TITLE = "kcanary / Rollouts overview"

ROLLOUTS = 'namespace=~"$namespace", name=~"$name"'
"""Matchers for the rollouts the namespace and name variables select."""

# State timeline codes for verdicts, worst last, so `max` over a check's series is its verdict.
VERDICT_CODES: tuple[tuple[str, int, str], ...] = (
    ("Pass", 1, "green"),
    ("Inconclusive", 2, "yellow"),
    ("NoData", 3, "blue"),
    ("Fail", 4, "red"),
)


def _verdict_code_expr() -> str:
    """One series per check whose value is the code of its current verdict.

    The controller sets `kcanary_analysis_verdict` to 1 for the current verdict and 0 for the
    others; keeping the 1s, scaling each by its verdict's code and taking the max per check folds
    the four series into one that a state timeline can colour.
    """
    parts = [
        f'(kcanary_analysis_verdict{{{ROLLOUTS}, verdict="{verdict}"}} == 1) * {code}'
        for verdict, code, _ in VERDICT_CODES
    ]
    return "max by (namespace, name, check) (" + " or ".join(parts) + ")"


def _rollouts_row(dashboard: dashboard_builders.Dashboard) -> None:
    dashboard.with_row(row("Rollouts"))
    dashboard.with_panel(
        stat_panel(
            "Rollouts by phase",
            "How many of the selected rollouts are in each phase now.",
            [
                Query(
                    "sum by (phase) (max by (namespace, name, phase) "
                    f"(kcanary_rollout_phase{{{ROLLOUTS}}}))",
                    "{{phase}}",
                )
            ],
        )
    )
    dashboard.with_panel(
        table_panel(
            "Rollouts",
            "Each rollout's current phase and canary weight.",
            [
                Query(
                    f"max by (namespace, name, phase) (kcanary_rollout_phase{{{ROLLOUTS}}}) == 1"
                ),
                Query(f"max by (namespace, name) (kcanary_canary_weight{{{ROLLOUTS}}})"),
            ],
            hidden=["Time", "Value #A"],
            renamed={"Value #B": "canary weight %"},
        )
    )
    dashboard.with_panel(
        time_series(
            "Canary weight",
            "Share of each InferenceService's traffic sent to its canary, in percent.",
            [
                Query(
                    f"max by (namespace, name) (kcanary_canary_weight{{{ROLLOUTS}}})",
                    "{{namespace}}/{{name}}",
                )
            ],
            unit="percent",
            width=24,
            stepped=True,
        )
        .min(0)
        .max(100)
    )


def _analysis_row(dashboard: dashboard_builders.Dashboard) -> None:
    dashboard.with_row(row("Analysis"))
    mappings: list[dashboard_models.ValueMapping] = [
        dashboard_models.ValueMap(
            options={
                str(code): dashboard_models.ValueMappingResult(text=verdict, color=colour)
                for verdict, code, colour in VERDICT_CODES
            }
        )
    ]
    dashboard.with_panel(
        statetimeline.Panel()
        .title("Verdicts per check")
        .description(
            "Each check's verdict at every analysis tick: Pass, Inconclusive, NoData or Fail."
        )
        .datasource(DATASOURCE)
        .targets(list(targets([Query(_verdict_code_expr(), "{{namespace}}/{{name}} {{check}}")])))
        .mappings(mappings)
        .show_value(common.VisibilityMode.NEVER)
        .merge_values(True)
        .span(24)
        .height(8)
    )
    dashboard.with_panel(
        table_panel(
            "Latest evidence",
            "Each check's current verdict, its estimate for both revisions and the threshold "
            "the canary is held to.",
            [
                Query(
                    "max by (namespace, name, check, verdict) "
                    f"(kcanary_analysis_verdict{{{ROLLOUTS}}}) == 1"
                ),
                Query(
                    "max by (namespace, name, check) "
                    f'(kcanary_analysis_value{{{ROLLOUTS}, revision="stable"}})'
                ),
                Query(
                    "max by (namespace, name, check) "
                    f'(kcanary_analysis_value{{{ROLLOUTS}, revision="canary"}})'
                ),
                Query(
                    f"max by (namespace, name, check) (kcanary_analysis_threshold{{{ROLLOUTS}}})"
                ),
            ],
            hidden=["Time", "Value #A"],
            renamed={"Value #B": "stable", "Value #C": "canary", "Value #D": "threshold"},
            width=24,
            height=8,
        )
    )
    values = time_series(
        "Check $check: values against threshold",
        "The check's estimate for the stable and the canary revision, and the threshold the "
        "canary is held to (dashed). One panel per check.",
        [
            Query(
                "max by (namespace, name, revision) "
                f'(kcanary_analysis_value{{{ROLLOUTS}, check=~"$check"}})',
                "{{namespace}}/{{name}} {{revision}}",
            ),
            Query(
                "max by (namespace, name) "
                f'(kcanary_analysis_threshold{{{ROLLOUTS}, check=~"$check"}})',
                "{{namespace}}/{{name}} threshold",
            ),
        ],
        unit="short",
    )
    dashboard.with_panel(dashed_series(values, ".* threshold", "red").repeat("check"))


def _decisions_expr() -> str:
    """Decisions per kind within the dashboard's time range, counted exactly.

    `increase()` would extrapolate, and it misses a counter's first increment (the series is
    created by it). A series that existed a range ago contributes its growth since; one that did
    not was created within the range and contributes all of its value. A counter reset (a
    controller restart keeps no counts) is clamped to no decisions rather than a negative count.
    """
    series = f"kcanary_decisions_total{{{ROLLOUTS}}}"
    return f"sum by (decision) (clamp_min({series} - {series} offset $__range, 0) or {series})"


def _decisions_row(dashboard: dashboard_builders.Dashboard) -> None:
    dashboard.with_row(row("Decisions"))
    dashboard.with_panel(
        stat_panel(
            "Decisions in the time range",
            "Rollouts ended by promotion, rollback or abort in the dashboard's time range. "
            "Each decision is also an annotation on the time series panels.",
            [Query(_decisions_expr(), "{{decision}}")],
            width=24,
            height=4,
        ).no_value("0")
    )


def _controller_row(dashboard: dashboard_builders.Dashboard) -> None:
    dashboard.with_row(row("Controller"))
    dashboard.with_panel(
        time_series(
            "Errors",
            "Reconciles that failed and were retried, and Prometheus queries that failed or "
            "returned nothing, by reason.",
            [
                Query(
                    "sum(rate(kcanary_reconcile_errors_total[$__rate_interval]))",
                    "reconcile errors",
                ),
                Query(
                    "sum by (reason) "
                    "(rate(kcanary_prometheus_query_errors_total[$__rate_interval]))",
                    "Prometheus query: {{reason}}",
                ),
            ],
            unit="ops",
            width=8,
        )
    )
    for title, metric in (
        ("Reconcile duration", "kcanary_reconcile_duration_seconds"),
        ("Analysis duration", "kcanary_analysis_duration_seconds"),
    ):
        dashboard.with_panel(
            time_series(
                title,
                f"Quantiles of {metric}.",
                [
                    Query(
                        f"histogram_quantile({q}, sum by (le) "
                        f"(rate({metric}_bucket[$__rate_interval])))",
                        f"p{round(q * 100)}",
                    )
                    for q in (0.5, 0.9, 0.99)
                ],
                unit="s",
                width=8,
            )
        )


def build() -> dashboard_builders.Dashboard:
    dashboard = (
        dashboard_builders.Dashboard(TITLE)
        .description("Every canary rollout kcanary runs: phases, weights, verdicts, decisions.")
        .tags(["kcanary"])
        .refresh("30s")
        .time("now-3h", "now")
        .tooltip(dashboard_models.DashboardCursorSync.CROSSHAIR)
        .with_variable(variables.datasource())
        .with_variable(
            variables.label_values(
                "namespace",
                label="Namespace",
                metric_selector="kcanary_rollout_phase",
                values_of="namespace",
                multi=True,
            )
        )
        .with_variable(
            variables.label_values(
                "name",
                label="InferenceService",
                metric_selector='kcanary_rollout_phase{namespace=~"$namespace"}',
                values_of="name",
                multi=True,
            )
        )
        .with_variable(
            variables.label_values(
                "check",
                label="Check",
                metric_selector=f"kcanary_analysis_verdict{{{ROLLOUTS}}}",
                values_of="check",
                multi=True,
            )
        )
        .annotations(decision_annotations(ROLLOUTS))
        .link(
            dashboard_builders.DashboardLink("kcanary")
            .type(dashboard_models.DashboardLinkType.DASHBOARDS)
            .tags(["kcanary"])
            .as_dropdown(True)
            .include_vars(True)
            .keep_time(True)
        )
    )
    _rollouts_row(dashboard)
    _analysis_row(dashboard)
    _decisions_row(dashboard)
    _controller_row(dashboard)
    return dashboard

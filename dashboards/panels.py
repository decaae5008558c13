"""The panel shapes kcanary's dashboards are made of, so both dashboards look and read alike.

Every query goes to the dashboard's `$datasource` variable, so one JSON file works with whatever
Prometheus data source a Grafana has. Panels are built without ids: `generate` numbers them in
order once the dashboard is complete, which keeps ids stable from one generation to the next.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as dashboard_builders
from grafana_foundation_sdk.builders import prometheus, stat, table, timeseries
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as dashboard_models
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

DATASOURCE = common.DataSourceRef(type_val="prometheus", uid="${datasource}")

_DASHED = {"fill": "dash", "dash": [10, 10]}

WEIGHT_SERIES = "canary weight %"
"""Display name of the canary-weight overlay; its style is attached by that name."""


@dataclass(frozen=True)
class Query:
    """One PromQL expression of a panel and the legend of the series it returns."""

    expr: str
    legend: str = ""


def targets(
    queries: Sequence[Query], *, instant: bool = False, as_table: bool = False
) -> list[prometheus.Dataquery]:
    """Prometheus targets A, B, C... for `queries`, in order."""
    built = []
    for index, query in enumerate(queries):
        target = (
            prometheus.Dataquery()
            .datasource(DATASOURCE)
            .ref_id(chr(ord("A") + index))
            .expr(query.expr)
        )
        if query.legend:
            target = target.legend_format(query.legend)
        target = target.instant() if instant else target.range()
        if as_table:
            target = target.format(PromQueryFormat.TABLE)
        built.append(target)
    return built


def _legend() -> common_builders.VizLegendOptions:
    return (
        common_builders.VizLegendOptions()
        .show_legend(True)
        .display_mode(common.LegendDisplayMode.TABLE)
        .placement(common.LegendPlacement.BOTTOM)
        .calcs(["lastNotNull", "max"])
    )


def time_series(
    title: str,
    description: str,
    queries: Sequence[Query],
    *,
    unit: str,
    width: int = 12,
    height: int = 8,
    stepped: bool = False,
    weight_overlay: str | None = None,
) -> timeseries.Panel:
    """A time series panel; `stepped` draws values that change in steps (weights, phases).

    `weight_overlay` is a query for the canary weight, drawn dashed on a right-hand 0-100 % axis
    so that traffic shifts line up with what they did to the other series.
    """
    if weight_overlay is not None:
        queries = [*queries, Query(weight_overlay, WEIGHT_SERIES)]
    panel = (
        timeseries.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .targets(list(targets(queries)))
        .unit(unit)
        .span(width)
        .height(height)
        .legend(_legend())
        .tooltip(
            common_builders.VizTooltipOptions()
            .mode(common.TooltipDisplayMode.MULTI)
            .sort(common.SortOrder.DESCENDING)
        )
        .fill_opacity(0)
        .line_width(2)
        .show_points(common.VisibilityMode.NEVER)
    )
    if stepped:
        panel = panel.line_interpolation(common.LineInterpolation.STEP_AFTER)
    if weight_overlay is not None:
        panel = panel.override_by_name(
            WEIGHT_SERIES,
            [
                dashboard_models.DynamicConfigValue("unit", "percent"),
                dashboard_models.DynamicConfigValue("min", 0),
                dashboard_models.DynamicConfigValue("max", 100),
                dashboard_models.DynamicConfigValue("custom.axisPlacement", "right"),
                dashboard_models.DynamicConfigValue("custom.lineInterpolation", "stepAfter"),
                dashboard_models.DynamicConfigValue("custom.lineStyle", _DASHED),
                dashboard_models.DynamicConfigValue(
                    "color", {"mode": "fixed", "fixedColor": "purple"}
                ),
            ],
        )
    return panel


def dashed_series(panel: timeseries.Panel, name_regex: str, color: str) -> timeseries.Panel:
    """Draw the series whose display name matches `name_regex` dashed in a fixed colour."""
    return panel.override_by_regexp(
        name_regex,
        [
            dashboard_models.DynamicConfigValue("custom.lineStyle", _DASHED),
            dashboard_models.DynamicConfigValue("color", {"mode": "fixed", "fixedColor": color}),
        ],
    )


def stat_panel(
    title: str,
    description: str,
    queries: Sequence[Query],
    *,
    unit: str = "none",
    width: int = 8,
    height: int = 6,
) -> stat.Panel:
    """Current values as big numbers, one per series, named by the legend."""
    return (
        stat.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .targets(list(targets(queries, instant=True)))
        .unit(unit)
        .span(width)
        .height(height)
        .text_mode(common.BigValueTextMode.VALUE_AND_NAME)
        .color_mode(common.BigValueColorMode.NONE)
        .graph_mode(common.BigValueGraphMode.NONE)
        .reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"]))
    )


def table_panel(
    title: str,
    description: str,
    queries: Sequence[Query],
    *,
    hidden: Sequence[str],
    renamed: dict[str, str],
    width: int = 16,
    height: int = 6,
) -> table.Panel:
    """Instant queries joined into one row per shared label set.

    Grafana's `merge` transformation joins the queries' frames on their common label columns;
    `organize` then hides the columns in `hidden` and renames `Value #A`-style columns.
    """
    return (
        table.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .targets(list(targets(queries, instant=True, as_table=True)))
        .span(width)
        .height(height)
        .with_transformation(dashboard_models.DataTransformerConfig(id_val="merge", options={}))
        .with_transformation(
            dashboard_models.DataTransformerConfig(
                id_val="organize",
                options={
                    "excludeByName": dict.fromkeys(hidden, True),
                    "renameByName": renamed,
                },
            )
        )
    )


def row(title: str, *, collapsed: bool = False) -> dashboard_builders.Row:
    return dashboard_builders.Row(title).collapsed(collapsed)

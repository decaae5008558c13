"""Template variables: which Prometheus, and which rollouts, a dashboard shows.

Rollout choices come from `label_values` over the controller's own gauges, so a dashboard lists
exactly the InferenceServices kcanary manages and needs no per-cluster editing.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as dashboard_builders
from grafana_foundation_sdk.models import dashboard as dashboard_models

from dashboards.panels import DATASOURCE


def datasource() -> dashboard_builders.DatasourceVariable:
    return (
        dashboard_builders.DatasourceVariable("datasource").label("Data source").type("prometheus")
    )


def label_values(
    name: str,
    *,
    label: str,
    metric_selector: str,
    values_of: str,
    multi: bool,
) -> dashboard_builders.QueryVariable:
    """A variable listing the values of label `values_of` on the series `metric_selector`.

    A multi-value variable offers "All" as `.*`, so its queries use `=~` matchers.
    """
    variable = (
        dashboard_builders.QueryVariable(name)
        .label(label)
        .datasource(DATASOURCE)
        .query(f"label_values({metric_selector}, {values_of})")
        .refresh(dashboard_models.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(dashboard_models.VariableSort.ALPHABETICAL_ASC)
        .multi(multi)
        .include_all(multi)
    )
    if multi:
        variable = variable.all_value(".*")
    return variable

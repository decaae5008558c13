"""Promotions, rollbacks and aborts as Grafana annotations, from `kcanary_decisions_total`.

A decision is an increment of the counter. `changes()` over a short window finds an increment of
an existing series; a series that appears for the first time (the counter is created by its first
increment, and again after a controller restart) has no earlier sample to change from, so it is
found as "present now but not a window ago". The union of both marks every decision.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as dashboard_builders
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.models import dashboard as dashboard_models

from dashboards.panels import DATASOURCE

DECISION_COLOURS: tuple[tuple[str, str], ...] = (
    ("promoted", "green"),
    ("rolled_back", "red"),
    ("aborted", "orange"),
)

_WINDOW = "1m"
_STEP = "30s"


def decision_expr(decision: str, rollout_matchers: str) -> str:
    """The PromQL that is non-empty around each `decision` of the rollouts `rollout_matchers`
    selects (for example `namespace=~"$namespace", name=~"$name"`)."""
    series = f'kcanary_decisions_total{{{rollout_matchers}, decision="{decision}"}}'
    return (
        f"sum by (namespace, name, decision) ("
        f"changes({series}[{_WINDOW}]) > 0 "
        f"or ({series} unless {series} offset {_WINDOW})"
        f")"
    )


def decision_annotations(
    rollout_matchers: str,
) -> list[cogbuilder.Builder[dashboard_models.AnnotationQuery]]:
    return [
        dashboard_builders.AnnotationQuery()
        .name(f"kcanary {decision.replace('_', ' ')}")
        .datasource(DATASOURCE)
        .enable(True)
        .icon_color(colour)
        .expr(decision_expr(decision, rollout_matchers))
        .step(_STEP)
        .title_format("{{decision}}")
        .text_format("{{namespace}}/{{name}}")
        .tag_keys("namespace,name,decision")
        for decision, colour in DECISION_COLOURS
    ]

"""Every PromQL expression the dashboards run, and how to fill in their template variables.

A test can then run each query against a real Prometheus during a rollout: `all_queries()` lists
them and `substitute()` turns Grafana's `$variable` and `${variable}` into plain
PromQL with the values a test chooses.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from dashboards.generate import render_all

GRAFANA_BUILTINS: Mapping[str, str] = {
    "__rate_interval": "1m",
    "__interval": "30s",
    "__range": "1h",
}
"""Values for Grafana's built-in interval variables that suit a scrape interval of 15s or less."""

_VARIABLE = re.compile(r"\$\{(\w+)(?::(\w+))?\}|\$(\w+)")


def _panel_queries(panels: list[dict[str, Any]]) -> Iterator[tuple[str, str]]:
    for panel in panels:
        yield from _panel_queries(panel.get("panels", []))
        for target in panel.get("targets", []):
            if "expr" in target:
                yield panel.get("title", ""), target["expr"]


def all_queries() -> list[tuple[str, str, str]]:
    """(dashboard title, panel title, PromQL) for every panel query and decision annotation.

    Annotations are listed with the panel title `annotation: <name>`. Variable queries
    (`label_values(...)`) are not PromQL and are not listed.
    """
    found: list[tuple[str, str, str]] = []
    for dashboard in render_all():
        title = dashboard.model["title"]
        for panel_title, expr in _panel_queries(dashboard.model.get("panels", [])):
            found.append((title, panel_title, expr))
        for annotation in dashboard.model.get("annotations", {}).get("list", []):
            if "expr" in annotation:
                found.append((title, f"annotation: {annotation['name']}", annotation["expr"]))
    return found


def substitute(expr: str, values: Mapping[str, str]) -> str:
    """`expr` with every template variable replaced, as Grafana would for single values.

    `values` names the dashboard variables (`namespace`, `isvc`, `name`, `check`); Grafana's
    interval variables default to `GRAFANA_BUILTINS`. Values are inserted as they are (the
    dashboards only put Kubernetes names, which have no regex metacharacters, into `=~`
    matchers). A variable without a value raises KeyError naming it.
    """
    merged = {**GRAFANA_BUILTINS, **values}

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(3)
        if name not in merged:
            raise KeyError(
                f"no value for template variable ${name} in {expr!r}; pass it in `values`"
            )
        if match.group(2) not in (None, "raw"):
            raise KeyError(f"unsupported variable format ${{{name}:{match.group(2)}}} in {expr!r}")
        return merged[name]

    return _VARIABLE.sub(replace, expr)

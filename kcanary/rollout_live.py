"""The terminal rendering of `kcanary get -w`: the same view as rollout_view, as rich tables
that a `rich.live.Live` redraws in place.

Only a terminal gets this; a pipe gets rollout_view's plain lines, appended as things change.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from kcanary.rollout_view import (
    CHECK_COLUMNS,
    EVENT_COLUMNS,
    WIDE_CHECK_COLUMNS,
    RolloutView,
)

PHASE_STYLES = {
    "Stable": "bold green",
    "Progressing": "bold cyan",
    "Promoting": "bold cyan",
    "Paused": "bold yellow",
    "Initializing": "bold",
    "RollingBack": "bold red",
    "RolledBack": "bold red",
    "Aborted": "bold red",
}

VERDICT_STYLES = {"Pass": "green", "Fail": "red", "Inconclusive": "yellow", "NoData": "magenta"}


def detail_renderable(view: RolloutView, *, wide: bool = False) -> RenderableType:
    summary = Table.grid(padding=(0, 2))
    summary.add_column(style="bold")
    summary.add_column()
    summary.add_row("Name", f"{view.namespace}/{view.name}")
    summary.add_row("Phase", Text(view.phase, style=PHASE_STYLES.get(view.phase, "")))
    if view.invalid is not None:
        summary.add_row("Invalid", Text(view.invalid, style="red"))
    summary.add_row("Message", view.message or "-")
    summary.add_row("Step", f"{view.step} (steps {view.steps})")
    summary.add_row("Weight", f"{view.weight} to the canary")
    summary.add_row("Stable", view.stable)
    summary.add_row("Canary", view.canary)
    summary.add_row("Started", view.started)
    summary.add_row("Analysis", view.analysis)
    parts: list[RenderableType] = [summary]
    if view.checks:
        checks = _table("Checks", CHECK_COLUMNS + (WIDE_CHECK_COLUMNS if wide else ()))
        for check in view.checks:
            cells = list(check.cells(wide))
            verdict = Text(cells[2], style=VERDICT_STYLES.get(cells[2], ""))
            checks.add_row(*cells[:2], verdict, *cells[3:])
        parts.append(checks)
    events = _table("Events", EVENT_COLUMNS)
    for event in view.events:
        style = "yellow" if event.type == "Warning" else ""
        events.add_row(*(Text(cell, style=style) for cell in event.cells()))
    if not view.events:
        events.add_row("-", "", "", "<none>")
    parts.append(events)
    return Group(*parts)


def list_renderable(
    header: Sequence[str], rows: Sequence[Sequence[str]], *, headers: bool = True
) -> RenderableType:
    table = _table(None, tuple(header))
    table.show_header = headers
    phase_at = list(header).index("PHASE")
    for row in rows:
        cells: list[Text | str] = list(row)
        cells[phase_at] = Text(row[phase_at], style=PHASE_STYLES.get(row[phase_at], ""))
        table.add_row(*cells)
    return table


# Free text and model URIs fold onto more lines; the short values stay whole.
_FOLDING = frozenset({"MESSAGE", "INTERVAL", "SAMPLES", "CANARY", "STABLE"})


def _table(title: str | None, header: Sequence[str]) -> Table:
    table = Table(title=title, title_justify="left", box=None, header_style="bold", pad_edge=False)
    for name in header:
        folds = name in _FOLDING
        table.add_column(name, overflow="fold" if folds else "ellipsis", no_wrap=not folds)
    return table

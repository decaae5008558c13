"""The report's pictures: one matplotlib figure per question a person asks after a rollout.

- *Where did the traffic go?* the canary weight with its steps and the decision;
- *Was the canary worse?* error rate and latency quantiles per revision, with the analysis'
  estimates and, at the last analysis, the anytime-valid interval for the canary;
- *What did each check conclude?* the controller's estimates per check over time.

Time runs in seconds (or minutes, for long rollouts) from the rollout's start, so the steps
read as durations. Stable is always blue and the canary orange. Drawing functions take an Axes,
so `overview` can stack them into one picture with a shared time axis.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

import matplotlib

matplotlib.use("Agg")  # files only; never a window, even where a display exists

from matplotlib import pyplot
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from kcanary.report.gather import QUANTILES, Points, ReportData
from kcanary.report.record import Check

STABLE_COLOUR = "#1f77b4"
CANARY_COLOUR = "#ff7f0e"
SIDE_COLOUR = {"stable": STABLE_COLOUR, "canary": CANARY_COLOUR}
OUTCOME_COLOUR = {"promoted": "#2ca02c", "rolled-back": "#d62728", "aborted": "#d62728"}
VERDICT_COLOUR = {"Pass": "#2ca02c", "Fail": "#d62728", "Inconclusive": "#7f7f7f"}

Draw = Callable[[Axes, "Clock", ReportData], None]


@dataclass(frozen=True)
class Clock:
    """Turns moments into the x axis: time since the rollout started."""

    origin: datetime
    per_unit_s: float
    unit: str

    @classmethod
    def for_report(cls, data: ReportData) -> Clock:
        origin = data.record.started_at or data.window[0]
        span = (data.window[1] - data.window[0]).total_seconds()
        return cls(origin, 60.0, "min") if span > 1200 else cls(origin, 1.0, "s")

    def x(self, moment: datetime) -> float:
        return (moment - self.origin).total_seconds() / self.per_unit_s

    def xs(self, points: Points) -> list[float]:
        return [self.x(at) for at, _ in points]

    def label(self) -> str:
        unit = "seconds" if self.unit == "s" else "minutes"
        return f"{unit} since the rollout started ({self.origin:%Y-%m-%d %H:%M:%S} UTC)"


def draw_weight(ax: Axes, clock: Clock, data: ReportData) -> None:
    if data.weight:
        xs = [clock.x(p.at) for p in data.weight]
        ys = [p.percent for p in data.weight]
        source = "controller" if data.weight_source == "prometheus" else "from Events"
        ax.step(xs, ys, where="post", color=CANARY_COLOUR, linewidth=2.2,
                label=f"canary weight ({source})")  # fmt: skip
        ax.fill_between(xs, ys, step="post", color=CANARY_COLOUR, alpha=0.12)
    share = _observed_share(data)
    if share:
        ax.plot(clock.xs(share), [v for _, v in share], color="#555555", linewidth=0.9,
                linestyle=":", label="canary's share of requests (observed)")  # fmt: skip
    ax.set_ylim(-3, 105)
    ax.set_ylabel("% of traffic to canary")
    ax.set_title("Canary weight")
    _marks(ax, clock, data, labelled=True)
    _legend(ax)


def draw_error_rate(ax: Axes, clock: Clock, data: ReportData) -> None:
    for side, series in data.revisions.items():
        if series.error_rate:
            ax.plot(clock.xs(series.error_rate), [100 * v for _, v in series.error_rate],
                    color=SIDE_COLOUR[side], linewidth=1.0, alpha=0.55,
                    label=f"{side} (rate over {data.rate_window_s}s)")  # fmt: skip
    check = _first_check(data, "error_rate")
    if check is not None:
        _estimates(ax, clock, data, check, scale=100.0)
    ax.set_ylabel("5xx error rate (%)")
    ax.set_ylim(bottom=0)
    ax.set_title("Error rate per revision" + _verdict_text(data, "error_rate"))
    _marks(ax, clock, data, labelled=False)
    _legend(ax)


def draw_latency(ax: Axes, clock: Clock, data: ReportData) -> None:
    styles = {0.5: "-", 0.99: "--"}
    for side, series in data.revisions.items():
        for quantile in QUANTILES:
            points = series.latency_s.get(quantile, ())
            if points:
                ax.plot(clock.xs(points), [1000 * v for _, v in points],
                        color=SIDE_COLOUR[side], linestyle=styles[quantile], linewidth=1.3,
                        label=f"{side} p{round(quantile * 100)}")  # fmt: skip
    ax.set_ylabel("latency (ms)")
    ax.set_ylim(bottom=0)
    ax.set_title("Latency quantiles per revision" + _verdict_text(data, "slower_than"))
    _marks(ax, clock, data, labelled=False)
    _legend(ax)


def draw_check(ax: Axes, clock: Clock, data: ReportData, check: Check) -> None:
    """One check's stable and canary estimates over time, and its last interval."""
    _estimates(ax, clock, data, check, scale=1.0, solid=True)
    evidence = ""
    if check.evalue is not None and check.threshold is not None:
        relation = ">=" if check.evalue >= check.threshold else "<"
        evidence = f" (e-value {check.evalue:.3g} {relation} {check.threshold:.3g})"
    ax.set_title(f"{check.name}: {check.verdict}{evidence}", fontsize=9.5,
                 color=VERDICT_COLOUR.get(check.verdict, "black"))  # fmt: skip
    ax.set_ylabel(check.metric, fontsize=8)
    _marks(ax, clock, data, labelled=False)


def _estimates(
    ax: Axes, clock: Clock, data: ReportData, check: Check, *, scale: float, solid: bool = False
) -> None:
    """The controller's running estimates of `check` (since the rollout started) and, at the
    last analysis, the canary's anytime-valid interval: stable's estimate plus the effect's."""
    sides = data.analysis.get(check.name, {})
    for side, points in sides.items():
        ax.step(clock.xs(points), [scale * v for _, v in points], where="post",
                color=SIDE_COLOUR[side], linewidth=2.0, linestyle="-" if solid else "-.",
                label=_estimate_label(check, side))  # fmt: skip
    analysis = data.record.analysis
    if analysis is None or analysis.time is None or check.interval is None:
        return
    if check.stable is None or check.canary is None:
        return
    low, high = (scale * (check.stable + bound) for bound in check.interval)
    x = clock.x(analysis.time)
    ax.errorbar([x], [scale * check.canary], yerr=[[scale * check.canary - low],
                [high - scale * check.canary]], fmt="D", color=CANARY_COLOUR,
                ecolor="black", elinewidth=1.6, capsize=5, markersize=6, zorder=5,
                label="canary at last analysis, with its confidence interval")  # fmt: skip
    ax.axhline(scale * check.stable, color=STABLE_COLOUR, linewidth=0.8, alpha=0.6)


def _estimate_label(check: Check, side: str) -> str:
    if check.metric == "canary_share":  # the sample-ratio check: expected against observed
        return "expected share (weight)" if side == "stable" else "observed canary share"
    return f"{side}: analysis estimate"


def _marks(ax: Axes, clock: Clock, data: ReportData, *, labelled: bool) -> None:
    for mark in data.marks:
        x = clock.x(mark.at)
        colour = OUTCOME_COLOUR.get(mark.label, "#444444") if mark.kind == "decision" else "#999"
        style = "-" if mark.kind == "decision" else ":"
        ax.axvline(x, color=colour, linestyle=style, linewidth=1.5 if mark.kind == "decision"
                   else 1.0, zorder=1)  # fmt: skip
        if not labelled:
            continue
        if mark.kind != "decision":
            ax.annotate(mark.label, (x, 1.0), xycoords=("data", "axes fraction"), xytext=(3, -3),
                        textcoords="offset points", va="top", fontsize=8, color=colour)  # fmt: skip
            continue
        # Below the step labels (a decision often follows a step closely), and on the side
        # of the line with room for it.
        text = f"{mark.label.upper()}\n{_wrap(data.record.reason, 34)}"
        left = clock.x(data.window[0])
        room_right = (clock.x(data.window[1]) - x) / max(clock.x(data.window[1]) - left, 1e-9)
        right_side = room_right > 0.3
        ax.annotate(text, (x, 0.8), xycoords=("data", "axes fraction"),
                    xytext=(4 if right_side else -4, 0), textcoords="offset points", va="top",
                    ha="left" if right_side else "right", fontsize=8.5, color=colour,
                    fontweight="bold")  # fmt: skip


def _observed_share(data: ReportData) -> Points:
    stable = dict(data.revisions["stable"].request_rate) if "stable" in data.revisions else {}
    canary = data.revisions["canary"].request_rate if "canary" in data.revisions else ()
    share = []
    for at, rate in canary:
        if at not in stable:  # stable's rate() has no window yet: no share to speak of
            continue
        total = rate + stable[at]
        if total > 0:
            share.append((at, 100 * rate / total))
    return tuple(share)


def _first_check(data: ReportData, metric_prefix: str) -> Check | None:
    if data.record.analysis is None:
        return None
    for check in data.record.analysis.checks:
        if check.metric.startswith(metric_prefix) and check.name.endswith("harm"):
            return check
    for check in data.record.analysis.checks:
        if check.metric.startswith(metric_prefix):
            return check
    return None


def _verdict_text(data: ReportData, metric_prefix: str) -> str:
    if data.record.analysis is None:
        return ""
    verdicts = [
        f"{c.name} {c.verdict}"
        for c in data.record.analysis.checks
        if c.metric.startswith(metric_prefix)
    ]
    return f"  [{', '.join(verdicts)}]" if verdicts else ""


def _wrap(text: str, width: int) -> str:
    words, lines, line = text.split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    lines.append(line)
    return "\n".join(lines[:3])


def _legend(ax: Axes, size: int = 8, where: Literal["center left", "best"] = "center left") -> None:
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc=where, fontsize=size, framealpha=0.85)


def _frame(ax: Axes, clock: Clock, data: ReportData) -> None:
    ax.set_xlim(clock.x(data.window[0]), clock.x(data.window[1]))
    ax.grid(True, alpha=0.25)


def _title(data: ReportData) -> str:
    record = data.record
    outcome = record.outcome.upper() if record.outcome else record.phase
    return f"{record.namespace}/{record.name}: {outcome}" + (
        f" - {record.reason}" if record.reason else ""
    )


def _save(figure: Figure, path: Path) -> Path:
    figure.savefig(path, dpi=110)
    pyplot.close(figure)
    return path


def single(draw: Draw, data: ReportData, path: Path) -> Path:
    figure, ax = pyplot.subplots(figsize=(10, 4), layout="constrained")
    clock = Clock.for_report(data)
    draw(ax, clock, data)
    _frame(ax, clock, data)
    ax.set_xlabel(clock.label())
    figure.suptitle(_title(data), fontsize=10)
    return _save(figure, path)


def checks_figure(data: ReportData, path: Path) -> Path | None:
    """Small multiples: one panel per check of the last analysis."""
    checks: Sequence[Check] = data.record.analysis.checks if data.record.analysis else ()
    if not checks:
        return None
    columns = 2
    rows = (len(checks) + columns - 1) // columns
    figure, axes = pyplot.subplots(rows, columns, figsize=(12, 2.7 * rows), sharex=True,
                                   layout="constrained", squeeze=False)  # fmt: skip
    clock = Clock.for_report(data)
    legends: set[tuple[str, ...]] = set()
    for index, ax in enumerate(axes.flat):
        if index >= len(checks):
            ax.set_visible(False)
            continue
        draw_check(ax, clock, data, checks[index])
        _frame(ax, clock, data)
        # A legend only where it says something the panels before did not.
        labels = tuple(ax.get_legend_handles_labels()[1])
        if labels not in legends:
            legends.add(labels)
            _legend(ax, size=7, where="best")
    for column in range(columns):
        # The lowest panel of each column carries the time axis (sharex hides the others').
        lowest = max(row for row in range(rows) if axes[row][column].get_visible())
        axes[lowest][column].tick_params(labelbottom=True)
        axes[lowest][column].set_xlabel(clock.label(), fontsize=8)
    figure.suptitle("Analysis: each check's estimates since the rollout started (stable blue, "
                    "canary orange)", fontsize=10)  # fmt: skip
    return _save(figure, path)


def overview(data: ReportData, path: Path) -> Path:
    """Weight, error rate and latency stacked on one time axis: the rollout at a glance."""
    figure, axes = pyplot.subplots(3, 1, figsize=(10, 9.5), sharex=True, layout="constrained",
                                   height_ratios=(1.0, 1.1, 1.1))  # fmt: skip
    clock = Clock.for_report(data)
    for ax, draw in zip(axes, (draw_weight, draw_error_rate, draw_latency), strict=True):
        draw(ax, clock, data)
        _frame(ax, clock, data)
    axes[-1].set_xlabel(clock.label())
    figure.suptitle(_title(data), fontsize=11, fontweight="bold")
    return _save(figure, path)

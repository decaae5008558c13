"""A rollout report: PNG plots and a small HTML page that show what a rollout did and why.

`gather` reads the InferenceRollout, the ISVC's Events and Prometheus; `write_report` draws the
pictures and writes `index.html` beside them. The split lets the demo, which already holds a
client, and `kcanary report` share everything but the connection.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kcanary.report.gather import ReportData
from kcanary.report.page import page
from kcanary.report.plots import checks_figure, draw_error_rate, draw_latency, draw_weight, single
from kcanary.report.plots import overview as overview_figure

__all__ = ["ReportFiles", "write_report"]


@dataclass(frozen=True)
class ReportFiles:
    index: Path
    images: tuple[Path, ...]


def write_report(data: ReportData, out: Path) -> ReportFiles:
    """Write the PNGs and `index.html` into `out` (created if needed)."""
    out.mkdir(parents=True, exist_ok=True)
    images: list[tuple[str, Path]] = []
    if data.record.started:
        images.append(("The rollout at a glance", overview_figure(data, out / "overview.png")))
        images.append(("Canary weight", single(draw_weight, data, out / "weight.png")))
        if data.revisions:
            images.append(("Error rate", single(draw_error_rate, data, out / "error-rate.png")))
            images.append(("Latency", single(draw_latency, data, out / "latency.png")))
    checks = checks_figure(data, out / "analysis.png")
    if checks is not None:
        images.append(("Analysis per check", checks))
    index = out / "index.html"
    index.write_text(page(data, images), encoding="utf-8")
    return ReportFiles(index=index, images=tuple(path for _, path in images))

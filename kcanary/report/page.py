"""The report's HTML page: the outcome in one sentence, the pictures, and the evidence table.

The page links its PNGs by relative name, so the directory can be copied, attached to a ticket or
served as it is. It has no scripts and no external resources.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from pathlib import Path

from kcanary.report.gather import ReportData
from kcanary.report.record import IN_PROGRESS, Check, Revision

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
.outcome { font-size: 1.1em; padding: .6em .9em; border-radius: 6px; background: #eee; }
.promoted { background: #e3f4e3; } .rolled-back, .aborted { background: #fbe3e3; }
table { border-collapse: collapse; font-size: .9em; }
th, td { border: 1px solid #ccc; padding: .3em .6em; text-align: right; }
th:first-child, td:first-child, td.text { text-align: left; }
td.Fail { color: #b00; font-weight: bold; } td.Pass { color: #070; }
img { max-width: 100%; border: 1px solid #ddd; margin: .4em 0; }
.missing { color: #8a5a00; }
"""


def page(data: ReportData, images: Sequence[tuple[str, Path]]) -> str:
    """The HTML text; `images` are (caption, path) with paths in the page's directory."""
    record = data.record
    outcome = record.outcome if record.started else "not started"
    if not record.started:
        sentence = f"No canary has rolled out yet ({record.phase}: {record.message})."
    elif record.outcome == IN_PROGRESS:
        weight = record.current_weight
        sentence = f"The rollout is in progress: {record.phase}, canary at {weight}%."
    else:
        sentence = f"Outcome: {record.outcome}. Reason: {record.reason or 'not recorded'}."
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>kcanary report: {escape(record.namespace)}/{escape(record.name)}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>Rollout of {escape(record.namespace)}/{escape(record.name)}</h1>",
        f'<p class="outcome {escape(outcome)}">{escape(sentence)}</p>',
        _revisions(data),
    ]
    if data.missing:
        parts.append("<h2>Not shown</h2><ul>")
        parts += [f'<li class="missing">{escape(text)}</li>' for text in data.missing]
        parts.append("</ul>")
    for caption, path in images:
        parts.append(f"<h2>{escape(caption)}</h2>")
        parts.append(f'<img src="{escape(path.name)}" alt="{escape(caption)}">')
    parts.append(_evidence(data))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _revisions(data: ReportData) -> str:
    record = data.record
    rows = [("canary", record.canary), ("stable now", record.stable)]
    lines = ["<table><tr><th>revision</th><th>hash</th><th>model (storageUri)</th></tr>"]
    for label, revision in rows:
        lines.append(_revision_row(label, revision))
    lines.append("</table>")
    started = f"{record.started_at:%Y-%m-%d %H:%M:%S} UTC" if record.started_at else "-"
    finished = f"{record.finished_at:%Y-%m-%d %H:%M:%S} UTC" if record.finished_at else "-"
    source = data.metric_source or "unknown"
    lines.append(
        f"<p>Started {escape(started)}, finished {escape(finished)}. Phase now: "
        f"{escape(record.phase)}. Metric source: {escape(source)}.</p>"
    )
    return "\n".join(lines)


def _revision_row(label: str, revision: Revision | None) -> str:
    if revision is None:
        return f'<tr><td class="text">{label}</td><td>-</td><td class="text">-</td></tr>'
    return (
        f'<tr><td class="text">{label}</td><td class="text">{escape(revision.revision)}</td>'
        f'<td class="text">{escape(revision.storage_uri)}</td></tr>'
    )


def _evidence(data: ReportData) -> str:
    analysis = data.record.analysis
    if analysis is None or not analysis.checks:
        return "<h2>Evidence</h2><p>No analysis has run for this rollout.</p>"
    when = f"{analysis.time:%Y-%m-%d %H:%M:%S} UTC" if analysis.time else "unknown time"
    lines = [
        f"<h2>Evidence: last analysis at {escape(when)}, verdict {escape(analysis.verdict)}</h2>",
        "<p>Effect is canary minus stable; the interval is anytime-valid. A check concludes "
        "when its e-value reaches the threshold.</p>",
        "<table><tr><th>check</th><th>metric</th><th>verdict</th><th>stable</th><th>canary</th>"
        "<th>effect</th><th>interval</th><th>e-value</th><th>threshold</th>"
        "<th>samples (stable / canary)</th></tr>",
    ]
    lines += [_check_row(check) for check in analysis.checks]
    lines.append("</table>")
    return "\n".join(lines)


def _check_row(check: Check) -> str:
    interval = (
        f"[{_number(check.interval[0])}, {_number(check.interval[1])}]" if check.interval else "-"
    )
    samples = f"{_number(check.stable_samples)} / {_number(check.canary_samples)}"
    cells = [
        f'<td class="text">{escape(check.name)}</td>',
        f'<td class="text">{escape(check.metric)}</td>',
        f'<td class="text {escape(check.verdict)}">{escape(check.verdict)}</td>',
        *(f"<td>{_number(value)}</td>" for value in (check.stable, check.canary, check.effect)),
        f"<td>{interval}</td>",
        f"<td>{_number(check.evalue)}</td>",
        f"<td>{_number(check.threshold)}</td>",
        f"<td>{samples}</td>",
    ]
    return "<tr>" + "".join(cells) + "</tr>"


def _number(value: float | int | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, int):
        return str(value)
    return f"{value:.4g}"

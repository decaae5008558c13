"""The decision benchmark's report: Markdown tables and matplotlib figures from its JSON.

The summary tables put one method per column so a row reads as "who got this scenario right":
the false rollback rate on good canaries, the miss rate on bad ones, the seconds to a rollback
and the blast radius. The full table has every figure with its Monte-Carlo 95% interval.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display; must precede the pyplot import
import matplotlib.pyplot as plt

Row = dict[str, Any]
Report = dict[str, Any]

METHOD_NOTES = {
    "kcanary": "kcanary at its defaults, with its own plan (`bench/adaptive_plan.py`, the "
    "controller's rules): a step ends early once non-inferiority is shown (advanceOnPass), the "
    "first 30 s after the canary starts serving are left out (warmup), an undecided last step "
    "is extended up to 3 minutes while the evidence leans towards harm (extendInconclusive), "
    "then it is promoted (onInconclusive: promote); the analysis (`analysis.evaluate.judge`) "
    "at alpha 0.05, harm margin 0, non-inferiority tolerance max(0.5 pp, 20%). Its weights "
    "follow its own evidence run by run, so its counts are drawn apart from the others'",
    "kcanary-fixed-plan": "kcanary's analysis at its defaults on the same counts as every other "
    "method: the fixed plan, no warm-up, promoted when the last step ends (the statistics "
    "alone)",
    "flagger": "success rate and p99 (`histogram_quantile`) over 1 m, limits at 2x stable "
    "(98%, 202 ms); rollback after `threshold: 5` failed checks",
    "flagger-tight": "as flagger, limits at kcanary's tolerance (98.5%, 121 ms)",
    "argo-rollouts": "background AnalysisRun, one measurement per metric per 30 s interval, "
    "`successCondition` at 2x stable, `failureLimit: 3`",
    "argo-rollouts-tight": "as argo-rollouts, limits at kcanary's tolerance",
    "kayenta": "NetflixACAJudge: Mann-Whitney at 98% on 30 s points of error ratio, p50 and "
    "p99 since the start, marginal 75 / pass 95",
    "oracle-sprt": "Wald's SPRT knowing the true effect (the lower bound on time to decision)",
}


def _pct(rate: dict[str, float] | None) -> str:
    if rate is None:
        return "-"
    return f"{100 * rate['rate']:.1f}"


def _pct_ci(rate: dict[str, float] | None) -> str:
    if rate is None:
        return "-"
    return f"{100 * rate['rate']:.1f} [{100 * rate['ci_low']:.1f}, {100 * rate['ci_high']:.1f}]"


def _num(value: float | None, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}"


def _quantile(entry: dict[str, Any] | None) -> str:
    if entry is None or entry["value"] is None:
        return "-"
    return f"{entry['value']:.0f} [{entry['ci_low']:.0f}, {entry['ci_high']:.0f}]"


def _methods(report: Report) -> list[str]:
    names: list[str] = []
    for row in report["rows"]:
        if row["method"] not in names:
            names.append(row["method"])
    return names


def _matrix(
    report: Report, kinds: tuple[str, ...], cell: Callable[[Row], str], first: str
) -> list[str]:
    methods = _methods(report)
    lines = [
        f"| {first} | " + " | ".join(methods) + " |",
        "|---|" + "---|" * len(methods),
    ]
    for scenario in report["scenarios"]:
        if scenario["kind"] not in kinds:
            continue
        cells = []
        for method in methods:
            match = [
                r
                for r in report["rows"]
                if r["scenario"] == scenario["name"] and r["method"] == method
            ]
            cells.append(cell(match[0]) if match else "n/a")
        lines.append(f"| {scenario['name']} | " + " | ".join(cells) + " |")
    return lines


def _headline(row: Row) -> str:
    if row["kind"] == "good":
        return _pct(row["false_rollback"])
    if row["kind"] == "bad":
        return _pct(row["miss"])
    return _pct(row["rolled_back"])


def _rollback_seconds(row: Row) -> str:
    seconds = row["seconds_to_rollback"]
    if seconds["median"]["value"] is None:
        return "-"
    return f"{seconds['median']['value']:.0f} ({seconds['p90']['value']:.0f})"


def _pass_seconds(row: Row) -> str:
    passing = row["seconds_to_pass"]
    if passing is None:
        return "-"
    median = passing["median"]["value"]
    share = 100 * passing["share"]
    return f"{share:.0f}% by {median:.0f} s" if median is not None else f"{share:.0f}%"


def _find(report: Report, scenario: str, method: str) -> Row | None:
    rows: list[Row] = report["rows"]
    for row in rows:
        if row["scenario"] == scenario and row["method"] == method:
            return row
    return None


def not_ahead(report: Report) -> list[str]:
    """Bad scenarios where another method (not the oracle) misses fewer bad canaries, with
    non-overlapping intervals, or rolls them back sooner (median): each with that method's
    false rollback rate on the good scenario with the same traffic."""
    lines = []
    for scenario in report["scenarios"]:
        if scenario["kind"] != "bad":
            continue
        ours = _find(report, scenario["name"], "kcanary")
        if ours is None:
            continue
        our_time = ours["seconds_to_rollback"]["median"]["value"]
        for method in _methods(report):
            theirs = _find(report, scenario["name"], method)
            if method in ("kcanary", "kcanary-fixed-plan", "oracle-sprt") or theirs is None:
                continue
            fewer_misses = theirs["miss"]["ci_high"] < ours["miss"]["ci_low"]
            their_time = theirs["seconds_to_rollback"]["median"]["value"]
            sooner = their_time is not None and (our_time is None or their_time < our_time)
            if not (fewer_misses or sooner):
                continue
            cost = ""
            control = _find(report, scenario["control"], method)
            our_control = _find(report, scenario["control"], "kcanary")
            if control is not None and our_control is not None:
                cost = (
                    f"; it falsely rolls back {_pct(control['false_rollback'])}% in "
                    f"{scenario['control']} (kcanary {_pct(our_control['false_rollback'])}%)"
                )
            what = []
            if fewer_misses:
                what.append(
                    f"misses {_pct(theirs['miss'])}% against kcanary's {_pct(ours['miss'])}%"
                )
            if sooner:
                what.append(
                    f"rolls back in a median {their_time:.0f} s against "
                    f"{'never' if our_time is None else f'{our_time:.0f} s'}"
                )
            lines.append(f"- {scenario['name']}: `{method}` {' and '.join(what)}{cost}.")
    return lines or ["- none: kcanary is ahead of every baseline on misses and time everywhere."]


def _promotion_lines(report: Report) -> list[str]:
    lines = []
    for row in report["rows"]:
        if row["method"] != "kcanary" or row["seconds_to_promote"] is None:
            continue
        promote = row["seconds_to_promote"]
        lines.append(
            f"| {row['scenario']} | {_quantile(promote['median'])} "
            f"({_quantile(promote['p90'])}) | {_pct(row['promoted_on_evidence'])}% | "
            f"{_pct(row['extended'])}% |"
        )
    return lines


def markdown(report: Report) -> str:
    settings = report["settings"]
    lines = [
        "# Decision quality: kcanary against Flagger-, Argo Rollouts- and Kayenta-style analysis",
        "",
        f"Produced by `{report['command']}` (seed {report['seed']}, {report['runs']} simulated "
        f"rollouts per scenario) in {report['wall_seconds']:.0f} s. Every method judges the same "
        "simulated Prometheus counts at every look; see `bench/decisions.py` for what is "
        "measured and `bench/decision_scenarios.py` for the scenarios.",
        "",
        f"Plan: steps {', '.join(str(s) for s in settings['steps_percent'])} % for "
        f"{settings['step_seconds']:.0f} s each, a look every {settings['interval_seconds']:.0f} s "
        "(12 looks, 6 minutes); a rollout not rolled back by then is promoted, except by "
        "`kcanary`, which follows its own plan on the same steps (below). Stable fails 1% "
        "of requests, latency lognormal with p50 50 ms and p99 101 ms on Istio's buckets. "
        "kcanary: alpha 0.05; rolled back on evidence that the canary is worse than stable "
        "(harm margin 0), promoted early on evidence that it is worse by at most max(0.5 pp, "
        "20%) (the non-inferiority tolerance), on the error rate and on the share of requests "
        "slower than each bucket edge.",
        "",
        "Methods:",
        "",
    ]
    for method in _methods(report):
        lines.append(f"- `{method}`: {METHOD_NOTES.get(method, '')}")
    lines += [
        "",
        "Limits for the threshold tools: one rule for every scenario, twice what the stable "
        "revision does (2% errors, p99 202 ms), the headroom Flagger's defaults (99%, 500 ms) "
        "leave for a service at 0.5% and 250 ms; the `-tight` variants use kcanary's tolerance "
        "(1.5%, p99 +20%) and show what tighter limits cost.",
        "",
        "## Scenarios",
        "",
        "| scenario | kind | rps | canary errors | canary p50 / p99 ms | note |",
        "|---|---|---|---|---|---|",
    ]
    for s in report["scenarios"]:
        lines.append(
            f"| {s['name']} | {s['kind']} | {s['rps']:g} | {100 * s['canary_error_rate']:.1f}% | "
            f"{s['canary_p50_ms']:g} / {s['canary_p99_ms']:g} | {s['note']} |"
        )
    lines += [
        "",
        "Good: no worse than kcanary's tolerance, so a rollback is a false one. Bad: worse, so "
        "a promotion is a miss. Boundary: exactly at the tolerance, neither.",
        "",
        "## False rollbacks and misses (%)",
        "",
        "Good scenarios: false rollback rate; bad: miss rate (promoted; Kayenta's inconclusive "
        "pauses and kcanary's sample-ratio holds count as neither); boundary: rollback rate. "
        "95% intervals in the full table.",
        "",
        *_matrix(report, ("good", "boundary", "bad"), _headline, "scenario"),
        "",
        "## Seconds to rollback on bad canaries: median (p90)",
        "",
        *_matrix(report, ("bad",), _rollback_seconds, "scenario"),
        "",
        "## Blast radius on bad canaries",
        "",
        "Mean excess failed or slow (slower than stable's p99) requests the canary served "
        "before its rollback, or until the end of the rollout when promoted (after which it "
        "serves everyone).",
        "",
        *_matrix(report, ("bad",), lambda r: _num(r["blast_radius"]["mean"], 1), "scenario"),
        "",
        "## Where kcanary is not ahead",
        "",
        "Computed from the rows above; why, and what to do about it, is in `bench/README.md`.",
        "",
        *not_ahead(report),
        "",
        "## Time to promote a good canary",
        "",
        "`kcanary` with its own plan: seconds to the promotion, median (p90); the share promoted "
        "on evidence (a Pass) rather than on the clock; the share whose last step was extended. "
        "Every other method promotes when the last step ends (360 s).",
        "",
        "| scenario | promoted, median (p90) s | on evidence | extended |",
        "|---|---|---|---|",
        *_promotion_lines(report),
        "",
        "## When a good canary could be promoted",
        "",
        "On the fixed plan, the share of runs whose analysis showed the canary non-inferior on "
        "every check (a Pass), and the median look of the first one; the oracle's is the lower "
        "bound.",
        "",
        *_matrix(report, ("good",), _pass_seconds, "scenario"),
        "",
        "## Full table",
        "",
        "Rates in %, with Wilson 95% intervals; seconds and requests (both revisions, as "
        "Prometheus saw them) to the decision, a rollback or the promotion at 360 s, with "
        "order-statistic 95% intervals; blast radius mean with its 95% interval.",
        "",
        "| scenario | method | false rollback / miss | inconclusive | held | median s | p90 s | "
        "median requests | p90 requests | blast radius |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in report["rows"]:
        outcome = row["false_rollback"] or row["miss"] or row["rolled_back"]
        blast = row["blast_radius"]
        lines.append(
            f"| {row['scenario']} | {row['method']} | {_pct_ci(outcome)} | "
            f"{_pct(row['inconclusive'])} | {_pct(row['held'])} | "
            f"{_quantile(row['seconds_to_decision']['median'])} | "
            f"{_quantile(row['seconds_to_decision']['p90'])} | "
            f"{_quantile(row['requests_to_decision']['median'])} | "
            f"{_quantile(row['requests_to_decision']['p90'])} | "
            f"{blast['mean']:.1f} [{blast['ci_low']:.1f}, {blast['ci_high']:.1f}] |"
        )
    verdict = "yes" if report["kcanary_within_alpha"] else "NO"
    lines += [
        "",
        f"kcanary's false rollback rate within alpha (+3 Monte-Carlo SE) in every good "
        f"scenario: {verdict}.",
        "",
    ]
    return "\n".join(lines)


def _grouped_bars(
    report: Report,
    kind: str,
    value: Callable[[Row], tuple[float, float, float] | None],
    ylabel: str,
    title: str,
    path: Path,
    *,
    reference: float | None = None,
    log: bool = False,
) -> None:
    scenarios = [s["name"] for s in report["scenarios"] if s["kind"] == kind]
    methods = _methods(report)
    width = 0.8 / len(methods)
    figure, axes = plt.subplots(figsize=(max(9.0, 1.3 * len(scenarios) + 2.0), 4.8))
    for m, method in enumerate(methods):
        xs, ys, lows, highs = [], [], [], []
        for i, scenario in enumerate(scenarios):
            match = [
                r for r in report["rows"] if r["scenario"] == scenario and r["method"] == method
            ]
            point = value(match[0]) if match else None
            if point is None:
                continue
            xs.append(i - 0.4 + width * (m + 0.5))
            ys.append(point[0])
            lows.append(max(point[0] - point[1], 0.0))
            highs.append(max(point[2] - point[0], 0.0))
        axes.bar(xs, ys, width, label=method, yerr=[lows, highs], capsize=2)
    if reference is not None:
        axes.axhline(reference, color="black", linestyle="--", linewidth=1, label="alpha")
    axes.set_xticks(range(len(scenarios)))
    axes.set_xticklabels(scenarios, rotation=20, ha="right")
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    if log:
        axes.set_yscale("symlog", linthresh=1.0)
    axes.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _rate_point(key: str) -> Callable[[Row], tuple[float, float, float] | None]:
    def point(row: Row) -> tuple[float, float, float] | None:
        rate = row[key]
        if rate is None:
            return None
        return 100 * rate["rate"], 100 * rate["ci_low"], 100 * rate["ci_high"]

    return point


def _rollback_time_point(row: Row) -> tuple[float, float, float] | None:
    median = row["seconds_to_rollback"]["median"]
    if median["value"] is None:
        return None
    return median["value"], median["ci_low"], median["ci_high"]


def _blast_point(row: Row) -> tuple[float, float, float]:
    blast = row["blast_radius"]
    return blast["mean"], blast["ci_low"], blast["ci_high"]


def write_figures(report: Report, out: Path) -> list[Path]:
    """decisions_false_rollbacks.png, decisions_misses.png, decisions_rollback_seconds.png and
    decisions_blast_radius.png in `out`; returns their paths."""
    alpha = 100 * report["settings"]["kcanary"]["alpha"]
    paths = [
        out / "decisions_false_rollbacks.png",
        out / "decisions_misses.png",
        out / "decisions_rollback_seconds.png",
        out / "decisions_blast_radius.png",
    ]
    _grouped_bars(
        report,
        "good",
        _rate_point("false_rollback"),
        "false rollback rate (%)",
        "Good canaries rolled back (lower is better; 95% intervals)",
        paths[0],
        reference=alpha,
    )
    _grouped_bars(
        report,
        "bad",
        _rate_point("miss"),
        "miss rate (%)",
        "Bad canaries promoted (lower is better; 95% intervals)",
        paths[1],
    )
    _grouped_bars(
        report,
        "bad",
        _rollback_time_point,
        "median seconds to rollback",
        "Time to roll back a bad canary, over the runs rolled back (lower is better)",
        paths[2],
    )
    _grouped_bars(
        report,
        "bad",
        _blast_point,
        "excess failed or slow requests (mean)",
        "Blast radius before rollback or promotion (lower is better)",
        paths[3],
        log=True,
    )
    return paths

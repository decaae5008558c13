"""The A/A validation's report as Markdown (`bench/results/aa.md`); the runs are `bench.aa`'s."""

from __future__ import annotations

import math
from typing import Any


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        return f"{value:.{digits}g}"
    return str(value)


def markdown(report: dict[str, Any]) -> str:
    """aa.md: every table of the A/A validation, from the report `bench.aa` writes to aa.json."""
    lines = [
        "# A/A validation of kcanary's sequential analysis",
        "",
        f"Produced by `{report['command']}` (seed {report['seed']}) in "
        f"{report['wall_seconds']:.0f} s. Virtual time; every rollout is judged at every "
        "analysis tick by `analysis.evaluate.judge`, the controller's code.",
        "",
        "Settings: steps 10, 25, 50 % for 2 minutes each, analysis every 30 s (12 looks); "
        "stable and, unless changed, canary fail 1% of requests with lognormal latency "
        "(p50 50 ms, sigma 0.3, p99 101 ms) on Istio's default buckets; the defaults: harm "
        "margin 0 (rolled back on evidence of any regression) and non-inferiority tolerance "
        "max(0.5 pp, 20%), on the error rate and on the share of requests slower than each "
        "bucket edge; alpha split by Bonferroni over the two rollback checks. This benchmark "
        "walks the fixed plan (no warm-up, no early step end, no extension): the statistics "
        "alone; `kcanary bench decisions` also measures kcanary's own plan.",
        "",
        "## False rollbacks (A/A)",
        "",
        "Passed at the last look: the share of good canaries shown non-inferior on every check "
        "(a Pass) by the end of the last step; the others end Inconclusive and are promoted "
        "by the default `onInconclusive: promote`.",
        "",
        "| rps | load | alpha | runs | false rollbacks | rate | 95% interval | "
        "<= alpha + 3 SE | passed at last look |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in report["aa"]:
        lines.append(
            f"| {row['rps']:g} | {row['load']} | {row['alpha']} | {row['runs']} | "
            f"{row['false_rollbacks']} | "
            f"{row['rate']:.4f} | [{row['ci_low']:.4f}, {row['ci_high']:.4f}] | "
            f"{'yes' if row['within_alpha'] else 'NO'} | {row['passed_at_last_look']:.3f} |"
        )
    lines += [
        "",
        "## False rollbacks under a drift both revisions share (A/A)",
        "",
        f"Load rises from 0.5x to 2x of the mean over the rollout while the weights step up; "
        f"with stress {_fmt(report['drift_stress'])} both revisions' error rates and median "
        "latencies scale by load ** stress. The canary's requests lean on the later, worse "
        "intervals, so pooled over the rollout it looks worse than stable (Simpson's "
        "paradox). kcanary compares the revisions within each period of constant weight; "
        "the pooled rows judge the same traffic without periods, for contrast only.",
        "",
        "| rps | stress | alpha | analysis | runs | false rollbacks | rate | 95% interval | "
        "<= alpha + 3 SE | passed at last look |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in report["drift"]:
        lines.append(
            f"| {row['rps']:g} | {row['stress']:g} | {row['alpha']} | {row['analysis']} | "
            f"{row['runs']} | {row['false_rollbacks']} | {row['rate']:.4f} | "
            f"[{row['ci_low']:.4f}, {row['ci_high']:.4f}] | "
            f"{'yes' if row['within_alpha'] else 'NO'} | {row['passed_at_last_look']:.3f} |"
        )
    lines += [
        "",
        "## On the boundary of a wider harm margin (max(0.5 pp, 20%): canary 1.5% against "
        "1%, not harm)",
        "",
        "| rps | looks | check's alpha | runs | rollbacks | rate | 95% interval |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in report["boundary"]:
        lines.append(
            f"| {row['rps']:g} | {row['looks']} | {row['alpha_for_the_check']} | {row['runs']} | "
            f"{row['rollbacks']} | {row['rate']:.4f} | [{row['ci_low']:.4f}, "
            f"{row['ci_high']:.4f}] |"
        )
    lines += [
        "",
        "## Power and requests to detection (alpha 0.05)",
        "",
        "Rolled back before the last step ended; seconds and requests (both revisions) at the "
        "deciding look, over the runs rolled back. The oracle is Wald's SPRT on the canary's "
        "failures knowing both true rates, at the error-rate check's alpha (0.025) and the "
        "same looks; the last column is kcanary's median canary requests to detection over "
        "the oracle's. A 1.5x error rate (1.5% against 1%) is at the non-inferiority "
        "tolerance, and harm under the default harm margin of 0. The oracle tests against "
        "that tolerance's boundary (1.5%), a harder question than kcanary's, so kcanary may "
        "need fewer requests than it.",
        "",
        "| scenario | rps | canary p50 / p99 ms | rolled back | 95% interval | median s | "
        "p90 s | median requests | p90 requests | oracle rate | vs oracle |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in report["power"]:
        lines.append(
            f"| {row['scenario']} | {row['rps']:g} | {row['canary_p50_ms']:g} / "
            f"{row['canary_p99_ms']:g} | {row['rate']:.3f} | [{row['ci_low']:.3f}, "
            f"{row['ci_high']:.3f}] | {_fmt(row['median_seconds'])} | "
            f"{_fmt(row['p90_seconds'])} | {_fmt(row['median_requests'], 6)} | "
            f"{_fmt(row['p90_requests'], 6)} | {_fmt(row.get('oracle_rate'), 3)} | "
            f"{_fmt(row.get('requests_vs_oracle'))} |"
        )
    cpu = report["cpu"]
    lines += [
        "",
        "## Cost of one look",
        "",
        f"One tick for {cpu['rollouts']} rollouts: {cpu['batched_judge_cpu_seconds']} s CPU "
        f"batched (`judge`), {cpu['evaluate_per_rollout_cpu_seconds']} s CPU as "
        f"{cpu['rollouts']} separate `evaluate` calls.",
        "",
    ]
    return "\n".join(lines)

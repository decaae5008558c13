"""`kcanary report NAME`: PNG plots and an HTML page of an InferenceService's latest rollout.

The weight with its steps and the decision, each revision's error rate and latency with the
analysis' estimates and interval, and the evidence table. Without Prometheus the report is drawn
from the InferenceRollout status and the Events, and says what it could not show; it fails only
when nothing at all can be written (no such ISVC, no InferenceRollout, no cluster).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from kcanary.command_errors import CommandError, reports_errors
from kcanary.flags import add_env_flag, parse_duration
from kcanary.kube import add_cluster_flags, connect
from kcanary.prometheus_flags import add_connection_flags, connection


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "report",
        help="write plots and an HTML page of the latest rollout",
        description="Write PNG plots and an HTML page of an InferenceService's latest rollout: "
        "the weight with its steps and the decision, error rate and latency per revision with "
        "the analysis, and the evidence table.",
    )
    parser.add_argument("name", metavar="NAME", help="the InferenceService")
    add_env_flag(
        parser,
        "--prometheus-url",
        metavar="URL",
        help="Prometheus that scrapes the serving pods and the controller (without it: status "
        "and Events only)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="directory for index.html and the PNGs (default: ./kcanary-report-NAME)",
    )
    parser.add_argument(
        "--rate-window",
        type=parse_duration,
        metavar="DURATION",
        help="range of rate() for the per-revision series (default: from the rollout's length; "
        "make it at least 4 scrape intervals)",
    )
    add_connection_flags(parser)
    add_cluster_flags(parser)
    parser.set_defaults(func=run, extra="report")


@reports_errors
def run(args: argparse.Namespace) -> int:
    # Imported here: matplotlib costs every other command a second at start-up.
    from kcanary.report import write_report
    from kcanary.report.gather import gather
    from kcanary.report.prometheus_range import PrometheusRange

    # The report asks Prometheus for rate() over whole seconds.
    rate_window_s = None if args.rate_window is None else round(args.rate_window)
    if rate_window_s is not None and rate_window_s < 1:
        raise CommandError(f"--rate-window must be at least 1s, got {args.rate_window:g}s")
    out: Path = args.out if args.out is not None else Path(f"kcanary-report-{args.name}")
    if out.exists() and not out.is_dir():
        raise CommandError(f"--out {out} is a file: give a directory")
    try:
        reach = connection(args, args.prometheus_url) if args.prometheus_url else None
    except ValueError as error:
        raise CommandError(str(error)) from None
    prometheus = PrometheusRange(reach) if reach is not None else None
    cluster = connect(args)
    try:
        data = gather(cluster, args.name, prometheus, rate_window_s=rate_window_s)
    finally:
        cluster.close()
        if prometheus is not None:
            prometheus.close()
    try:
        files = write_report(data, out)
    except OSError as error:
        problem = error.strerror or error
        raise CommandError(f"cannot write the report into {out}: {problem}") from None
    for problem in data.missing:
        print(f"warning: {problem}", file=sys.stderr)
    record = data.record
    outcome = record.outcome if record.started else "no rollout yet"
    reason = f" ({record.reason})" if record.reason else ""
    print(f"{record.namespace}/{record.name}: {outcome}{reason}")
    print(f"Wrote {files.index} and {len(files.images)} plot(s).")
    return 0

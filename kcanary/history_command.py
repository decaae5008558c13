"""`kcanary history NAME`: which model went live when, and why (the rollout's lineage).

Read from the `history` of the InferenceRollout status, oldest first, as the controller keeps
it: one entry per rollout of a canary revision with its outcome, the reason, and the manual
actions taken during it.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import yaml

from kcanary.command_errors import CommandError, reports_errors
from kcanary.kube import add_cluster_flags, connect
from kcanary.rollout_view import columns, duration_text, parse_moment

HEADER = ("#", "REVISION", "MODEL", "OUTCOME", "STARTED", "DURATION", "REASON")
WIDE_HEADER = (*HEADER, "ACTIONS")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "history",
        help="past rollouts: outcome, reason, model, start and duration",
        description="List the past rollouts of an InferenceService, oldest first.",
    )
    parser.add_argument("name", metavar="NAME", help="the InferenceService")
    parser.add_argument(
        "-o",
        "--output",
        choices=("yaml", "json", "wide"),
        help="yaml, json, or wide (with the manual actions)",
    )
    add_cluster_flags(parser)
    parser.set_defaults(func=run)


@reports_errors
def run(args: argparse.Namespace) -> int:
    cluster = connect(args)
    try:
        cluster.managed_isvc(args.name)
        rollout = cluster.rollout(args.name)
    finally:
        cluster.close()
    if rollout is None:
        raise CommandError(
            f'no InferenceRollout for "{args.name}" in namespace "{cluster.namespace}" yet: the '
            "kcanary controller creates it; check that the controller is running"
        )
    entries: list[Mapping[str, Any]] = list((rollout.get("status") or {}).get("history") or [])
    if args.output == "json":
        print(json.dumps(entries, indent=4))
        return 0
    if args.output == "yaml":
        print(yaml.safe_dump(entries, sort_keys=False).rstrip())
        return 0
    if not entries:
        print(f"No rollouts of {args.name} yet.")
        return 0
    wide = args.output == "wide"
    now = datetime.now(UTC)
    rows = [
        history_row(number, entry, now=now, wide=wide) for number, entry in enumerate(entries, 1)
    ]
    print("\n".join(columns(WIDE_HEADER if wide else HEADER, rows)))
    return 0


def history_row(
    number: int, entry: Mapping[str, Any], *, now: datetime, wide: bool = False
) -> tuple[str, ...]:
    started = parse_moment(entry.get("startedAt"))
    finished = parse_moment(entry.get("finishedAt"))
    outcome = str(entry.get("outcome") or ("in progress" if finished is None else "-"))
    duration = duration_text(started, finished or now)
    row: tuple[str, ...] = (
        str(number),
        str(entry.get("revision", "-")),
        str(entry.get("storageUri") or "-"),
        outcome,
        str(entry.get("startedAt") or "-"),
        duration if finished is not None else f"{duration} so far",
        str(entry.get("reason") or "-"),
    )
    if wide:
        actions = [
            f"{record.get('action')} ({record.get('by') or 'unknown'}, {record.get('at')})"
            for record in entry.get("actions") or ()
        ]
        row = (*row, "; ".join(actions) or "-")
    return row

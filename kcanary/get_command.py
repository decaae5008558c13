"""`kcanary get [NAME] [-w]`: rollouts at a glance, or one rollout with its evidence and Events.

Listing takes kubectl's `-l SELECTOR` (read by the API server against the InferenceServices'
labels), `--no-headers` and `-o name`; `kcanary list` is `get` without NAME.

With `-w` the view follows the API's watch of InferenceRollouts (and of the ISVC's Events):
on a terminal it is redrawn in place (with `rich`, which the `local` extra brings), into a pipe
or without `rich` every change is appended as a plain line, so `kcanary get iris -w | tee log`
records the rollout as it happened.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from datetime import UTC, datetime
from typing import Any

import yaml

from kcanary.command_errors import BAD_INPUT, CommandError, reports_errors
from kcanary.kube import Cluster, JsonObject, add_cluster_flags, connect, event_order
from kcanary.rollout_feed import Feed, follow_events, follow_rollouts
from kcanary.rollout_view import (
    RolloutView,
    columns,
    detail_lines,
    event_row,
    list_header,
    list_row,
)

OUTPUTS = ("yaml", "json", "wide", "name")
NAME_PREFIX = "inferencerollout.kcanary.io/"
"""`-o name` prints `NAME_PREFIX + name`, the resource.group/name kubectl prints."""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "get",
        help="show rollouts, or one rollout with its analysis and events",
        description=(
            "Show the InferenceRollouts of a namespace, or, given NAME, the rollout of that "
            "InferenceService: phase, step and weight, stable and canary models, the last "
            "verdict of every check with its effect and interval, and the recent Events."
        ),
    )
    parser.add_argument("name", nargs="?", metavar="NAME", help="the InferenceService")
    _add_view_flags(parser)
    listing = subparsers.add_parser(
        "list",
        help="list rollouts (get without NAME)",
        description="List the InferenceRollouts of a namespace, or of all with -A: "
        "`kcanary get` without NAME.",
    )
    _add_view_flags(listing)
    listing.set_defaults(name=None)


def _add_view_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-w", "--watch", action="store_true", help="keep watching and show every change"
    )
    parser.add_argument(
        "-o",
        "--output",
        choices=OUTPUTS,
        help="yaml, json, wide (more columns), or name (inferencerollout.kcanary.io/NAME)",
    )
    parser.add_argument(
        "-l",
        "--selector",
        metavar="SELECTOR",
        help="only the rollouts of InferenceServices whose labels match, as kubectl reads "
        "selectors: team=fraud,tier!=dev or 'env in (prod,staging)'",
    )
    parser.add_argument(
        "--no-headers", action="store_true", help="leave out the header line of a table"
    )
    add_cluster_flags(parser, all_namespaces=True)
    parser.set_defaults(func=run)


@reports_errors
def run(args: argparse.Namespace) -> int:
    if args.name and args.all_namespaces:
        raise CommandError(
            "a rollout cannot be shown by name across all namespaces: drop -A or NAME"
        )
    if args.name and args.selector is not None:
        raise CommandError(
            "a rollout cannot be shown by name and selector at once: drop -l or NAME", BAD_INPUT
        )
    if args.watch and args.selector is not None:
        # The selector reads the InferenceServices' labels, which a watch of the rollouts
        # does not carry: a watch would show rollouts the selector does not match.
        raise CommandError(
            "-l cannot be combined with -w: watch all rollouts, or list with -l", BAD_INPUT
        )
    cluster = connect(args)
    try:
        if args.name:
            return _one(cluster, args.name, args.output, args.watch, not args.no_headers)
        return _many(cluster, args)
    finally:
        cluster.close()


# -- one rollout ---------------------------------------------------------------------------------


def _one(cluster: Cluster, name: str, output: str | None, watch: bool, headers: bool) -> int:
    isvc = cluster.managed_isvc(name)
    rollout = cluster.rollout(name)
    wide = output == "wide"
    if output in ("yaml", "json", "name"):
        if rollout is None and not watch:
            raise CommandError(_no_rollout(cluster, name))
        if not watch:
            _dump(rollout, output)
            return 0
        for _, changed in follow_rollouts(cluster, name=name):
            _dump(changed, output, stream=True)
        return 0
    events, _ = cluster.events(name)
    if not watch:
        view = RolloutView.of(rollout, isvc=isvc, events=events)
        print("\n".join(detail_lines(view, wide=wide)))
        return 0
    feed = Feed()
    feed.add(
        "rollout",
        follow_rollouts(cluster, name=name, stop=feed.stopping, notify=feed.notify),
    )
    feed.add("event", follow_events(cluster, name, stop=feed.stopping, notify=feed.notify))
    try:
        if _redraws():
            return _redraw_one(cluster, name, isvc, feed, wide)
        return _append_one(feed, wide, headers)
    finally:
        feed.close()


def _redraw_one(cluster: Cluster, name: str, isvc: JsonObject, feed: Feed, wide: bool) -> int:
    from rich.live import Live

    from kcanary.rollout_live import detail_renderable

    rollout: JsonObject | None = None
    events: dict[str, JsonObject] = {}
    with Live(auto_refresh=False, redirect_stdout=False) as live:
        while True:
            change = feed.next()
            if change.error is not None:
                raise change.error
            if change.source == "rollout":
                rollout = None if change.type == "DELETED" else change.obj
                isvc = cluster.isvc(name)  # the steps may have changed with the rollout
            elif change.type != "DELETED":
                events[str(change.obj["metadata"]["name"])] = change.obj
            ordered = sorted(events.values(), key=event_order)
            view = RolloutView.of(rollout, isvc=isvc, events=ordered)
            live.update(detail_renderable(view, wide=wide), refresh=True)


def _append_one(feed: Feed, wide: bool, headers: bool) -> int:
    """One line per change: the rollout as a row, an Event as `event: TYPE REASON message`.
    A rollout row is printed only when something other than its age changed (every analysis
    rewrites the status, mostly with the same verdict)."""
    header = list_header(wide=wide)
    if headers:
        print("   ".join(header), flush=True)
    last_row: tuple[str, ...] = ()
    while True:
        change = feed.next()
        if change.error is not None:
            raise change.error
        now = datetime.now(UTC)
        if change.source == "rollout":
            if change.type == "DELETED":
                print(f"{change.obj['metadata']['name']} deleted", flush=True)
                continue
            row = list_row(change.obj, now=now, wide=wide)
            age = header.index("AGE")
            if row[:age] + row[age + 1 :] != last_row[:age] + last_row[age + 1 :]:
                print("   ".join(row), flush=True)
            last_row = row
        elif change.type != "DELETED":
            event = event_row(change.obj, now)
            print(f"event: {event.type} {event.reason} {event.message}", flush=True)


def _redraws() -> bool:
    """Redraw in place on a terminal when `rich` is there; a plain install appends lines."""
    return sys.stdout.isatty() and importlib.util.find_spec("rich") is not None


def _no_rollout(cluster: Cluster, name: str) -> str:
    return (
        f'no InferenceRollout for "{name}" in namespace "{cluster.namespace}" yet: the kcanary '
        "controller creates it; check that the controller is running"
    )


# -- many rollouts -------------------------------------------------------------------------------


def _many(cluster: Cluster, args: argparse.Namespace) -> int:
    output: str | None = args.output
    all_namespaces: bool = args.all_namespaces
    headers = not args.no_headers
    wide = output == "wide"
    if args.watch:
        feed = Feed()
        changes = follow_rollouts(
            cluster, all_namespaces=all_namespaces, stop=feed.stopping, notify=feed.notify
        )
        feed.add("rollout", changes)
        try:
            if output in ("yaml", "json", "name"):
                return _append_objects(feed, output)
            if _redraws():
                return _redraw_many(feed, wide, all_namespaces, headers)
            return _append_many(feed, wide, all_namespaces, headers)
        finally:
            feed.close()
    items, _ = cluster.rollouts(all_namespaces=all_namespaces)
    if args.selector is not None:
        # The selector is for the InferenceServices, which people label; an InferenceRollout
        # carries only the controller's label, and the name of its InferenceService.
        selected = cluster.selected_isvcs(args.selector, all_namespaces=all_namespaces)
        items = [item for item in items if _key(item) in selected]
    if output in ("yaml", "json"):
        _dump({"apiVersion": "v1", "kind": "List", "items": items}, output)
        return 0
    if not items:
        where = "any namespace" if all_namespaces else f"{cluster.namespace} namespace"
        print(f"No rollouts found in {where}.", file=sys.stderr)
        return 0
    if output == "name":
        print("\n".join(NAME_PREFIX + str(item["metadata"]["name"]) for item in items))
        return 0
    now = datetime.now(UTC)
    rows = [list_row(item, now=now, wide=wide, all_namespaces=all_namespaces) for item in items]
    lines = columns(list_header(wide=wide, all_namespaces=all_namespaces), rows)
    print("\n".join(lines if headers else lines[1:]))
    return 0


def _key(rollout: JsonObject) -> tuple[str, str]:
    meta = rollout["metadata"]
    return str(meta.get("namespace", "")), str(meta["name"])


def _redraw_many(feed: Feed, wide: bool, all_namespaces: bool, headers: bool) -> int:
    from rich.live import Live

    from kcanary.rollout_live import list_renderable

    known: dict[tuple[str, str], JsonObject] = {}
    header = list_header(wide=wide, all_namespaces=all_namespaces)
    with Live(auto_refresh=False, redirect_stdout=False) as live:
        while True:
            change = feed.next()
            if change.error is not None:
                raise change.error
            key = _key(change.obj)
            if change.type == "DELETED":
                known.pop(key, None)
            else:
                known[key] = change.obj
            now = datetime.now(UTC)
            rows = [
                list_row(known[k], now=now, wide=wide, all_namespaces=all_namespaces)
                for k in sorted(known)
            ]
            live.update(list_renderable(header, rows, headers=headers), refresh=True)


def _append_many(feed: Feed, wide: bool, all_namespaces: bool, headers: bool) -> int:
    if headers:
        print("   ".join(list_header(wide=wide, all_namespaces=all_namespaces)), flush=True)
    while True:
        change = feed.next()
        if change.error is not None:
            raise change.error
        now = datetime.now(UTC)
        row = list_row(change.obj, now=now, wide=wide, all_namespaces=all_namespaces)
        suffix = "   (deleted)" if change.type == "DELETED" else ""
        print("   ".join(row) + suffix, flush=True)


def _append_objects(feed: Feed, output: str) -> int:
    while True:
        change = feed.next()
        if change.error is not None:
            raise change.error
        _dump(change.obj, output, stream=True)


def _dump(obj: JsonObject | None, output: str, *, stream: bool = False) -> None:
    """Print as kubectl does; a stream of YAML documents is separated by `---`."""
    if output == "name":
        print(NAME_PREFIX + str((obj or {}).get("metadata", {}).get("name", "")), flush=True)
        return
    if output == "json":
        print(json.dumps(obj, indent=4), flush=True)
        return
    text = yaml.safe_dump(obj, sort_keys=False).rstrip()
    print(f"---\n{text}" if stream else text, flush=True)

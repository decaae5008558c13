"""`kcanary get [NAME] [-w]`: rollouts at a glance, or one rollout with its evidence and Events.

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

from kcanary.command_errors import CommandError, reports_errors
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

OUTPUTS = ("yaml", "json", "wide")


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
    parser.add_argument(
        "-w", "--watch", action="store_true", help="keep watching and show every change"
    )
    parser.add_argument(
        "-o", "--output", choices=OUTPUTS, help="yaml, json, or wide (more columns)"
    )
    add_cluster_flags(parser, all_namespaces=True)
    parser.set_defaults(func=run)


@reports_errors
def run(args: argparse.Namespace) -> int:
    if args.name and args.all_namespaces:
        raise CommandError(
            "a rollout cannot be shown by name across all namespaces: drop -A or NAME"
        )
    cluster = connect(args)
    try:
        if args.name:
            return _one(cluster, args.name, args.output, args.watch)
        return _many(cluster, args.output, args.watch, args.all_namespaces)
    finally:
        cluster.close()


# -- one rollout ---------------------------------------------------------------------------------


def _one(cluster: Cluster, name: str, output: str | None, watch: bool) -> int:
    isvc = cluster.managed_isvc(name)
    rollout = cluster.rollout(name)
    wide = output == "wide"
    if output in ("yaml", "json"):
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
        return _append_one(feed, wide)
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


def _append_one(feed: Feed, wide: bool) -> int:
    """One line per change: the rollout as a row, an Event as `event: TYPE REASON message`.
    A rollout row is printed only when something other than its age changed (every analysis
    rewrites the status, mostly with the same verdict)."""
    header = list_header(wide=wide)
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


def _many(cluster: Cluster, output: str | None, watch: bool, all_namespaces: bool) -> int:
    wide = output == "wide"
    if watch:
        feed = Feed()
        changes = follow_rollouts(
            cluster, all_namespaces=all_namespaces, stop=feed.stopping, notify=feed.notify
        )
        feed.add("rollout", changes)
        try:
            if output in ("yaml", "json"):
                return _append_objects(feed, output)
            if _redraws():
                return _redraw_many(feed, wide, all_namespaces)
            return _append_many(feed, wide, all_namespaces)
        finally:
            feed.close()
    items, _ = cluster.rollouts(all_namespaces=all_namespaces)
    if output in ("yaml", "json"):
        _dump({"apiVersion": "v1", "kind": "List", "items": items}, output)
        return 0
    if not items:
        where = "any namespace" if all_namespaces else f"{cluster.namespace} namespace"
        print(f"No rollouts found in {where}.", file=sys.stderr)
        return 0
    now = datetime.now(UTC)
    rows = [list_row(item, now=now, wide=wide, all_namespaces=all_namespaces) for item in items]
    print("\n".join(columns(list_header(wide=wide, all_namespaces=all_namespaces), rows)))
    return 0


def _redraw_many(feed: Feed, wide: bool, all_namespaces: bool) -> int:
    from rich.live import Live

    from kcanary.rollout_live import list_renderable

    known: dict[tuple[str, str], JsonObject] = {}
    header = list_header(wide=wide, all_namespaces=all_namespaces)
    with Live(auto_refresh=False, redirect_stdout=False) as live:
        while True:
            change = feed.next()
            if change.error is not None:
                raise change.error
            meta = change.obj["metadata"]
            key = (str(meta.get("namespace", "")), str(meta["name"]))
            if change.type == "DELETED":
                known.pop(key, None)
            else:
                known[key] = change.obj
            now = datetime.now(UTC)
            rows = [
                list_row(known[k], now=now, wide=wide, all_namespaces=all_namespaces)
                for k in sorted(known)
            ]
            live.update(list_renderable(header, rows), refresh=True)


def _append_many(feed: Feed, wide: bool, all_namespaces: bool) -> int:
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
    if output == "json":
        print(json.dumps(obj, indent=4), flush=True)
        return
    text = yaml.safe_dump(obj, sort_keys=False).rstrip()
    print(f"---\n{text}" if stream else text, flush=True)

"""`kcanary promote|abort|pause|resume|retry NAME`: ask the controller for a manual action and
wait until it has answered, so a person knows whether it happened.

The request is the `kcanary.io/action` annotation on the ISVC (a merge patch, so plain
`kubectl annotate` and RBAC work the same). The controller answers in one of two ways: it takes
the action, records it in the rollout's history and then removes the annotation; or it removes
the annotation and says why in a Warning Event. So once the annotation is gone, a new record of
this action in the history means taken, and a new or repeated Warning Event about it means
refused. What was there before the request is remembered, so an older answer is not mistaken
for this one.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kcanary.command_errors import CommandError, reports_errors
from kcanary.flags import parse_duration
from kcanary.kube import Cluster, JsonObject, add_cluster_flags, annotations_of, connect
from kcanary.rollout_feed import follow, follow_events
from rollout import ACTION, ManualAction

DEFAULT_TIMEOUT = 30.0
REFUSAL_GRACE = 3.0
"""How long to wait for the Warning Event once the annotation is gone without a record: the
controller writes it right after removing the annotation."""

_HELP = {
    ManualAction.PROMOTE: "end the current step now and go to the next one",
    ManualAction.ABORT: "roll the canary back now (outcome: aborted)",
    ManualAction.PAUSE: "hold the current weight until resumed",
    ManualAction.RESUME: "carry on with a paused rollout",
    ManualAction.RETRY: "roll a rolled back or aborted canary out again",
}

Record = tuple[str, str, str]
"""(action, at, message) of a history record: enough to tell one record from another."""


@dataclass(frozen=True)
class Answer:
    """What the controller did with the request: taken (with its record) or refused (why)."""

    taken: bool
    message: str


def register(subparsers: Any) -> None:
    for action, text in _HELP.items():
        parser = subparsers.add_parser(
            action.value,
            help=text,
            description=(
                f"{text[0].upper()}{text[1:]}: set {ACTION}={action.value} on the "
                "InferenceService and wait until the kcanary controller has taken it (exit 0) "
                "or refused it (exit 1, with the reason)."
            ),
        )
        parser.add_argument("name", metavar="NAME", help="the InferenceService")
        if action is ManualAction.PROMOTE:
            parser.add_argument(
                "--full",
                action="store_true",
                help="skip the remaining steps and promote the canary now (promote-full)",
            )
        parser.add_argument(
            "--timeout",
            type=parse_duration,
            default=DEFAULT_TIMEOUT,
            metavar="DURATION",
            help="how long to wait for the controller (default: 30s)",
        )
        add_cluster_flags(parser)
        parser.set_defaults(func=run, action=action.value)


@reports_errors
def run(args: argparse.Namespace) -> int:
    action = ManualAction.PROMOTE_FULL.value if getattr(args, "full", False) else args.action
    cluster = connect(args)
    try:
        answer = request(cluster, args.name, action, timeout=args.timeout)
    finally:
        cluster.close()
    if not answer.taken:
        reason = answer.message.removeprefix(f"{action}: ")
        raise CommandError(f"{action} refused: {reason}")
    print(f"{action} taken: {answer.message}")
    return 0


def request(cluster: Cluster, name: str, action: str, *, timeout: float) -> Answer:
    """Set the action annotation on the ISVC `name` and wait for the controller's answer."""
    isvc = cluster.managed_isvc(name)
    rollout = cluster.rollout(name)
    if rollout is None:
        raise CommandError(
            f'"{name}" in namespace "{cluster.namespace}" has no rollout state yet: the kcanary '
            "controller has not picked it up; check that it is running"
        )
    pending = annotations_of(isvc).get(ACTION)
    if pending is not None and pending != action:
        print(f"note: replacing the pending request {ACTION}={pending}", file=sys.stderr)
    records_before = records(rollout)
    events_before, _ = cluster.events(name)
    seen = {_event_key(event): _event_count(event) for event in events_before}
    deadline = time.monotonic() + timeout
    patched = cluster.set_action(name, action)
    if not _wait_until_removed(cluster, name, action, patched, deadline):
        raise CommandError(
            f"the kcanary controller has not taken {action} within {timeout:.0f}s: check that it "
            f"is running. The request stays on the InferenceService until it does; withdraw it "
            f"with: kubectl annotate inferenceservice {name} -n {cluster.namespace} {ACTION}-"
        )
    taken = _new_record(cluster.rollout(name), action, records_before)
    if taken is not None:
        return Answer(True, taken[2] or f"{action} recorded at {taken[1]}")
    refusal = _refusal(cluster, name, action, seen, time.monotonic() + REFUSAL_GRACE)
    if refusal is not None:
        return Answer(False, refusal)
    earlier = [record for record in records_before if record[0] == action]
    repeat = (
        f" the controller takes a request in the same second as the {action} recorded at "
        f"{max(earlier)[1]} for that one, so wait a second and ask again; or"
        if earlier
        else ""
    )
    return Answer(
        False,
        f"the {ACTION} annotation was removed, but the controller recorded no new {action}:"
        f"{repeat} someone else removed it (kubectl get events -n {cluster.namespace} "
        f"--field-selector involvedObject.name={name})",
    )


def records(rollout: Mapping[str, Any] | None) -> Counter[Record]:
    """Every manual action recorded in the rollout's history (twice if recorded twice)."""
    status: Mapping[str, Any] = (rollout or {}).get("status") or {}
    found: Counter[Record] = Counter()
    for entry in status.get("history") or ():
        for record in entry.get("actions") or ():
            action, at = str(record.get("action")), str(record.get("at"))
            found[(action, at, str(record.get("message", "")))] += 1
    return found


def _new_record(rollout: JsonObject | None, action: str, before: Counter[Record]) -> Record | None:
    """The newest record of `action` that was not there before the request."""
    fresh = [
        record
        for record, count in records(rollout).items()
        if record[0] == action and count > before[record]
    ]
    return max(fresh, key=lambda record: record[1]) if fresh else None


def _wait_until_removed(
    cluster: Cluster, name: str, action: str, patched: JsonObject, deadline: float
) -> bool:
    """Follow the ISVC until the annotation no longer asks for `action`; False at the deadline."""
    version = str(patched["metadata"]["resourceVersion"])

    def current() -> tuple[list[JsonObject], str]:
        found = cluster.isvc(name)
        return [found], str(found["metadata"]["resourceVersion"])

    listed = [False]

    def listing() -> tuple[list[JsonObject], str]:
        # The first listing is the patch's answer itself, so a removal between the patch and
        # the watch cannot be missed; after a 410, read the ISVC again.
        if listed[0]:
            return current()
        listed[0] = True
        return [patched], version

    changes = follow(
        listing, lambda since, seconds: cluster.watch_isvc(name, since, seconds), until=deadline
    )
    for kind, isvc in changes:
        if kind == "DELETED":
            raise CommandError(f'InferenceService "{name}" was deleted while waiting for {action}')
        if annotations_of(isvc).get(ACTION) != action:
            return True
    return False


def _refusal(
    cluster: Cluster, name: str, action: str, seen: Mapping[str, int], deadline: float
) -> str | None:
    """The message of a Warning Event about `action` that was not there before the request."""
    for kind, event in follow_events(cluster, name, until=deadline):
        if kind == "DELETED" or event.get("type") != "Warning":
            continue
        if seen.get(_event_key(event), 0) >= _event_count(event):
            continue
        message = str(event.get("message", ""))
        if _about(message, action):
            return message
    return None


def _about(message: str, action: str) -> bool:
    """The controller starts a refusal with the action (`pause: ...`) or quotes it."""
    return message.startswith(f"{action}:") or f'"{action}"' in message


def _event_key(event: Mapping[str, Any]) -> str:
    return str((event.get("metadata") or {}).get("name", ""))


def _event_count(event: Mapping[str, Any]) -> int:
    return int(event.get("count") or 1)

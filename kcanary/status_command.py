"""`kcanary status NAME`: wait for the current rollout to end and say how, in the exit code.

Like `kubectl rollout status`, it follows the object through the API's watch, prints a line
whenever the rollout moves, and ends with one line saying how it ended. A status written for an
older generation of the ISVC does not count: the controller has not yet seen the latest change,
so a rollout about to start is not mistaken for a finished one.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from kcanary.command_errors import reports_errors
from kcanary.flags import parse_duration
from kcanary.kube import add_cluster_flags, connect
from kcanary.rollout_feed import follow_rollouts
from kcanary.rollout_view import invalid_spec, model_of


class StatusCode(IntEnum):
    """Exit codes of `kcanary status`."""

    PROMOTED = 0
    ROLLED_BACK = 1
    INVALID = 2
    TIMED_OUT = 3


EPILOG = """exit codes:
  0  promoted, or Stable with nothing rolling out
  1  rolled back or aborted (or the command failed: no cluster, unknown InferenceService)
  2  the strategy is invalid (condition Ready=False, reason InvalidSpec)
  3  timed out before the rollout ended (--timeout)
"""


@dataclass(frozen=True)
class Ending:
    """How the rollout ended: the exit code and the one line that says why."""

    code: StatusCode
    line: str


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "status",
        help="wait for the current rollout to end; the exit code says how it ended",
        description=(
            "Wait until the current rollout of the InferenceService ends, printing a line "
            "whenever it moves, and exit with a code that says how it ended."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("name", metavar="NAME", help="the InferenceService")
    parser.add_argument(
        "--timeout",
        type=parse_duration,
        default=0.0,
        metavar="DURATION",
        help="give up after this long, e.g. 10m (default: 0, wait until the rollout ends)",
    )
    add_cluster_flags(parser)
    parser.set_defaults(func=run)


@reports_errors
def run(args: argparse.Namespace) -> int:
    cluster = connect(args)
    try:
        isvc = cluster.managed_isvc(args.name)
        generation = (isvc.get("metadata") or {}).get("generation")
        started = time.monotonic()
        until = started + args.timeout if args.timeout > 0 else None
        last_line = ""
        current: Mapping[str, Any] | None = None
        for kind, rollout in follow_rollouts(cluster, name=args.name, until=until):
            current = None if kind == "DELETED" else rollout
            end = ending(current, generation)
            if end is not None:
                print(end.line)
                return end.code
            line = progress_line(current, generation)
            if line != last_line:
                print(line, flush=True)
                last_line = line
        waited = time.monotonic() - started
        print(f"timed out after {waited:.0f}s: {progress_line(current, generation)}")
        return StatusCode.TIMED_OUT
    finally:
        cluster.close()


def ending(rollout: Mapping[str, Any] | None, generation: object) -> Ending | None:
    """How the rollout ended, or None while it goes on (or the controller is behind)."""
    if rollout is None:
        return None
    status: Mapping[str, Any] = rollout.get("status") or {}
    invalid = invalid_spec(status)
    if invalid is not None:
        return Ending(StatusCode.INVALID, f"invalid strategy: {invalid}")
    if _behind(status, generation):
        return None
    phase = status.get("phase")
    entries = status.get("history") or []
    last: Mapping[str, Any] = entries[-1] if entries else {}
    model = model_of(last) if last else model_of(status.get("stable"))
    reason = str(last.get("reason") or status.get("message") or "")
    if phase == "Stable":
        if last.get("outcome") == "promoted":
            return Ending(StatusCode.PROMOTED, _sentence(f"promoted {model}", reason))
        stable = model_of(status.get("stable"))
        return Ending(StatusCode.PROMOTED, f"stable on {stable}: nothing is rolling out")
    if phase == "RolledBack":
        return Ending(StatusCode.ROLLED_BACK, _sentence(f"rolled back {model}", reason))
    if phase == "Aborted":
        return Ending(StatusCode.ROLLED_BACK, _sentence(f"aborted {model}", reason))
    return None


def progress_line(rollout: Mapping[str, Any] | None, generation: object) -> str:
    """Where the rollout is, for the lines printed while waiting."""
    if rollout is None:
        return "waiting for the kcanary controller to create the InferenceRollout"
    status: Mapping[str, Any] = rollout.get("status") or {}
    if _behind(status, generation):
        return f"waiting for the kcanary controller to see generation {generation}"
    phase = str(status.get("phase") or "Initializing")
    parts = [phase]
    if phase in ("Progressing", "Paused"):
        parts.append(f"step {int(status.get('currentStep') or 0) + 1}")
        parts.append(f"{int(status.get('canaryWeight') or 0)}% to {model_of(status.get('canary'))}")
        verdict = (status.get("lastAnalysis") or {}).get("verdict")
        if verdict:
            parts.append(f"analysis {verdict}")
    line = ", ".join(parts)
    message = str(status.get("message") or "")
    return f"{line}: {message}" if message else line


def _behind(status: Mapping[str, Any], generation: object) -> bool:
    observed = status.get("observedGeneration")
    if observed is None or not isinstance(generation, int):
        return False
    return int(observed) < generation


def _sentence(head: str, reason: str) -> str:
    return f"{head}: {reason}" if reason else head

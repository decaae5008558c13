"""How a command fails: one line on stderr that says what to do, and an exit code.

Every failure a person can cause or fix (no cluster, a wrong name, an ISVC kcanary does not
manage) becomes a `CommandError`; `reports_errors` wraps a command so that it, and whatever the
Kubernetes client raises (API errors, connection errors), is printed as `error: ...` instead of
a traceback.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
from collections.abc import Callable

import urllib3
from kubernetes.client.exceptions import ApiException

FAILED = 1
"""Exit code of a command that could not do what was asked (kubectl's)."""
BAD_INPUT = 2
"""Exit code of a command given input it cannot use, as argparse exits on a usage error."""


class CommandError(Exception):
    """A failure the user can act on: one line saying what to do, and the exit code."""

    def __init__(self, message: str, code: int = FAILED) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def reports_errors(
    func: Callable[[argparse.Namespace], int],
) -> Callable[[argparse.Namespace], int]:
    """Turn a command's failures into `error: ...` on stderr and an exit code, never a traceback."""

    @functools.wraps(func)
    def run(args: argparse.Namespace) -> int:
        try:
            return func(args)
        except BrokenPipeError:
            # `kcanary get -w | head`: the reader is gone, which is no error of ours.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return 141
        except CommandError as error:
            print(f"error: {error.message}", file=sys.stderr)
            return error.code
        except ApiException as error:
            print(f"error: {describe_api_error(error)}", file=sys.stderr)
            return FAILED
        except (urllib3.exceptions.HTTPError, OSError) as error:
            print(f"error: {describe_connection_error(error)}", file=sys.stderr)
            return FAILED

    return run


def describe_api_error(error: ApiException) -> str:
    """The API server's own message (from its Status body) and what to do about it."""
    message = str(error.reason or "")
    try:
        body = json.loads(error.body or "")
        message = str(body.get("message") or message)
    except (TypeError, ValueError):
        pass
    if error.status in (401, 403):
        return f"the API server refused: {message}: check your credentials and RBAC"
    return f"the API server answered {error.status}: {message}"


def describe_connection_error(error: Exception) -> str:
    reason = getattr(error, "reason", None) or error
    return (
        f"cannot reach the Kubernetes API server ({reason}): is the cluster running, and are "
        "--kubeconfig and --context right?"
    )

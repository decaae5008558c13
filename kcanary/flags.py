"""Command-line flags that can also come from the environment as `KCANARY_<FLAG>`.

`--prometheus-url` is also read from `KCANARY_PROMETHEUS_URL`, and so on: a Deployment can set
every flag from a ConfigMap or Secret without templating its command line. A flag given on the
command line wins over the environment. Durations are read as the annotations read them
(rollout.durations), so `30` is refused here as it is there.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from typing import Any

from rollout.durations import DurationError
from rollout.durations import parse_duration as annotation_duration


def parse_duration(text: str) -> float:
    """`1h30m`, `2m`, `30s`, `1.5s`, `500ms` -> seconds, read as annotations are read (a bare
    number is refused: `30` could be seconds or minutes), so a flag and an annotation accept the
    same durations and refuse the same ones with the same message."""
    try:
        return annotation_duration(text).total_seconds()
    except DurationError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def env_name(flag: str) -> str:
    return "KCANARY_" + flag.lstrip("-").replace("-", "_").upper()


def add_env_flag(
    parser: argparse.ArgumentParser | Any,
    flag: str,
    *,
    environ: Mapping[str, str] | None = None,
    **kwargs: Any,
) -> None:
    """Add `flag` whose default comes from `KCANARY_<FLAG>` when that is set."""
    env = os.environ if environ is None else environ
    name = env_name(flag)
    help_text = kwargs.pop("help", "")
    kwargs["help"] = f"{help_text} [env {name}]".strip()
    # A repeatable flag's variable holds several values, comma-separated unless told otherwise
    # (a header value may itself hold commas).
    separator = kwargs.pop("env_separator", ",")
    if name in env:
        raw = env[name]
        action = kwargs.get("action")
        convert = kwargs.get("type")
        try:
            if action == "append":
                items = [item for item in raw.split(separator) if item.strip()]
                kwargs["default"] = [convert(item) if convert else item for item in items]
            elif isinstance(action, type) and issubclass(action, argparse.BooleanOptionalAction):
                kwargs["default"] = raw.strip().lower() in ("1", "true", "yes", "on")
            else:
                kwargs["default"] = convert(raw) if convert else raw
        except (argparse.ArgumentTypeError, ValueError) as exc:
            raise SystemExit(f"kcanary: environment variable {name}={raw!r}: {exc}") from exc
        kwargs.pop("required", None)
    parser.add_argument(flag, **kwargs)


def parse_address(text: str) -> tuple[str, int]:
    """`:8080` or `127.0.0.1:8080` -> (host, port); an empty host means all interfaces."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(
            f"invalid address {text!r}: use HOST:PORT or :PORT, e.g. :8080"
        )
    return (host or "0.0.0.0", int(port))

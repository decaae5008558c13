"""The rollout a log line is about, as fields of its own: ``namespace``, ``name``, ``revision``
(the canary's hash, when there is a canary) and ``phase``.

A reconcile runs in :func:`about_rollout`, which records the rollout for the thread that runs
it; :func:`note_state` adds the revision and phase once the status is read and again once the
transition has decided them. Every logger made by :func:`rollout_logger` copies these into the
record's ``fields``, which ``--log-format json`` writes as keys, so a collector can select one
rollout's lines without parsing messages. Outside a reconcile it adds nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from rollout.state import RolloutState

__all__ = ["RolloutLogger", "about_rollout", "note_state", "rollout_logger"]

_current: ContextVar[dict[str, Any] | None] = ContextVar("kcanary_rollout_fields", default=None)


@contextmanager
def about_rollout(namespace: str, name: str) -> Iterator[None]:
    """Lines logged inside are about the rollout of ISVC ``namespace/name``."""
    token = _current.set({"namespace": namespace, "name": name, "revision": None, "phase": None})
    try:
        yield
    finally:
        _current.reset(token)


def note_state(state: RolloutState) -> None:
    """The rollout's phase and canary revision from now on in this reconcile."""
    fields = _current.get()
    if fields is None:
        return
    revision = state.canary.hash if state.canary is not None else None
    _current.set({**fields, "revision": revision, "phase": state.phase.value})


class RolloutLogger(logging.LoggerAdapter[logging.Logger]):
    """Adds the current rollout's fields to every record; a call's own fields win."""

    def process(
        self, msg: Any, kwargs: MutableMapping[str, Any]
    ) -> tuple[Any, MutableMapping[str, Any]]:
        fields = _current.get()
        if fields is None:
            return msg, kwargs
        extra = dict(kwargs.get("extra") or {})
        extra["fields"] = {**fields, **(extra.get("fields") or {})}
        kwargs["extra"] = extra
        return msg, kwargs


def rollout_logger(name: str) -> RolloutLogger:
    """The module ``name``'s logger, with the rollout's fields on each line."""
    return RolloutLogger(logging.getLogger(name))

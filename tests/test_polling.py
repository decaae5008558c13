"""The tests' shared wait: the value it returns, how it fails, and that it keeps its deadline."""

from __future__ import annotations

import itertools
import time

import pytest
from polling import wait_until


def test_returns_the_first_truthy_value_of_the_condition() -> None:
    answers = iter([None, {}, {"phase": "Stable"}])
    assert wait_until(lambda: next(answers), 5, interval_s=0.001) == {"phase": "Stable"}


def test_a_condition_true_at_once_is_checked_once() -> None:
    checks = itertools.count(1)
    assert wait_until(lambda: next(checks)) == 1
    assert next(checks) == 2


def test_times_out_naming_what_was_awaited() -> None:
    with pytest.raises(AssertionError, match=r"^not within 0\.05s: the canary to be ready$"):
        wait_until(lambda: False, 0.05, "the canary to be ready", interval_s=0.01)


def test_a_callable_message_is_made_only_on_failure_and_shows_the_last_state() -> None:
    seen: list[int] = []
    made: list[str] = []

    def message() -> str:
        made.append(f"weights {seen[-1]}")
        return made[-1]

    def reaches_three() -> bool:
        seen.append(len(seen))
        return len(seen) == 3

    assert wait_until(reaches_three, 5, message, interval_s=0.001)
    assert made == []
    with pytest.raises(AssertionError, match=r"weights \d+$"):
        wait_until(lambda: seen.append(len(seen)), 0.05, message, interval_s=0.01)
    assert made == [f"weights {seen[-1]}"]


def test_without_a_message_the_condition_is_named() -> None:
    def canary_ready() -> bool:
        return False

    with pytest.raises(AssertionError, match=r"canary_ready$"):
        wait_until(canary_ready, 0.01, interval_s=0.005)


def test_never_sleeps_past_the_deadline() -> None:
    started = time.monotonic()
    with pytest.raises(AssertionError):
        wait_until(lambda: False, 0.1, "nothing", interval_s=30)
    # An interval longer than the timeout is cut to the time left (slack for a busy machine).
    assert time.monotonic() - started < 5


def test_the_condition_is_checked_once_more_at_the_deadline() -> None:
    checks: list[float] = []
    deadline = time.monotonic() + 0.1
    with pytest.raises(AssertionError):
        wait_until(lambda: checks.append(time.monotonic()), 0.1, "nothing", interval_s=30)
    assert len(checks) >= 2
    assert checks[-1] >= deadline

"""`kcanary history`: which model went live when, and why."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from cli_controller_double import ControllerDouble
from cli_harness import Kcanary
from polling import wait_until


def two_rollouts(
    kcanary: Kcanary,
    controller: ControllerDouble,
    make_isvc: Callable[..., dict[str, Any]],
    change_model: Callable[[str, str], None],
) -> None:
    """v2 aborted by hand, then v3 promoted by hand."""
    make_isvc("iris", "s3://models/iris/v1")
    controller.reconcile("iris")
    change_model("iris", "s3://models/iris/v2")
    controller.reconcile("iris")
    assert kcanary("abort", "iris").code == 0
    wait_until(lambda: controller.reconcile("iris")["phase"] == "Aborted")
    change_model("iris", "s3://models/iris/v3")
    controller.reconcile("iris")
    assert kcanary("pause", "iris").code == 0
    assert kcanary("promote", "iris", "--full").code == 0
    wait_until(lambda: controller.reconcile("iris")["phase"] == "Stable")


def test_history_lists_each_rollout_with_outcome_reason_model_start_and_duration(
    kcanary: Kcanary,
    controller: ControllerDouble,
    make_isvc: Callable[..., dict[str, Any]],
    change_model: Callable[[str, str], None],
) -> None:
    two_rollouts(kcanary, controller, make_isvc, change_model)

    result = kcanary("history", "iris")

    assert result.code == 0, result.err
    header, *rows = result.out.splitlines()
    assert header.split() == ["#", "REVISION", "MODEL", "OUTCOME", "STARTED", "DURATION", "REASON"]
    assert len(rows) == 2
    first, second = (row.split(maxsplit=6) for row in rows)
    assert first[0] == "1" and first[2:4] == ["s3://models/iris/v2", "aborted"]
    assert first[6] == "aborted by someone@example.com"
    assert second[0] == "2" and second[2:4] == ["s3://models/iris/v3", "promoted"]
    assert second[4].endswith("Z")
    assert second[5].endswith("s")


def test_history_wide_shows_the_manual_actions_and_json_the_stored_entries(
    kcanary: Kcanary,
    controller: ControllerDouble,
    make_isvc: Callable[..., dict[str, Any]],
    change_model: Callable[[str, str], None],
    rollout_status: Callable[[str], dict[str, Any]],
) -> None:
    two_rollouts(kcanary, controller, make_isvc, change_model)

    wide = kcanary("history", "iris", "-o", "wide")
    as_json = kcanary("history", "iris", "-o", "json")

    last = wide.out.splitlines()[-1]
    assert "pause (someone@example.com, " in last
    assert "; promote-full (someone@example.com, " in last
    assert json.loads(as_json.out) == rollout_status("iris")["history"]


def test_history_of_an_isvc_that_never_rolled_out_says_so(
    kcanary: Kcanary, controller: ControllerDouble, make_isvc: Callable[..., dict[str, Any]]
) -> None:
    make_isvc("iris")
    controller.reconcile("iris")

    result = kcanary("history", "iris")

    assert result.code == 0
    assert result.out.strip() == "No rollouts of iris yet."


def test_history_of_a_rollout_under_way_shows_it_in_progress(
    kcanary: Kcanary,
    controller: ControllerDouble,
    make_isvc: Callable[..., dict[str, Any]],
    change_model: Callable[[str, str], None],
) -> None:
    make_isvc("iris", "s3://models/iris/v1")
    controller.reconcile("iris")
    change_model("iris", "s3://models/iris/v2")
    controller.reconcile("iris")

    result = kcanary("history", "iris")

    row = result.out.splitlines()[1]
    assert "in progress" in row
    assert " so far" in row

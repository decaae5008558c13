"""With ``--log-format json``, each line the reconciler logs about a rollout names it in fields of
its own: namespace, name, the canary's revision hash and the phase."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from reconcile_world import NAMESPACE, World

from kcanary.log_format import JsonFormatter
from traffic.store import StoreUnavailable

V1, V2 = "s3://models/iris/v1", "s3://models/iris/v2"


def json_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    formatter = JsonFormatter()
    return [json.loads(formatter.format(record)) for record in caplog.records]


def test_every_line_of_a_rollout_carries_its_namespace_name_revision_and_phase(
    caplog: pytest.LogCaptureFixture,
) -> None:
    world = World()
    world.add_isvc("iris", V1)
    world.run("iris", lambda w: w.phase("iris") == "Stable")
    world.deploy("iris", V2)
    with caplog.at_level(logging.DEBUG, logger="reconcile"):
        world.run("iris", lambda w: w.status("iris")["stable"]["storageUri"] == V2)
    canary = world.status("iris")["stable"]["revision"]  # promoted: the canary is stable now

    lines = json_lines(caplog)
    for line in lines:
        assert (line["namespace"], line["name"]) == (NAMESPACE, "iris"), line
        assert set(line) >= {"revision", "phase"}, line
    analysis = [line for line in lines if "analysis at" in line["message"]]
    assert [line["weight"] for line in analysis] == [10, 25, 50]  # the line's own fields stay
    for line in analysis:
        assert (line["revision"], line["phase"], line["verdict"]) == (canary, "Progressing", "Pass")


def test_a_failed_reconcile_is_logged_with_its_rollout_and_other_lines_name_none(
    caplog: pytest.LogCaptureFixture,
) -> None:
    world = World()
    world.add_isvc("iris", V1)
    world.store.fail_next(StoreUnavailable("the API server is unreachable"))
    with caplog.at_level(logging.INFO, logger="reconcile"):
        outcome = world.reconcile("iris")
        logging.getLogger("reconcile.reconciler").info("not about a rollout")
    assert outcome.error is not None
    failed, outside = json_lines(caplog)
    assert failed["message"] == "models/iris: the API server is unreachable"
    assert (failed["namespace"], failed["name"], failed["level"]) == (NAMESPACE, "iris", "warning")
    assert not {"namespace", "name", "revision", "phase"} & set(outside)

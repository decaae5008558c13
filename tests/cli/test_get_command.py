"""`kcanary get`: the rollouts of a namespace, and one rollout with its evidence and Events."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import yaml
from cli_controller_double import ControllerDouble
from cli_harness import Kcanary

from rollout import AnalysisResult, Verdict

ERROR_RATE_CHECK = {
    "name": "error-rate",
    "metric": "error-rate",
    "verdict": "Inconclusive",
    "stable": 0.01,
    "canary": 0.0125,
    "effect": 0.0025,
    "interval": [-0.004, 0.009],
    "evalue": 1.7,
    "threshold": 40.0,
    "samples": {"stable": 1200, "canary": 130},
}
LATENCY_CHECK = {
    "name": "latency",
    "metric": "latency-p99",
    "verdict": "Pass",
    "stable": 0.120,
    "canary": 0.118,
    "effect": -0.002,
    "interval": [None, 0.004],
    "evalue": 0.4,
    "threshold": 40.0,
    "samples": {"stable": 1200, "canary": 130},
}


def start_rollout(
    controller: ControllerDouble,
    make_isvc: Callable[..., dict[str, Any]],
    change_model: Callable[[str, str], None],
    name: str,
) -> dict[str, Any]:
    make_isvc(name, "s3://models/iris/v1")
    controller.reconcile(name)
    change_model(name, "s3://models/iris/v2")
    status = controller.reconcile(name)
    assert status["phase"] == "Progressing", status
    return status


def test_get_lists_the_rollouts_of_the_namespace(
    kcanary: Kcanary,
    controller: ControllerDouble,
    make_isvc: Callable[..., dict[str, Any]],
    change_model: Callable[[str, str], None],
) -> None:
    start_rollout(controller, make_isvc, change_model, "iris")
    make_isvc("wine", "s3://models/wine/v3")
    controller.reconcile("wine")

    result = kcanary("get")

    assert result.code == 0, result.err
    header, *rows = result.out.splitlines()
    assert header.split() == [
        "NAME", "PHASE", "WEIGHT", "STEP", "CANARY", "STABLE", "VERDICT", "AGE"
    ]  # fmt: skip
    by_name = {row.split()[0]: row.split() for row in rows}
    assert by_name["iris"][1:6] == [
        "Progressing", "10%", "1", "s3://models/iris/v2", "s3://models/iris/v1"
    ]  # fmt: skip
    assert by_name["wine"][1:4] == ["Stable", "0%", "-"]


def test_get_wide_adds_the_message_and_all_namespaces_adds_the_namespace(
    kcanary: Kcanary,
    controller: ControllerDouble,
    make_isvc: Callable[..., dict[str, Any]],
    namespace: str,
) -> None:
    make_isvc("iris")
    controller.reconcile("iris")

    wide = kcanary("get", "-o", "wide")
    everywhere = kcanary("get", "-A")

    assert wide.code == 0
    assert wide.out.splitlines()[0].split()[-1] == "MESSAGE"
    assert "stable at " in wide.out
    assert everywhere.code == 0
    assert everywhere.out.splitlines()[0].split()[0] == "NAMESPACE"
    assert any(line.split()[:2] == [namespace, "iris"] for line in everywhere.out.splitlines())


def test_get_name_shows_phase_step_weight_revisions_checks_and_events(
    kcanary: Kcanary,
    controller: ControllerDouble,
    make_isvc: Callable[..., dict[str, Any]],
    change_model: Callable[[str, str], None],
) -> None:
    status = start_rollout(controller, make_isvc, change_model, "iris")
    canary = status["canary"]["revision"]
    controller.analyse(
        "iris",
        AnalysisResult(
            revision=canary,
            time=datetime.now(UTC),
            verdict=Verdict.INCONCLUSIVE,
            checks=(ERROR_RATE_CHECK, LATENCY_CHECK),
        ),
    )

    result = kcanary("get", "iris")

    assert result.code == 0, result.err
    fields = dict(
        line.split(":", 1) for line in result.out.split("\n\n")[0].splitlines() if ":" in line
    )
    assert fields["Phase"].strip() == "Progressing"
    assert fields["Step"].strip() == "1/3 (steps 10,25,50)"
    assert fields["Weight"].strip() == "10% to the canary"
    assert fields["Canary"].strip().startswith(f"s3://models/iris/v2 (revision {canary}, sklearn")
    assert fields["Stable"].strip().startswith("s3://models/iris/v1 (revision ")
    assert fields["Analysis"].strip().startswith("Inconclusive")
    checks = result.out.split("Checks:")[1].split("Events:")[0]
    assert "error-rate   error-rate    Inconclusive   +0.0025   [-0.004, +0.009]" in checks
    assert "latency      latency-p99   Pass           -0.002    [-inf, +0.004]" in checks
    events = result.out.split("Events:")[1]
    assert "RolloutStarted" in events
    assert "step 1/3: 10% of traffic to canary" in events


def test_get_wide_shows_the_evidence_of_every_check(
    kcanary: Kcanary,
    controller: ControllerDouble,
    make_isvc: Callable[..., dict[str, Any]],
    change_model: Callable[[str, str], None],
) -> None:
    status = start_rollout(controller, make_isvc, change_model, "iris")
    result = AnalysisResult(
        status["canary"]["revision"], datetime.now(UTC), Verdict.INCONCLUSIVE, (ERROR_RATE_CHECK,)
    )
    controller.analyse("iris", result)

    wide = kcanary("get", "iris", "-o", "wide")

    checks = wide.out.split("Checks:")[1].split("Events:")[0].splitlines()
    assert checks[1].split()[-5:] == ["STABLE", "CANARY", "E-VALUE", "THRESHOLD", "SAMPLES"]
    assert checks[2].split()[-5:] == ["0.01", "0.0125", "1.7", "40", "canary=130/stable=1200"]


def test_get_name_output_json_and_yaml_are_the_stored_inference_rollout(
    kcanary: Kcanary,
    controller: ControllerDouble,
    make_isvc: Callable[..., dict[str, Any]],
    rollout_status: Callable[[str], dict[str, Any]],
) -> None:
    make_isvc("iris")
    controller.reconcile("iris")

    as_json = kcanary("get", "iris", "-o", "json")
    as_yaml = kcanary("get", "iris", "-o", "yaml")

    assert as_json.code == 0 and as_yaml.code == 0
    assert json.loads(as_json.out)["kind"] == "InferenceRollout"
    assert json.loads(as_json.out)["status"] == rollout_status("iris")
    assert yaml.safe_load(as_yaml.out)["status"] == rollout_status("iris")


def test_get_list_output_json_is_a_list(
    kcanary: Kcanary, controller: ControllerDouble, make_isvc: Callable[..., dict[str, Any]]
) -> None:
    make_isvc("iris")
    controller.reconcile("iris")

    result = kcanary("get", "-o", "json")

    document = json.loads(result.out)
    assert document["kind"] == "List"
    assert [item["metadata"]["name"] for item in document["items"]] == ["iris"]


def test_get_before_the_controller_wrote_a_status_says_so(
    kcanary: Kcanary, make_isvc: Callable[..., dict[str, Any]]
) -> None:
    make_isvc("iris")

    shown = kcanary("get", "iris")
    as_yaml = kcanary("get", "iris", "-o", "yaml")
    listed = kcanary("get")

    assert shown.code == 0
    assert "the controller has not picked this InferenceService up yet" in shown.out
    assert as_yaml.code == 1
    assert "check that the controller is running" in as_yaml.err
    assert listed.code == 0 and listed.out == ""
    assert "No rollouts found in" in listed.err


def test_get_shows_why_a_strategy_cannot_be_used(
    kcanary: Kcanary, controller: ControllerDouble, make_isvc: Callable[..., dict[str, Any]]
) -> None:
    make_isvc("iris", annotations={"kcanary.io/strategy": "canary", "kcanary.io/steps": "10,x"})
    controller.reconcile("iris")

    result = kcanary("get", "iris")

    assert result.code == 0
    invalid = next(line for line in result.out.splitlines() if line.startswith("Invalid:"))
    assert "kcanary.io/steps" in invalid
    assert "InvalidSpec" in result.out.split("Events:")[1]

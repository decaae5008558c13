"""`kcanary promote|abort|pause|resume|retry`: the request is the ISVC annotation, and the
command returns only once the controller has taken it (exit 0) or said why not (exit 1)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from cli_controller_double import ControllerDouble
from cli_harness import ISVC_API, Kcanary
from kubernetes import client as k8s_client
from polling import wait_until

from rollout import AnalysisResult, Verdict

ACTION = "kcanary.io/action"


@pytest.fixture
def in_rollout(
    controller: ControllerDouble,
    make_isvc: Callable[..., dict[str, Any]],
    change_model: Callable[[str, str], None],
) -> dict[str, Any]:
    """`iris` at step 1/3 (10%) of rolling out v2 over stable v1."""
    make_isvc("iris", "s3://models/iris/v1")
    controller.reconcile("iris")
    change_model("iris", "s3://models/iris/v2")
    status = controller.reconcile("iris")
    assert status["phase"] == "Progressing" and status["canaryWeight"] == 10
    return status


def isvc_annotations(custom: k8s_client.CustomObjectsApi, namespace: str) -> dict[str, str]:
    isvc: Any = custom.get_namespaced_custom_object(*ISVC_API[:2], namespace, ISVC_API[2], "iris")
    return dict(isvc["metadata"].get("annotations") or {})


def recorded_actions(status: dict[str, Any]) -> list[str]:
    return [record["action"] for entry in status["history"] for record in entry["actions"]]


def test_pause_then_resume_are_taken_and_recorded(
    kcanary: Kcanary,
    in_rollout: dict[str, Any],
    rollout_status: Callable[[str], dict[str, Any]],
    custom: k8s_client.CustomObjectsApi,
    namespace: str,
) -> None:
    paused = kcanary("pause", "iris")
    assert paused.code == 0, paused.err
    assert paused.out.strip() == (
        "pause taken: pause by someone@example.com: paused by someone@example.com at step 1/3 "
        "(10%) until resumed"
    )
    assert rollout_status("iris")["phase"] == "Paused"
    assert ACTION not in isvc_annotations(custom, namespace)

    resumed = kcanary("resume", "iris")
    assert resumed.code == 0, resumed.err
    assert resumed.out.startswith("resume taken: ")
    assert rollout_status("iris")["phase"] == "Progressing"
    assert recorded_actions(rollout_status("iris")) == ["pause", "resume"]


def test_promote_moves_to_the_next_step_and_full_promotes_at_once(
    kcanary: Kcanary, in_rollout: dict[str, Any], rollout_status: Callable[[str], dict[str, Any]]
) -> None:
    promoted = kcanary("promote", "iris")
    assert promoted.code == 0, promoted.err
    assert promoted.out.strip().endswith(
        "step 2/3: 25% of traffic to canary " + _canary(in_rollout)
    )
    assert rollout_status("iris")["canaryWeight"] == 25

    full = kcanary("promote", "iris", "--full")
    assert full.code == 0, full.err
    assert full.out.startswith("promote-full taken: ")
    # Taken means Promoting; the controller goes on to Stable on its own.
    wait_until(lambda: rollout_status("iris")["phase"] == "Stable")
    assert rollout_status("iris")["stable"]["storageUri"] == "s3://models/iris/v2"


def test_abort_then_retry_rolls_the_same_canary_out_again(
    kcanary: Kcanary, in_rollout: dict[str, Any], rollout_status: Callable[[str], dict[str, Any]]
) -> None:
    aborted = kcanary("abort", "iris")
    assert aborted.code == 0, aborted.err
    assert aborted.out.startswith("abort taken: abort by someone@example.com")
    wait_until(lambda: rollout_status("iris")["phase"] == "Aborted")  # once traffic is back

    retried = kcanary("retry", "iris")
    assert retried.code == 0, retried.err
    status = rollout_status("iris")
    assert status["phase"] == "Progressing"
    assert status["canary"]["revision"] == _canary(in_rollout)


@pytest.mark.parametrize(
    ("command", "why"),
    [
        (("pause",), "error: pause refused: no rollout to pause (phase Stable)"),
        (("resume",), "error: resume refused: rollout is not paused (phase Stable)"),
        (("abort",), "error: abort refused: no rollout to abort (phase Stable)"),
        (
            ("promote", "--full"),
            "error: promote-full refused: no rollout to promote (phase Stable)",
        ),
        (
            ("retry",),
            "error: retry refused: nothing to retry: only a rolled back or aborted rollout can be "
            "retried (phase Stable)",
        ),
    ],
)
def test_an_action_that_does_not_apply_exits_1_with_the_controllers_reason(
    kcanary: Kcanary,
    controller: ControllerDouble,
    make_isvc: Callable[..., dict[str, Any]],
    custom: k8s_client.CustomObjectsApi,
    namespace: str,
    command: tuple[str, ...],
    why: str,
) -> None:
    make_isvc("iris")
    controller.reconcile("iris")

    result = kcanary(*command, "iris")

    assert result.code == 1
    assert result.err.strip() == why
    assert ACTION not in isvc_annotations(custom, namespace)


def test_the_same_refusal_twice_is_reported_twice(
    kcanary: Kcanary, in_rollout: dict[str, Any]
) -> None:
    assert kcanary("pause", "iris").code == 0

    first = kcanary("pause", "iris")
    second = kcanary("pause", "iris")

    assert first.code == second.code == 1
    assert first.err == second.err == "error: pause refused: the rollout is already paused\n"


def test_without_a_controller_the_request_stays_and_the_command_says_how_to_withdraw_it(
    kcanary: Kcanary,
    make_isvc: Callable[..., dict[str, Any]],
    kube_api_client: k8s_client.ApiClient,
    custom: k8s_client.CustomObjectsApi,
    namespace: str,
) -> None:
    make_isvc("iris")
    ControllerDouble(kube_api_client, namespace).reconcile("iris")  # once, then it is gone

    result = kcanary("pause", "iris", "--timeout", "1s")

    assert result.code == 1
    assert "the kcanary controller has not taken pause within 1s" in result.err
    assert f"kubectl annotate inferenceservice iris -n {namespace} {ACTION}-" in result.err
    assert isvc_annotations(custom, namespace)[ACTION] == "pause"


def test_an_annotation_removed_without_an_answer_is_not_reported_as_taken(
    kcanary: Kcanary, in_rollout: dict[str, Any], controller: ControllerDouble
) -> None:
    controller.refuse_silently = True

    result = kcanary("pause", "iris", "--timeout", "2s")

    assert result.code == 1
    assert "the controller recorded no new pause: someone else removed it" in result.err


def test_an_action_on_an_isvc_the_controller_never_picked_up_is_not_sent(
    kcanary: Kcanary,
    make_isvc: Callable[..., dict[str, Any]],
    custom: k8s_client.CustomObjectsApi,
    namespace: str,
) -> None:
    make_isvc("iris")

    result = kcanary("promote", "iris")

    assert result.code == 1
    assert "has no rollout state yet" in result.err
    assert ACTION not in isvc_annotations(custom, namespace)


def test_a_harmful_canary_cannot_be_promoted_once_it_is_rolled_back(
    kcanary: Kcanary, in_rollout: dict[str, Any], controller: ControllerDouble
) -> None:
    fail = AnalysisResult(_canary(in_rollout), datetime.now(UTC), Verdict.FAIL, ())
    assert controller.analyse("iris", fail)["phase"] == "RolledBack"

    result = kcanary("promote", "iris")

    assert result.code == 1
    assert result.err.startswith("error: promote refused: no rollout to promote (phase RolledBack)")


def _canary(status: dict[str, Any]) -> str:
    return str(status["canary"]["revision"])

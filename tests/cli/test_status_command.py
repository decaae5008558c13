"""`kcanary status`: waits for the current rollout to end and says how in its exit code."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cli_controller_double import ControllerDouble
from cli_harness import ISVC_API, Kcanary, Result
from kubernetes import client as k8s_client
from polling import wait_until

from kcanary.status_command import StatusCode, ending
from rollout import AnalysisResult, Verdict

HARM = {
    "name": "error-rate",
    "metric": "error-rate",
    "verdict": "Fail",
    "stable": 0.01,
    "canary": 0.09,
    "effect": 0.08,
    "interval": [0.05, 0.11],
    "evalue": 310.0,
    "threshold": 40.0,
    "samples": {"stable": 5000, "canary": 600},
}


@dataclass
class Running:
    """A command running on a thread: its output so far, and its result once it returned."""

    out: io.StringIO = field(default_factory=io.StringIO)
    results: list[Result] = field(default_factory=list)

    @property
    def result(self) -> Result:
        return self.results[0]


@contextmanager
def running(kcanary: Kcanary, *args: str) -> Iterator[Running]:
    """Run the command on a thread while the test moves the rollout; wait for it at the end."""
    run = Running()
    thread = threading.Thread(target=lambda: run.results.append(kcanary(*args, out=run.out)))
    thread.start()
    try:
        yield run
    finally:
        thread.join(timeout=30)
        assert not thread.is_alive(), "the command did not return"


def in_rollout(
    controller: ControllerDouble,
    make_isvc: Callable[..., dict[str, Any]],
    change_model: Callable[[str, str], None],
) -> dict[str, Any]:
    make_isvc("iris", "s3://models/iris/v1")
    controller.reconcile("iris")
    change_model("iris", "s3://models/iris/v2")
    return controller.reconcile("iris")


def annotate(custom: k8s_client.CustomObjectsApi, namespace: str, action: str) -> None:
    patch = {"metadata": {"annotations": {"kcanary.io/action": action}}}
    custom.patch_namespaced_custom_object(*ISVC_API[:2], namespace, ISVC_API[2], "iris", patch)


def test_status_of_a_stable_isvc_with_nothing_rolling_out_exits_0(
    kcanary: Kcanary, controller: ControllerDouble, make_isvc: Callable[..., dict[str, Any]]
) -> None:
    make_isvc("iris")
    controller.reconcile("iris")

    result = kcanary("status", "iris")

    assert result.code == 0
    assert result.out.strip() == "stable on s3://models/iris/v1: nothing is rolling out"


def test_status_waits_for_the_rollout_and_exits_0_when_promoted(
    kcanary: Kcanary,
    controller: ControllerDouble,
    make_isvc: Callable[..., dict[str, Any]],
    change_model: Callable[[str, str], None],
    custom: k8s_client.CustomObjectsApi,
    namespace: str,
) -> None:
    in_rollout(controller, make_isvc, change_model)

    with running(kcanary, "status", "iris", "--timeout", "20s") as run:
        wait_until(lambda: "Progressing" in run.out.getvalue())
        annotate(custom, namespace, "promote-full")

    assert run.result.code == 0, run.result
    lines = run.result.out.splitlines()
    assert lines[0].startswith("Progressing, step 1, 10% to s3://models/iris/v2: step 1/3")
    assert lines[-1] == "promoted s3://models/iris/v2: promote-full by someone@example.com"


def test_status_exits_1_when_the_analysis_rolls_the_canary_back(
    kcanary: Kcanary,
    controller: ControllerDouble,
    make_isvc: Callable[..., dict[str, Any]],
    change_model: Callable[[str, str], None],
) -> None:
    status = in_rollout(controller, make_isvc, change_model)
    harm = AnalysisResult(status["canary"]["revision"], datetime.now(UTC), Verdict.FAIL, (HARM,))

    with running(kcanary, "status", "iris", "--timeout", "20s") as run:
        wait_until(lambda: "Progressing" in run.out.getvalue())
        controller.analyse("iris", harm)

    assert run.result.code == StatusCode.ROLLED_BACK.value == 1
    assert run.result.out.startswith("Progressing, step 1")
    last = run.result.out.splitlines()[-1]
    assert last.startswith("rolled back s3://models/iris/v2: ")
    assert "error-rate" in last


def test_status_exits_1_when_the_rollout_was_aborted(
    kcanary: Kcanary,
    controller: ControllerDouble,
    make_isvc: Callable[..., dict[str, Any]],
    change_model: Callable[[str, str], None],
) -> None:
    in_rollout(controller, make_isvc, change_model)
    assert kcanary("abort", "iris").code == 0

    result = kcanary("status", "iris")

    assert result.code == 1
    assert result.out.strip() == "aborted s3://models/iris/v2: aborted by someone@example.com"


def test_status_exits_2_on_an_invalid_strategy(
    kcanary: Kcanary, controller: ControllerDouble, make_isvc: Callable[..., dict[str, Any]]
) -> None:
    make_isvc("iris", annotations={"kcanary.io/strategy": "canary", "kcanary.io/steps": "10,x"})
    controller.reconcile("iris")

    result = kcanary("status", "iris")

    assert result.code == StatusCode.INVALID.value == 2
    assert result.out.startswith("invalid strategy: kcanary.io/steps")


def test_status_exits_3_with_where_the_rollout_is_when_it_times_out(
    kcanary: Kcanary,
    controller: ControllerDouble,
    make_isvc: Callable[..., dict[str, Any]],
    change_model: Callable[[str, str], None],
) -> None:
    in_rollout(controller, make_isvc, change_model)

    result = kcanary("status", "iris", "--timeout", "1s")

    assert result.code == StatusCode.TIMED_OUT.value == 3
    last = result.out.splitlines()[-1]
    assert last.startswith("timed out after 1s: Progressing, step 1, 10% to s3://models/iris/v2")


def test_status_does_not_take_a_status_older_than_the_isvc_for_the_outcome() -> None:
    written = {"phase": "Stable", "observedGeneration": 1, "stable": {"revision": "a1"}}
    assert ending({"status": written}, 2) is None
    assert ending({"status": written}, 1) == ending({"status": written}, None)


def test_status_help_documents_the_exit_codes(kcanary: Kcanary) -> None:
    result = kcanary("status", "--help", cluster_flags=False)

    assert result.code == 0
    for line in (
        "0  promoted",
        "1  rolled back or aborted",
        "2  the strategy is invalid",
        "3  timed out",
    ):
        assert line in result.out

"""`kubectl canary ...`: the real kubectl finds `kubectl-canary` on PATH and hands it the rest of
the command line and the environment (KUBECONFIG), as it does for every plugin."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from typing import Any

from cli_controller_double import ControllerDouble
from kubectl_harness import PINNED_KUBECTL


def kubectl(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    assert PINNED_KUBECTL is not None, "the dev extra's kubectl is not installed"
    return subprocess.run(
        [PINNED_KUBECTL, *args], capture_output=True, text=True, env=env, timeout=60, check=False
    )


def test_kubectl_canary_get_and_pause_work_through_kubectl(
    controller: ControllerDouble,
    make_isvc: Callable[..., dict[str, Any]],
    change_model: Callable[[str, str], None],
    process_env: dict[str, str],
    namespace: str,
) -> None:
    make_isvc("iris", "s3://models/iris/v1")
    controller.reconcile("iris")
    change_model("iris", "s3://models/iris/v2")
    controller.reconcile("iris")

    got = kubectl(process_env, "canary", "get", "iris", "-n", namespace)
    paused = kubectl(process_env, "canary", "pause", "iris", "--namespace", namespace)

    assert got.returncode == 0, got.stderr
    assert "Phase:     Progressing" in got.stdout
    assert "Canary:    s3://models/iris/v2" in got.stdout
    assert paused.returncode == 0, paused.stderr
    assert paused.stdout.startswith("pause taken: ")
    assert controller.reconcile("iris")["phase"] == "Paused"

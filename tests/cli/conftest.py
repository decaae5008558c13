"""Fixtures for the user-facing commands: an ISVC to roll out, the controller double that answers
for the controller, and the command run in-process (fast) or as a real process (for `-w`, the
terminal and the kubectl plugin)."""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_controller_double import ControllerDouble
from cli_harness import ISVC_API, ROLLOUT_API, STRATEGY_ANNOTATIONS, VENV_BIN, Kcanary, Result
from kubernetes import client as k8s_client

from kcanary.cli import main


@pytest.fixture
def custom(kube_api_client: k8s_client.ApiClient) -> k8s_client.CustomObjectsApi:
    return k8s_client.CustomObjectsApi(kube_api_client)


@pytest.fixture
def kcanary(kubeconfig_path: Path, namespace: str) -> Kcanary:
    """Run `kcanary ARGS --kubeconfig ... -n NAMESPACE` in this process; its exit code and output.

    Output goes to `out`/`err` when given, so a test can read it while the command runs."""

    def run(
        *args: str,
        cluster_flags: bool = True,
        out: io.StringIO | None = None,
        err: io.StringIO | None = None,
    ) -> Result:
        argv = list(args)
        if cluster_flags:
            argv += ["--kubeconfig", str(kubeconfig_path), "-n", namespace]
        stdout, stderr = out or io.StringIO(), err or io.StringIO()
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            try:
                code = main(argv)
            except SystemExit as exit_:
                code = int(exit_.code or 0)
        return Result(code, stdout.getvalue(), stderr.getvalue())

    return run


@pytest.fixture
def make_isvc(custom: k8s_client.CustomObjectsApi, namespace: str) -> Callable[..., dict[str, Any]]:
    """Create an ISVC serving `model`, with kcanary's strategy unless `annotations` says else."""

    def create(
        name: str, model: str = "s3://models/iris/v1", annotations: dict[str, str] | None = None
    ) -> dict[str, Any]:
        body = {
            "apiVersion": "serving.kserve.io/v1beta1",
            "kind": "InferenceService",
            "metadata": {
                "name": name,
                "annotations": STRATEGY_ANNOTATIONS if annotations is None else annotations,
            },
            "spec": {
                "predictor": {"model": {"modelFormat": {"name": "sklearn"}, "storageUri": model}}
            },
        }
        created: Any = custom.create_namespaced_custom_object(
            *ISVC_API[:2], namespace, ISVC_API[2], body
        )
        return dict(created)

    return create


@pytest.fixture
def change_model(custom: k8s_client.CustomObjectsApi, namespace: str) -> Callable[[str, str], None]:
    """What the user's CI does: point the ISVC at a new model, which starts a rollout."""

    def change(name: str, model: str) -> None:
        patch = {"spec": {"predictor": {"model": {"storageUri": model}}}}
        custom.patch_namespaced_custom_object(*ISVC_API[:2], namespace, ISVC_API[2], name, patch)

    return change


@pytest.fixture
def controller(kube_api_client: k8s_client.ApiClient, namespace: str) -> Iterator[ControllerDouble]:
    double = ControllerDouble(kube_api_client, namespace).start()
    try:
        yield double
    finally:
        double.stop()


@pytest.fixture
def rollout_status(
    custom: k8s_client.CustomObjectsApi, namespace: str
) -> Callable[[str], dict[str, Any]]:
    def read(name: str) -> dict[str, Any]:
        found: Any = custom.get_namespaced_custom_object(
            *ROLLOUT_API[:2], namespace, ROLLOUT_API[2], name
        )
        return dict(found.get("status") or {})

    return read


@pytest.fixture
def process_env(kubeconfig_path: Path, tmp_path: Path) -> dict[str, str]:
    """The environment of a real `kcanary`/`kubectl` process: the venv's bin first on PATH, so
    kubectl finds the `kubectl-canary` plugin there."""
    env = dict(os.environ)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["KUBECONFIG"] = str(kubeconfig_path)
    env["KUBECACHEDIR"] = str(tmp_path / "kubecache")
    env["HOME"] = str(tmp_path)
    env["PYTHONUNBUFFERED"] = "1"
    return env

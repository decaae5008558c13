"""`kubectl canary get` and `kubectl canary list` as kubectl lists: `-l SELECTOR` on the
InferenceServices' labels, `--no-headers`, `-o name`; each run through the real kubectl, which
hands the plugin its arguments."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from typing import Any

import pytest
from cli_controller_double import ControllerDouble
from cli_harness import ISVC_API
from kubectl_harness import PINNED_KUBECTL
from kubernetes import client as k8s_client


def kubectl_canary(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    assert PINNED_KUBECTL is not None, "the dev extra's kubectl is not installed"
    return subprocess.run(
        [PINNED_KUBECTL, "canary", *args],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip


@pytest.fixture
def two_rollouts(
    controller: ControllerDouble,
    make_isvc: Callable[..., dict[str, Any]],
    custom: k8s_client.CustomObjectsApi,
    namespace: str,
) -> None:
    """iris labelled team=fraud, wine labelled team=sommelier, each with its rollout."""
    for name, team in (("iris", "fraud"), ("wine", "sommelier")):
        make_isvc(name)
        patch = {"metadata": {"labels": {"team": team}}}
        custom.patch_namespaced_custom_object(*ISVC_API[:2], namespace, ISVC_API[2], name, patch)
        controller.reconcile(name)


def names_in(table: str) -> list[str]:
    return [line.split()[0] for line in table.splitlines()]


@pytest.mark.usefixtures("two_rollouts")
def test_a_selector_lists_the_rollouts_of_the_matching_inference_services(
    process_env: dict[str, str], namespace: str
) -> None:
    fraud = kubectl_canary(process_env, "get", "-l", "team=fraud", "-n", namespace)
    not_fraud = kubectl_canary(process_env, "get", "--selector", "team!=fraud", "-n", namespace)
    nobody = kubectl_canary(process_env, "get", "-l", "team in (legal)", "-n", namespace)

    assert fraud.returncode == 0, fraud.stderr
    assert names_in(fraud.stdout) == ["NAME", "iris"]
    assert names_in(not_fraud.stdout) == ["NAME", "wine"]
    assert (nobody.returncode, nobody.stdout) == (0, "")
    assert nobody.stderr == f"No rollouts found in {namespace} namespace.\n"


@pytest.mark.usefixtures("two_rollouts")
def test_no_headers_prints_only_the_rows(process_env: dict[str, str], namespace: str) -> None:
    result = kubectl_canary(process_env, "get", "--no-headers", "-n", namespace)
    wide = kubectl_canary(process_env, "get", "--no-headers", "-o", "wide", "-n", namespace)

    assert result.returncode == 0, result.stderr
    assert names_in(result.stdout) == ["iris", "wine"]
    assert result.stdout.splitlines()[0].split()[1:4] == ["Stable", "0%", "-"]
    assert names_in(wide.stdout) == ["iris", "wine"]


@pytest.mark.usefixtures("two_rollouts")
def test_output_name_prints_resource_dot_group_slash_name(
    process_env: dict[str, str], namespace: str
) -> None:
    listed = kubectl_canary(process_env, "get", "-o", "name", "-n", namespace)
    selected = kubectl_canary(
        process_env, "get", "-o", "name", "-l", "team=sommelier", "-n", namespace
    )
    one = kubectl_canary(process_env, "get", "iris", "-o", "name", "-n", namespace)

    assert listed.returncode == 0, listed.stderr
    assert listed.stdout == ("inferencerollout.kcanary.io/iris\ninferencerollout.kcanary.io/wine\n")
    assert selected.stdout == "inferencerollout.kcanary.io/wine\n"
    assert one.stdout == "inferencerollout.kcanary.io/iris\n"


@pytest.mark.usefixtures("two_rollouts")
def test_list_is_get_without_a_name(process_env: dict[str, str], namespace: str) -> None:
    here = kubectl_canary(process_env, "list", "-n", namespace)
    everywhere = kubectl_canary(process_env, "list", "-A", "--no-headers", "-l", "team=fraud")
    named = kubectl_canary(process_env, "list", "iris", "-n", namespace)

    assert here.returncode == 0, here.stderr
    assert names_in(here.stdout) == ["NAME", "iris", "wine"]
    assert everywhere.returncode == 0, everywhere.stderr
    assert [namespace, "iris"] in [line.split()[:2] for line in everywhere.stdout.splitlines()]
    assert named.returncode == 2
    assert named.stderr.splitlines()[-1] == ("kubectl canary: error: unrecognized arguments: iris")


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (
            ["get", "-o", "bogus"],
            "kubectl canary get: error: argument -o/--output: invalid choice: 'bogus' "
            "(choose from 'yaml', 'json', 'wide', 'name')",
        ),
        (
            ["get", "-l", "team=fraud,"],
            "error: invalid selector 'team=fraud,': found '', expected: identifier after ',': "
            "write it as kubectl does, e.g. -l team=fraud,tier!=dev or -l 'env in (prod,staging)'",
        ),
        (
            ["get", "iris", "-l", "team=fraud"],
            "error: a rollout cannot be shown by name and selector at once: drop -l or NAME",
        ),
        (
            ["get", "-w", "-l", "team=fraud"],
            "error: -l cannot be combined with -w: watch all rollouts, or list with -l",
        ),
    ],
    ids=["unknown-output", "malformed-selector", "name-and-selector", "watch-and-selector"],
)
def test_bad_listing_input_is_one_line_and_exit_code_2(
    args: list[str], error: str, process_env: dict[str, str], namespace: str
) -> None:
    result = kubectl_canary(process_env, *args, "-n", namespace)

    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == error
    assert "Traceback" not in result.stderr

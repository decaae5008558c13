"""`pip install kcanary` is the controller and the CLI: none of the extras' packages come with it,
the user verbs work, and a command whose extra is missing names the extra to install."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from kubectl_harness import PINNED_KUBECTL
from venvs import Venv, make_venv, normalized, source_tree

EXTRAS_ONLY = ("aiohttp", "cryptography", "matplotlib", "rich", "grafana-foundation-sdk")


@pytest.fixture(scope="module")
def plain_venv(tmp_path_factory: pytest.TempPathFactory) -> Venv:
    root = tmp_path_factory.mktemp("plain")
    venv = make_venv(root / "venv")
    venv.pip_install(str(source_tree(root / "src")))
    return venv


def run(
    venv: Venv, *command: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(venv.bin(command[0])), *command[1:]],
        capture_output=True, text=True, timeout=60, env=env or venv.env(), stdin=subprocess.DEVNULL,
    )  # fmt: skip


@pytest.mark.timeout(600)
def test_a_plain_install_brings_none_of_the_extras_packages(plain_venv: Venv) -> None:
    installed = plain_venv.distributions()
    # kubernetes 36 and later require aiohttp themselves: it is kcanary's only through them.
    kubernetes_needs = {
        normalized(re.split(r"[^A-Za-z0-9._-]", requirement, maxsplit=1)[0])
        for requirement in plain_venv.requires("kubernetes")
        if "extra ==" not in requirement
    }
    unexpected = [
        name for name in EXTRAS_ONLY if name in installed and name not in kubernetes_needs
    ]
    assert unexpected == []
    assert "kcanary" in installed


@pytest.mark.timeout(600)
def test_the_controller_and_the_plugin_answer_from_a_plain_install(plain_venv: Venv) -> None:
    controller = run(plain_venv, "kcanary", "controller", "--help")
    assert controller.returncode == 0, controller.stderr
    assert "usage: kcanary controller" in controller.stdout
    plugin = run(plain_venv, "kubectl-canary", "get", "--help")
    assert plugin.returncode == 0, plugin.stderr
    assert "usage: kubectl canary get" in plugin.stdout


@pytest.mark.timeout(600)
def test_kubectl_canary_get_lists_rollouts_from_a_plain_install(
    plain_venv: Venv, kubeconfig_path: Path, namespace: str
) -> None:
    assert PINNED_KUBECTL is not None, "the dev extra's kubectl is not installed"
    env = {**plain_venv.env(), "KUBECONFIG": str(kubeconfig_path)}
    result = subprocess.run(
        [PINNED_KUBECTL, "canary", "get", "-n", namespace],
        capture_output=True, text=True, timeout=60, env=env, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == f"No rollouts found in {namespace} namespace."


@pytest.mark.timeout(600)
@pytest.mark.parametrize(
    ("command", "extra"),
    [
        (("local-cluster", "--kubeconfig", "unused-kubeconfig"), "local"),
        (("demo", "--scenario", "good"), "local"),
        (("report", "iris", "-n", "models"), "report"),
        (("bench", "aa"), "bench"),
    ],
)
def test_a_command_of_a_missing_extra_says_which_to_install(
    plain_venv: Venv, command: tuple[str, ...], extra: str
) -> None:
    result = run(plain_venv, "kcanary", *command)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: kcanary {command[0]} needs the '{extra}' extra (")
    assert lines[0].endswith(f"not installed): pip install 'kcanary[{extra}]'")

"""`kcanary --help` lists the verbs of someone rolling out models; the commands for working on
kcanary (local cluster, demo, benchmarks) are listed under `kcanary dev` and still run by the
names that scripts and the README use."""

from __future__ import annotations

import re
import subprocess

import pytest
from cli_harness import Kcanary
from kubectl_harness import PINNED_KUBECTL

from kcanary import bench_command, demo_command, local_cluster_command
from kcanary.cli import build_parser

USER_VERBS = (
    "get", "list", "status", "promote", "abort", "pause", "resume", "retry", "history", "set",
    "lint", "sensitivity", "report", "controller", "version", "completion", "dev",
)  # fmt: skip
DEV_COMMANDS = ("local-cluster", "demo", "bench")


def listed_commands(help_text: str) -> list[str]:
    """The sub-command names in the COMMAND section of a help text, in order."""
    section = help_text.split("COMMAND\n", 1)[1].split("\n\n", 1)[0]
    return re.findall(r"^    (\S+)", section, flags=re.MULTILINE)


def test_the_top_level_help_lists_the_user_verbs_and_dev_only(kcanary: Kcanary) -> None:
    result = kcanary("--help", cluster_flags=False)
    assert result.code == 0
    assert listed_commands(result.out) == list(USER_VERBS)


def test_dev_help_lists_the_developer_commands(kcanary: Kcanary) -> None:
    result = kcanary("dev", "--help", cluster_flags=False)
    assert result.code == 0
    assert listed_commands(result.out) == list(DEV_COMMANDS)


def test_dev_without_a_command_says_one_is_needed(kcanary: Kcanary) -> None:
    result = kcanary("dev", cluster_flags=False)
    assert result.code == 2
    assert "kcanary dev: error: the following arguments are required: COMMAND" in result.err


@pytest.mark.parametrize(
    ("argv", "runs"),
    [
        (["demo", "--scenario", "error-regression", "--router", "kserve"], demo_command.run),
        (["dev", "demo", "--scenario", "error-regression"], demo_command.run),
        (["local-cluster", "--kubeconfig", "k", "--load", "20"], local_cluster_command.run),
        (["dev", "local-cluster", "--kubeconfig", "k"], local_cluster_command.run),
    ],
)
def test_old_and_dev_spellings_run_the_same_command(argv: list[str], runs: object) -> None:
    assert build_parser().parse_args(argv).func is runs


@pytest.mark.parametrize("prefix", [[], ["dev"]])
def test_a_benchmark_runs_by_either_spelling(prefix: list[str]) -> None:
    args, unknown = build_parser().parse_known_args([*prefix, "bench", "aa", "--runs", "100"])
    assert (args.func.func, args.func.args) == (bench_command.run, ("aa",))
    assert [*unknown, *args.arguments] == ["--runs", "100"]


def test_a_missing_extra_is_named_with_the_spelling_used(
    kcanary: Kcanary, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("kcanary.cli.missing_modules", lambda extra: ["aiohttp"])
    dev = kcanary("dev", "demo", cluster_flags=False)
    old = kcanary("demo", cluster_flags=False)
    assert (dev.code, old.code) == (1, 1)
    assert dev.err.startswith("error: kcanary dev demo needs the 'local' extra (aiohttp")
    assert old.err.startswith("error: kcanary demo needs the 'local' extra (aiohttp")


def test_kubectl_canary_help_lists_the_same_grouping(process_env: dict[str, str]) -> None:
    assert PINNED_KUBECTL is not None, "the dev extra's kubectl is not installed"
    done = subprocess.run(
        [PINNED_KUBECTL, "canary", "--help"],
        capture_output=True, text=True, env=process_env, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: kubectl canary ")
    assert listed_commands(done.stdout) == list(USER_VERBS)

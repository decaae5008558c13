"""`kcanary controller`: the flags of DESIGN.md section 5 (each also from KCANARY_<FLAG>), a clear
message for unusable settings, and a process that takes the Lease and stops cleanly on SIGTERM."""

from __future__ import annotations

import argparse
import json
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

import pytest
from kubernetes import client as k8s_client

from kcanary.cli import COMMAND_MODULES
from kcanary.controller_command import register

FLAGS = (
    "--kubeconfig",
    "--context",
    "--namespace",
    "--prometheus-url",
    "--prometheus-timeout",
    "--prometheus-ca-file",
    "--prometheus-insecure-skip-verify",
    "--no-prometheus-insecure-skip-verify",
    "--prometheus-client-cert",
    "--prometheus-client-key",
    "--prometheus-bearer-token-file",
    "--prometheus-basic-auth-username-file",
    "--prometheus-basic-auth-password-file",
    "--prometheus-header",
    "--metrics-addr",
    "--health-addr",
    "--leader-elect",
    "--no-leader-elect",
    "--lease-namespace",
    "--lease-name",
    "--lease-duration",
    "--renew-deadline",
    "--retry-period",
    "--log-format",
    "--log-level",
)


def build_parser() -> argparse.ArgumentParser:
    """The `kcanary` parser with only this sub-command (the others are not under test here)."""
    parser = argparse.ArgumentParser(prog="kcanary")
    register(parser.add_subparsers(dest="command"))
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


def test_the_controller_has_exactly_the_documented_flags() -> None:
    commands = next(
        action
        for action in build_parser()._actions
        if isinstance(action, argparse._SubParsersAction)
    )
    controller = commands.choices["controller"]
    # Hidden flags (help suppressed) are earlier spellings kept for old Deployments.
    flags = {
        option
        for action in controller._actions
        if action.help != argparse.SUPPRESS
        for option in action.option_strings
    } - {"-h", "--help"}
    assert flags == set(FLAGS)


def test_the_command_is_registered_with_the_cli() -> None:
    assert "kcanary.controller_command" in COMMAND_MODULES


def test_every_flag_falls_back_to_its_environment_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KCANARY_PROMETHEUS_URL", "http://prometheus:9090")
    monkeypatch.setenv("KCANARY_NAMESPACE", "models,staging")
    monkeypatch.setenv("KCANARY_LEADER_ELECT", "false")
    monkeypatch.setenv("KCANARY_LEASE_DURATION", "30s")
    monkeypatch.setenv("KCANARY_METRICS_ADDR", "127.0.0.1:9000")
    monkeypatch.setenv("KCANARY_LOG_FORMAT", "json")
    args = build_parser().parse_args(["controller"])
    assert args.prometheus_url == "http://prometheus:9090"
    assert args.namespace == ["models", "staging"]
    assert args.leader_elect is False
    assert args.lease_duration == 30.0
    assert args.metrics_addr == ("127.0.0.1", 9000)
    assert args.log_format == "json"
    flag_wins = build_parser().parse_args(["controller", "--lease-duration", "20s"])
    assert flag_wins.lease_duration == 20.0


def test_the_defaults_are_the_documented_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    args = build_parser().parse_args(["controller", "--prometheus-url", "http://p:9090"])
    assert (args.metrics_addr, args.health_addr) == (("0.0.0.0", 8080), ("0.0.0.0", 8081))
    assert args.leader_elect is True and args.lease_name == "kcanary-controller"
    assert (args.lease_duration, args.renew_deadline, args.retry_period) == (15.0, 10.0, 2.0)
    assert (args.log_format, args.log_level) == ("text", "info")


def test_unusable_settings_are_a_message_not_a_traceback(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code = main(
        [
            "controller",
            "--prometheus-url",
            "prometheus:9090",
            "--kubeconfig",
            str(tmp_path / "missing"),
            "--no-leader-elect",
        ]
    )
    assert code == 2
    assert "kcanary controller:" in capsys.readouterr().err
    code = main(
        [
            "controller",
            "--prometheus-url",
            "http://p:9090",
            "--lease-duration",
            "1s",
            "--renew-deadline",
            "5s",
        ]
    )
    assert code == 2
    assert "lease-duration > renew-deadline" in capsys.readouterr().err


def lines_of(stream: IO[str]) -> queue.Queue[str]:
    found: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for line in stream:
            found.put(line)

    threading.Thread(target=pump, daemon=True).start()
    return found


def wait_for_line(lines: queue.Queue[str], text: str, timeout_s: float = 30.0) -> str:
    deadline = time.monotonic() + timeout_s
    while True:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"no log line containing {text!r}"
        try:
            line = lines.get(timeout=remaining)
        except queue.Empty:
            continue
        if text in line:
            return line


def test_the_process_takes_the_lease_and_releases_it_on_sigterm(
    kubeconfig_path: Path, namespace: str, kube_api_client: k8s_client.ApiClient
) -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kcanary",
            "controller",
            "--kubeconfig",
            str(kubeconfig_path),
            "--namespace",
            namespace,
            "--prometheus-url",
            "http://127.0.0.1:9",
            "--metrics-addr",
            "127.0.0.1:0",
            "--health-addr",
            "127.0.0.1:0",
            "--lease-namespace",
            namespace,
            "--retry-period",
            "0.2s",
            "--log-format",
            "json",
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        lines = lines_of(process.stderr)
        json.loads(wait_for_line(lines, "became leader"))
        leases = k8s_client.CoordinationV1Api(kube_api_client)
        lease = leases.read_namespaced_lease("kcanary-controller", namespace)
        assert lease.spec is not None and lease.spec.holder_identity
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        released = leases.read_namespaced_lease("kcanary-controller", namespace)
        assert released.spec is not None and not released.spec.holder_identity
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)

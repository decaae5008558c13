"""Whatever is wrong (the name, the ISVC, the kubeconfig, the cluster), every command says in one
line what to do, exits non-zero, and never shows a traceback."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from cli_controller_double import ControllerDouble
from cli_harness import Kcanary

from kcanary.cli import main
from sim.apiserver.kubeconfig import kubeconfig_document, write_kubeconfig

COMMANDS = [
    ("get", "NAME"),
    ("status", "NAME"),
    ("history", "NAME"),
    ("promote", "NAME"),
    ("promote", "NAME", "--full"),
    ("abort", "NAME"),
    ("pause", "NAME"),
    ("resume", "NAME"),
    ("retry", "NAME"),
]
IDS = [" ".join(command[:1] + command[2:]) for command in COMMANDS]


def one_line_error(err: str) -> str:
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.mark.parametrize("command", COMMANDS, ids=IDS)
def test_an_unknown_isvc_is_named_with_where_it_was_looked_for(
    kcanary: Kcanary, namespace: str, command: tuple[str, ...]
) -> None:
    args = [arg if arg != "NAME" else "nosuch" for arg in command]

    result = kcanary(*args)

    assert result.code == 1
    assert one_line_error(result.err) == (
        f'error: InferenceService "nosuch" not found in namespace "{namespace}": check the '
        f"name, or pass -n NAMESPACE (kubectl get inferenceservices -n {namespace})"
    )


@pytest.mark.parametrize("command", COMMANDS, ids=IDS)
def test_an_isvc_without_the_strategy_says_how_to_turn_kcanary_on(
    kcanary: Kcanary,
    make_isvc: Callable[..., dict[str, Any]],
    namespace: str,
    command: tuple[str, ...],
) -> None:
    make_isvc("plain", annotations={})
    args = [arg if arg != "NAME" else "plain" for arg in command]

    result = kcanary(*args)

    assert result.code == 1
    assert one_line_error(result.err).endswith(
        f"is not managed by kcanary: annotate it first (kubectl annotate isvc plain -n "
        f"{namespace} kcanary.io/strategy=canary)"
    )


@pytest.fixture
def refused_port() -> int:
    """A local port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.mark.parametrize(
    "command", [("get",), ("get", "iris"), ("status", "iris"), ("pause", "iris")]
)
def test_no_cluster_reachable_says_to_check_the_cluster_and_kubeconfig(
    kcanary: Kcanary, tmp_path: Path, refused_port: int, command: tuple[str, ...]
) -> None:
    document = kubeconfig_document(
        server=f"https://127.0.0.1:{refused_port}", ca_pem=b"unused", token="t"
    )
    kubeconfig = write_kubeconfig(tmp_path / "config", document)

    result = kcanary(*command, "--kubeconfig", str(kubeconfig), cluster_flags=False)

    assert result.code == 1
    line = one_line_error(result.err)
    assert line.startswith("error: cannot reach the Kubernetes API server (")
    assert line.endswith("is the cluster running, and are --kubeconfig and --context right?")


def test_a_kubeconfig_path_that_does_not_exist_is_named(kcanary: Kcanary, tmp_path: Path) -> None:
    missing = tmp_path / "nope"

    result = kcanary("get", "--kubeconfig", str(missing), cluster_flags=False)

    assert result.code == 1
    assert (
        one_line_error(result.err)
        == f"error: kubeconfig {missing} is not a file: check --kubeconfig"
    )


@pytest.mark.parametrize(
    "content", ["{not: yaml: at all", "apiVersion: v1\nkind: Config\n"], ids=["garbage", "empty"]
)
def test_an_unusable_kubeconfig_is_named_with_its_problem(
    kcanary: Kcanary, tmp_path: Path, content: str
) -> None:
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(content)

    result = kcanary("get", "--kubeconfig", str(kubeconfig), cluster_flags=False)

    assert result.code == 1
    line = one_line_error(result.err)
    assert line.startswith(f"error: cannot use kubeconfig {kubeconfig}: ")
    assert line.endswith("pass --kubeconfig PATH or --context NAME")


def test_an_unknown_context_is_named(kcanary: Kcanary, kubeconfig_path: Path) -> None:
    result = kcanary(
        "get", "--kubeconfig", str(kubeconfig_path), "--context", "nosuch", cluster_flags=False
    )

    assert result.code == 1
    assert "nosuch" in one_line_error(result.err)


def test_a_name_with_all_namespaces_is_refused(kcanary: Kcanary) -> None:
    result = kcanary("get", "iris", "-A")

    assert result.code == 1
    assert one_line_error(result.err) == (
        "error: a rollout cannot be shown by name across all namespaces: drop -A or NAME"
    )


def test_a_bad_timeout_is_a_usage_error_that_shows_the_format(kcanary: Kcanary) -> None:
    result = kcanary("status", "iris", "--timeout", "soon")

    assert result.code == 2
    assert result.err.splitlines()[-1] == (
        'kcanary status: error: argument --timeout: "soon" is not a duration: use a number with '
        "a unit, like 30s, 2m, 1h30m or 250ms"
    )
    assert "Traceback" not in result.err


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (["status", "iris", "--timeout", "30"], "--timeout"),
        (["pause", "iris", "--timeout", "30"], "--timeout"),
        (["demo", "--timeout", "240"], "--timeout"),
        (["report", "iris", "--rate-window", "60"], "--rate-window"),
        (["controller", "--lease-duration", "15"], "--lease-duration"),
        (["controller", "--prometheus-timeout", "10"], "--prometheus-timeout"),
    ],
)
def test_a_bare_number_is_refused_as_a_duration_as_annotations_refuse_it(
    argv: list[str], flag: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every duration flag reads durations as the annotations do: `30` could be seconds or
    minutes, so it is a usage error (exit 2) that names the flag and shows the format."""
    with pytest.raises(SystemExit) as exited:
        main(argv)

    assert exited.value.code == 2
    last = capsys.readouterr().err.splitlines()[-1]
    number = argv[argv.index(flag) + 1]
    assert last.endswith(
        f'error: argument {flag}: "{number}" is not a duration: use a number with a unit, '
        "like 30s, 2m, 1h30m or 250ms"
    )


def test_the_namespace_defaults_to_the_kubeconfig_contexts(
    kcanary: Kcanary,
    controller: ControllerDouble,
    make_isvc: Callable[..., dict[str, Any]],
    kubeconfig_path: Path,
    tmp_path: Path,
    namespace: str,
) -> None:
    make_isvc("iris")
    controller.reconcile("iris")
    document = yaml.safe_load(kubeconfig_path.read_text())
    document["contexts"][0]["context"]["namespace"] = namespace
    kubeconfig = write_kubeconfig(tmp_path / "config", document)

    result = kcanary("get", "iris", "--kubeconfig", str(kubeconfig), cluster_flags=False)

    assert result.code == 0, result.err
    assert f"Namespace: {namespace}" in result.out

"""`kcanary version`, `kcanary --version` and `kubectl canary version`: the version pip recorded,
the same one the controller logs when it starts."""

from __future__ import annotations

import platform
import signal
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from cli_harness import Kcanary
from kubectl_harness import PINNED_KUBECTL
from polling import wait_until

from reconcile import build_info

INSTALLED = f"kcanary {metadata.version('kcanary')} (python {platform.python_version()})\n"


def kubectl(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    assert PINNED_KUBECTL is not None, "the dev extra's kubectl is not installed"
    return subprocess.run(
        [PINNED_KUBECTL, *args], capture_output=True, text=True, env=env, timeout=60, check=False
    )


def test_version_prints_the_installed_version_and_python(kcanary: Kcanary) -> None:
    result = kcanary("version", cluster_flags=False)
    assert (result.code, result.out, result.err) == (0, INSTALLED, "")


def test_the_version_flag_prints_the_same_line(kcanary: Kcanary) -> None:
    result = kcanary("--version", cluster_flags=False)
    assert (result.code, result.out) == (0, INSTALLED)


def test_a_source_tree_that_is_not_installed_says_so_and_how_to_record_a_version(
    kcanary: Kcanary, monkeypatch: pytest.MonkeyPatch
) -> None:
    def not_installed(name: str) -> str:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(build_info.metadata, "version", not_installed)
    result = kcanary("version", cluster_flags=False)
    assert result.code == 0
    assert result.out.startswith(
        "kcanary unknown (run from a source tree: `pip install .` records the version)"
    )
    assert build_info.kcanary_version() == "unknown"


def test_kubectl_canary_version_and_version_flag_work_through_kubectl(
    process_env: dict[str, str],
) -> None:
    verb = kubectl(process_env, "canary", "version")
    flag = kubectl(process_env, "canary", "--version")
    assert (verb.returncode, verb.stdout) == (0, INSTALLED), verb.stderr
    assert (flag.returncode, flag.stdout) == (0, INSTALLED), flag.stderr


def test_the_controller_logs_its_version_when_it_starts(
    kubeconfig_path: Path, namespace: str, tmp_path: Path
) -> None:
    log = tmp_path / "controller.log"
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "kcanary", "controller", "--no-leader-elect"),
                *("--kubeconfig", str(kubeconfig_path), "--namespace", namespace),
                *("--prometheus-url", "http://127.0.0.1:9"),
                *("--metrics-addr", "127.0.0.1:0", "--health-addr", "127.0.0.1:0"),
            ],
            stderr=stderr,
        )
    try:
        started = wait_until(
            lambda: next((x for x in log.read_text().splitlines() if " started" in x), None),
            timeout_s=30,
            what=lambda: f"a start-up line in {log.read_text()!r}",
        )
        assert f"(kcanary {metadata.version('kcanary')})" in started
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)

"""`kcanary report` refuses unusable flags with one line that says what to change, before it
touches the cluster."""

from __future__ import annotations

from pathlib import Path

import pytest

from kcanary.cli import main


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--rate-window", "0s"], "--rate-window must be at least 1s, got 0s"),
        (["--rate-window", "400ms"], "--rate-window must be at least 1s, got 0.4s"),
        (["--prometheus-url", "localhost:9090"], "must start with http:// or https://"),
    ],
)
def test_unusable_flags_are_one_line_errors(
    flags: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "iris", "--out", str(tmp_path / "r"), *flags]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1


def test_an_out_path_that_is_a_file_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    taken = tmp_path / "taken"
    taken.write_text("")
    assert main(["report", "iris", "--out", str(taken)]) == 1
    assert "is a file: give a directory" in capsys.readouterr().err


def test_a_missing_kubeconfig_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope"
    assert main(["report", "iris", "--kubeconfig", str(missing), "--out", str(tmp_path / "r")]) == 1
    err = capsys.readouterr().err
    assert str(missing) in err and "--kubeconfig" in err and err.count("\n") == 1

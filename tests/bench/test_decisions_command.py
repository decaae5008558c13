"""`kcanary bench decisions` writes a valid report, tables and figures, and refuses bad input
with a message that says what to change."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kcanary.cli import main

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_bench_decisions_writes_json_markdown_and_figures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "bench", "decisions", "--runs", "50", "--seed", "5", "--out", str(tmp_path),
            "--scenario", "A/A", "--scenario", "errors x5",
        ]
    )  # fmt: skip
    assert code == 0
    report = json.loads((tmp_path / "decisions.json").read_text())
    assert report["seed"] == 5 and report["runs"] == 50
    assert "--runs=50" in report["command"] and "--scenario=A/A" in report["command"]
    assert [s["name"] for s in report["scenarios"]] == ["A/A", "errors x5"]
    methods = {row["method"] for row in report["rows"]}
    assert {"kcanary", "flagger", "argo-rollouts", "kayenta", "oracle-sprt"} <= methods
    for row in report["rows"]:
        assert row["runs"] == 50
        assert 0.0 <= row["rolled_back"]["rate"] <= 1.0
        if row["kind"] == "good":
            assert row["false_rollback"] is not None and row["miss"] is None
        else:
            assert row["miss"] is not None and row["false_rollback"] is None
    text = (tmp_path / "decisions.md").read_text()
    assert "False rollbacks and misses" in text and "| A/A |" in text
    assert text in capsys.readouterr().out
    for name in ("false_rollbacks", "misses", "rollback_seconds", "blast_radius"):
        assert (tmp_path / f"decisions_{name}.png").read_bytes().startswith(PNG_MAGIC)


def test_bench_decisions_gives_the_same_rows_for_the_same_seed(tmp_path: Path) -> None:
    for out in ("one", "two"):
        args = ["bench", "decisions", "--runs", "50", "--seed", "9", "--scenario", "errors x5"]
        assert main([*args, "--out", str(tmp_path / out)]) == 0
    one = json.loads((tmp_path / "one" / "decisions.json").read_text())["rows"]
    two = json.loads((tmp_path / "two" / "decisions.json").read_text())["rows"]
    assert one == two


def test_bench_decisions_refuses_too_few_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["bench", "decisions", "--runs", "5", "--out", str(tmp_path)]) == 2
    assert "at least 50" in capsys.readouterr().err


def test_bench_decisions_names_the_scenarios_when_one_is_unknown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["bench", "decisions", "--scenario", "nope", "--out", str(tmp_path)])
    assert code == 2
    err = capsys.readouterr().err
    assert "'nope'" in err and "'A/A'" in err

"""`kcanary bench decisions` writes a valid report, tables and figures, and refuses bad input
with a message that says what to change."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench.decision_report import not_ahead
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


def _row(
    scenario: str, kind: str, method: str, rate: float, seconds: float | None
) -> dict[str, Any]:
    outcome = {"rate": rate, "ci_low": rate - 0.02, "ci_high": rate + 0.02, "count": 0}
    median = {"value": seconds, "ci_low": seconds, "ci_high": seconds}
    return {
        "scenario": scenario,
        "kind": kind,
        "method": method,
        "miss": outcome if kind == "bad" else None,
        "false_rollback": outcome if kind == "good" else None,
        "seconds_to_rollback": {"median": median, "p90": median},
    }


def test_the_report_names_where_another_method_misses_less_or_decides_sooner() -> None:
    report = {
        "scenarios": [
            {"name": "A/A", "kind": "good", "control": ""},
            {"name": "x2", "kind": "bad", "control": "A/A"},
        ],
        "rows": [
            _row("A/A", "good", "kcanary", 0.0, None),
            _row("A/A", "good", "flagger", 0.3, 200.0),
            _row("A/A", "good", "kayenta", 0.0, None),
            _row("x2", "bad", "kcanary", 0.8, 300.0),
            _row("x2", "bad", "flagger", 0.1, 200.0),
            _row("x2", "bad", "kayenta", 0.8, 330.0),
        ],
    }
    lines = not_ahead(report)
    assert len(lines) == 1
    assert "`flagger` misses 10.0% against kcanary's 80.0%" in lines[0]
    assert "200 s against 300 s" in lines[0] and "30.0% in A/A" in lines[0]

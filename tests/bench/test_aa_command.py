"""`kcanary bench aa` writes its results and prints the A/A rows as JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kcanary.cli import main


def test_bench_aa_writes_results_and_prints_rows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["bench", "aa", "--runs", "100", "--seed", "4", "--json", "--out", str(tmp_path)])
    rows = json.loads(capsys.readouterr().out)
    assert code == 0
    assert {(row["rps"], row["alpha"]) for row in rows} >= {
        (1.0, 0.05), (1.0, 0.01), (200.0, 0.05), (200.0, 0.01),
    }  # fmt: skip
    for row in rows:
        assert {"rps", "alpha", "runs", "false_rollbacks", "rate", "ci_low", "ci_high"} <= set(row)
        assert row["runs"] == 100
    report = json.loads((tmp_path / "aa.json").read_text())
    assert report["seed"] == 4 and "--runs=100" in report["command"]
    assert report["power"] and report["cpu"]["rollouts"] == 1000
    # The pooled contrast under a shared drift exceeds alpha, yet the exit code (0 above) only
    # counts kcanary's per-period analysis.
    drift = {(row["rps"], row["alpha"], row["analysis"]): row for row in report["drift"]}
    assert {analysis for _, _, analysis in drift} == {"per period", "pooled"}
    assert not drift[(200.0, 0.05, "pooled")]["within_alpha"]
    assert drift[(200.0, 0.05, "per period")]["within_alpha"]
    markdown = (tmp_path / "aa.md").read_text()
    assert "False rollbacks" in markdown and "drift both revisions share" in markdown


def test_bench_aa_refuses_too_few_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "aa", "--runs", "5", "--out", str(tmp_path)]) == 2
    assert "at least 100" in capsys.readouterr().err

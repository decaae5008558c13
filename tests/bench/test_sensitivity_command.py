"""`kcanary sensitivity` says what a plan catches at a traffic: more traffic catches smaller
regressions, the JSON names every figure, and bad input is one line and exit code 2."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from kcanary.cli import main

SEED = "7"


def _sensitivity(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    code = main(["sensitivity", *args, "--seed", SEED, "-o", "json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    record: dict[str, Any] = json.loads(captured.out)
    return record


def _size(record: dict[str, Any], axis: str) -> float:
    size = record["smallest_caught"][axis]["size"]
    return math.inf if size is None else float(size)


def test_more_traffic_catches_smaller_regressions(capsys: pytest.CaptureFixture[str]) -> None:
    records = [_sensitivity(capsys, "--rps", rps, "--runs", "30") for rps in ("5", "50", "500")]

    for axis in ("error_rate", "p50", "p99_only"):
        sizes = [_size(record, axis) for record in records]
        assert sizes == sorted(sizes, reverse=True), (axis, sizes)
    # At 500 req/s a doubled error rate is caught, at 5 req/s it is not.
    assert _size(records[2], "error_rate") < 2.0 < _size(records[0], "error_rate")


def test_json_names_the_plan_and_every_figure(capsys: pytest.CaptureFixture[str]) -> None:
    record = _sensitivity(
        capsys, "--rps", "50", "--error-rate", "2", "--steps", "20,50", "--runs", "20"
    )

    assert record["rps"] == 50 and record["stable_error_rate_percent"] == 2
    assert record["plan"]["steps"] == [20, 50]
    assert record["plan"]["step_duration"] == "2m" and record["plan"]["interval"] == "30s"
    assert "kcanary's plan" in record["plan"]["simulated"]
    assert record["catch_probability"] == 0.9 and record["runs"] == 20 and record["seed"] == 7
    assert set(record["smallest_caught"]) == {"error_rate", "p50", "p99_only"}
    for found in record["smallest_caught"].values():
        assert set(found) == {"size", "catch_rate", "largest_searched", "meaning"}
        assert found["size"] is None or found["catch_rate"] >= 0.9
    assert "p99" in record["smallest_caught"]["p99_only"]["meaning"]
    good = record["good_canary"]
    assert good["median_seconds_to_promotion"] == 240.0  # two steps of 2 minutes
    assert good["false_rollback_rate"] == 0.0
    assert record["cpu_seconds"] >= 0


def test_text_output_names_the_effect_axes(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["sensitivity", "--rps", "200", "--steps", "50", "--runs", "20", "--seed", SEED])
    out = capsys.readouterr().out

    assert code == 0
    assert "plan simulated: kcanary's plan" in out
    assert "p50 x" in out and "p99 x" in out and "stable's" in out
    assert "good canary (A/A): promoted after 2m (median)" in out


BAD_INPUTS = [
    ([], "--rps is missing: give the request rate, e.g. --rps 50"),
    (["--rps", "0"], "--rps 0: give a request rate above 0, e.g. 50"),
    (["--rps", "-3"], "--rps -3: give a request rate above 0, e.g. 50"),
    (["--rps", "fast"], "--rps 'fast' is not a number"),
    (["--rps", "nan"], "--rps 'nan' must be a finite number"),
    (
        ["--rps", "5", "--error-rate", "0"],
        "--error-rate 0: give stable's error rate in percent, above 0 and below 100, e.g. 1",
    ),
    (
        ["--rps", "5", "--error-rate", "100"],
        "--error-rate 100: give stable's error rate in percent, above 0 and below 100, e.g. 1",
    ),
    (
        ["--rps", "5", "--steps", "50,10"],
        "--steps '50,10': step 2 (10) must be greater than the weight before it (50): weights "
        "strictly increase",
    ),
    (
        ["--rps", "5", "--steps", "10,x"],
        '--steps \'10,x\': step 2 "x" is not a percentage 1-100 or "pause"/"pause:DURATION"',
    ),
    (
        ["--rps", "5", "--steps", "10,pause,50"],
        "--steps '10,pause,50': a pause waits for a person, which cannot be simulated; give the "
        "weights only",
    ),
    (
        ["--rps", "5", "--step-duration", "120"],
        '--step-duration: "120" is not a duration: use a number with a unit, like 30s, 2m, '
        "1h30m or 250ms",
    ),
    (["--rps", "5", "--step-duration", "0s"], "--step-duration: must be longer than 0s"),
    (
        ["--rps", "5", "--interval", "30"],
        '--interval: "30" is not a duration: use a number with a unit, like 30s, 2m, 1h30m or '
        "250ms",
    ),
    (["--rps", "5", "--interval", "500ms"], "--interval: 500ms is too short: use at least 1s"),
    (
        ["--rps", "5", "--runs", "5"],
        "--runs 5: give at least 20, or a 90% catch rate cannot be told apart",
    ),
    (["--rps", "5", "--runs", "many"], "--runs 'many' is not a whole number"),
    (["--rps", "5", "--seed", "-1"], "--seed -1: give a whole number >= 0"),
    (["--rps", "5", "-o", "yaml"], "-o 'yaml': use text or json"),
]


@pytest.mark.parametrize(("args", "message"), BAD_INPUTS, ids=[m for _, m in BAD_INPUTS])
def test_bad_input_is_one_line_and_exit_code_2(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code = main(["sensitivity", *args])
    err = capsys.readouterr().err

    assert code == 2
    assert "Traceback" not in err
    assert err.strip().splitlines() == [f"error: {message}"]

"""`kcanary demo` ends each scenario with the expected decision, as a new user would see it.

The demo is the README's main command: it starts its own local cluster and controller, so these
two run side by side as subprocesses, exactly as a user runs them.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml


def start_demo(scenario: str, out: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "kcanary", "demo", "--scenario", scenario, "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
    )


def test_a_good_canary_is_promoted_and_a_bad_one_rolled_back(tmp_path: Path) -> None:
    demos = {name: start_demo(name, tmp_path / name) for name in ("good", "error-regression")}
    outputs = {}
    for name, demo in demos.items():
        output, _ = demo.communicate(timeout=240)
        outputs[name] = output
        assert demo.returncode == 0, f"{name} demo failed:\n{output}"

    good = outputs["good"]
    assert "OK: the rollout ended Stable (expected Stable)." in good
    assert "Decision: promoted" in good
    for weight in ("canary  10%", "canary  25%", "canary  50%"):
        assert weight in good, f"the good demo never showed {weight}"

    bad = outputs["error-regression"]
    assert "OK: the rollout ended RolledBack (expected RolledBack)." in bad
    assert "Decision: rolled-back" in bad
    assert "error-rate-harm" in bad

    rollout = yaml.safe_load((tmp_path / "error-regression" / "rollout.yaml").read_text())
    status = rollout["status"]
    assert status["phase"] == "RolledBack"
    assert status["canaryWeight"] == 0
    assert status["history"][-1]["outcome"] == "rolled-back"
    events = (tmp_path / "error-regression" / "events.txt").read_text()
    assert "Warning" in events


def test_an_unknown_scenario_is_refused_with_the_choices() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "kcanary", "demo", "--scenario", "nope"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "invalid choice: 'nope'" in result.stderr
    assert "error-regression" in result.stderr

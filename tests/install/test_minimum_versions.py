"""The declared floors are true: exactly those versions install together, and tests pass on them.

A floor that is too low lets pip keep an old release the code cannot run on (a missing method is
found by a user, at run time). The venv gets the runtime requirements and the `local` extra's
(the test harness starts the local API server) pinned to their floors, then runs the analysis and
rollout tests, which call numpy, scipy, pydantic, prometheus-api-client and PyYAML.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from venvs import REPO, Venv, floor_pins, make_venv, normalized, project, requirements

# Monte Carlo checks of the tests' error rates: a minute of numpy that adds no call to the floors.
SLOW = "tests/analysis/test_ville_inequality.py"


@pytest.fixture(scope="module")
def floor_venv(tmp_path_factory: pytest.TempPathFactory) -> Venv:
    venv = make_venv(tmp_path_factory.mktemp("floors") / "venv")
    pins = floor_pins(requirements("local"))
    venv.pip_install(*(f"{name}=={version}" for name, version in pins.items()), "pytest",
                     "pytest-timeout")  # fmt: skip
    return venv


def test_every_requirement_of_the_package_and_its_extras_has_a_floor() -> None:
    table = project()
    for extra in table["optional-dependencies"]:
        if extra == "dev":
            continue  # tools, pinned or not as each needs; never installed by a user
        for requirement in requirements(extra):
            floor_pins([requirement])  # fails naming the requirement without a floor


def test_the_build_requires_the_setuptools_that_reads_an_spdx_license() -> None:
    # `license = "Apache-2.0"` (PEP 639) is an error before setuptools 77.
    text = (REPO / "pyproject.toml").read_text()
    assert 'license = "Apache-2.0"' in text
    assert 'requires = ["setuptools>=77"]' in text


@pytest.mark.timeout(900)
def test_the_floors_install_together_as_declared(floor_venv: Venv) -> None:
    installed = floor_venv.distributions()
    pins = floor_pins(requirements("local"))
    assert {name: _release(installed.get(name, "0")) for name in pins} == {
        name: _release(version) for name, version in pins.items()
    }


@pytest.mark.timeout(900)
def test_analysis_and_rollout_tests_pass_on_the_floors(floor_venv: Venv, tmp_path: Path) -> None:
    result = subprocess.run(
        [str(floor_venv.python), "-m", "pytest", "tests/analysis", "tests/rollout", "-q", "-x",
         "-p", "no:cacheprovider", "--deselect", SLOW, "--basetemp", str(tmp_path / "pytest")],
        cwd=REPO, capture_output=True, text=True, timeout=600, env=floor_venv.env(),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout.splitlines()[-1]
    assert normalized("numpy") in floor_venv.distributions()


def _release(version: str) -> tuple[int, ...]:
    """`1.26` and `1.26.0` are the same release."""
    parts = [int(part) for part in version.split(".")]
    while parts and parts[-1] == 0:
        parts.pop()
    return tuple(parts)

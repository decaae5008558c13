"""`kcanary completion bash|zsh|fish`: a script the shell sources, after which a TAB completes
kcanary's verbs and flags from the same parser that runs them."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from cli_harness import VENV_BIN, Kcanary
from kubectl_harness import PINNED_KUBECTL

# Sources the script, then does what bash does on TAB: set the COMP_* variables and call the
# function `complete -p kcanary` names, then print what it put in COMPREPLY, one per line.
COMPLETE_IN_BASH = r"""
source <(kcanary completion bash)
COMP_LINE="$1"
COMP_POINT=${#COMP_LINE}
read -r -a COMP_WORDS <<< "$COMP_LINE"
[[ "$COMP_LINE" == *" " ]] && COMP_WORDS+=("")
COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
function=$(complete -p kcanary | sed -E 's/.*-F ([^ ]+).*/\1/')
"$function" kcanary "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\n' "${COMPREPLY[@]}"
"""


def complete_in_bash(line: str) -> list[str]:
    bash = shutil.which("bash")
    assert bash is not None, "bash is not installed"
    env = dict(os.environ)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    done = subprocess.run(
        [bash, "--norc", "--noprofile", "-c", COMPLETE_IN_BASH, "complete", line],
        capture_output=True, text=True, env=env, timeout=60, check=True,
    )  # fmt: skip
    return [word.strip() for word in done.stdout.splitlines() if word.strip()]


def test_bash_completes_a_verb_from_its_prefix() -> None:
    assert complete_in_bash("kcanary pro") == ["promote"]


def test_bash_completes_a_verbs_flags() -> None:
    flags = complete_in_bash("kcanary status --ti")
    assert flags == ["--timeout"]


def test_bash_completes_an_arguments_choices_and_no_flags_until_a_dash_is_typed() -> None:
    assert sorted(complete_in_bash("kcanary completion ")) == ["bash", "fish", "zsh"]


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_each_shell_gets_a_script_that_calls_kcanary(kcanary: Kcanary, shell: str) -> None:
    result = kcanary("completion", shell, cluster_flags=False)
    assert result.code == 0, result.err
    assert "_ARGCOMPLETE" in result.out
    assert "kcanary" in result.out


def test_an_unknown_shell_is_refused_naming_the_ones_there_are(kcanary: Kcanary) -> None:
    result = kcanary("completion", "tcsh", cluster_flags=False)
    assert result.code == 2
    assert "invalid choice: 'tcsh' (choose from 'bash', 'zsh', 'fish')" in result.err


def complete_through_kubectl(env: dict[str, str], *words: str) -> list[str]:
    """What kubectl's completion script gets for `kubectl canary WORDS<TAB>`: kubectl runs the
    installed kubectl_complete-canary and prints its lines, then `:DIRECTIVE`."""
    assert PINNED_KUBECTL is not None, "the dev extra's kubectl is not installed"
    done = subprocess.run(
        [PINNED_KUBECTL, "__complete", "canary", *words],
        capture_output=True, text=True, env=env, timeout=60, check=True,
    )  # fmt: skip
    return [line for line in done.stdout.splitlines() if line and not line.startswith(":")]


def test_kubectl_completes_a_plugin_verb_through_kubectl_complete_canary(
    process_env: dict[str, str],
) -> None:
    assert complete_through_kubectl(process_env, "pro") == ["promote"]
    assert complete_through_kubectl(process_env, "status", "--ti") == ["--timeout"]
    assert sorted(complete_through_kubectl(process_env, "completion", "")) == [
        "bash",
        "fish",
        "zsh",
    ]

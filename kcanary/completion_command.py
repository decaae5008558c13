"""`kcanary completion bash|zsh|fish`: the script that makes the shell complete kcanary's commands.

The script is argcomplete's: on TAB the shell runs `kcanary` itself with the line so far in the
environment, and `kcanary.cli.main` answers from the same argparse parser that runs the command,
so a new verb or flag completes without editing a script. argcomplete over shtab because shtab
writes no fish script; the price is one start of `kcanary` per TAB.
"""

from __future__ import annotations

import argparse
from typing import Any

SHELLS = ("bash", "zsh", "fish")
EXECUTABLES = ("kcanary",)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "completion",
        help="print a shell completion script (bash, zsh or fish)",
        description="Print the script that makes the shell complete kcanary's commands and "
        "flags. bash: `source <(kcanary completion bash)` in ~/.bashrc; zsh: the same in "
        "~/.zshrc after compinit; fish: `kcanary completion fish | source` in "
        "~/.config/fish/config.fish. `kubectl canary` completes through kubectl's own "
        "completion (kubectl 1.26+ runs the installed kubectl_complete-canary).",
    )
    parser.add_argument("shell", choices=SHELLS, help="the shell to complete in")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # Only this command and a completion request pay for the import.
    from argcomplete.shell_integration import shellcode

    print(shellcode(list(EXECUTABLES), shell=args.shell))
    return 0

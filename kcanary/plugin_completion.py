"""`kubectl_complete-canary`: what kubectl (1.26 and later) runs to complete `kubectl canary ...`.

kubectl's completion script asks kubectl itself (`kubectl __complete canary pro`); kubectl finds
this program on PATH by its name, runs it with the words after `canary` (the last is the word
being completed, empty after a space) and offers each line it prints. The candidates come from
the `kcanary` parser through argcomplete, as after `kcanary completion`, so both complete alike.
"""

from __future__ import annotations

import contextlib
import io
import os
import shlex
import sys
from collections.abc import Sequence

import argcomplete

from kcanary.cli import build_parser


def candidates(words: Sequence[str]) -> list[str]:
    """What completes the last of `words` (the words after `kubectl canary`)."""
    *before, current = list(words) or [""]
    line = " ".join(["kubectl-canary", *(shlex.quote(word) for word in before), current])
    # argcomplete reads the request from the environment a shell script would set; this program
    # answers one request and exits, so it sets them for itself. "fish" because kubectl's own
    # script quotes what it offers: argcomplete must not escape it a second time.
    os.environ.update(
        _ARGCOMPLETE="1",
        _ARGCOMPLETE_IFS="\n",
        _ARGCOMPLETE_SHELL="fish",
        _ARGCOMPLETE_SUPPRESS_SPACE="1",
        COMP_LINE=line,
        COMP_POINT=str(len(line)),
    )
    answer = io.StringIO()
    # It ends by calling exit_method, as a shell's request must: here that only ends the answer.
    with contextlib.suppress(SystemExit):
        argcomplete.autocomplete(
            build_parser(),
            always_complete_options=False,
            output_stream=answer,
            exit_method=sys.exit,
        )
    return [candidate.strip() for candidate in answer.getvalue().split("\n") if candidate.strip()]


def main(argv: Sequence[str] | None = None) -> int:
    for candidate in candidates(sys.argv[1:] if argv is None else argv):
        print(candidate)
    return 0


if __name__ == "__main__":
    sys.exit(main())

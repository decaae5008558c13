"""The README's table of strategy fields and defaults is the schema's own."""

from __future__ import annotations

from pathlib import Path

from rollout.strategy import Strategy

README = Path(__file__).resolve().parents[2] / "README.md"
BEGIN, END = "<!-- strategy-table:begin -->\n", "<!-- strategy-table:end -->"


def test_the_readme_shows_the_generated_strategy_table() -> None:
    text = README.read_text()
    shown = text[text.index(BEGIN) + len(BEGIN) : text.index(END)]
    assert shown == Strategy.to_doc(), (
        "README's strategy table is out of date: replace it with the output of "
        "`python -c 'from rollout.strategy import Strategy; print(Strategy.to_doc(), end=\"\")'`"
    )

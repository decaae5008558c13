"""pytest imports test modules by basename (rootdir-relative, no packages): two test areas with
a module of the same name would shadow each other, so every name must be unique."""

from __future__ import annotations

from collections import Counter
from pathlib import Path


def test_every_test_module_name_is_unique_across_areas() -> None:
    names = Counter(
        path.name for path in Path(__file__).parent.rglob("*.py") if path.name != "conftest.py"
    )
    assert [name for name, count in names.items() if count > 1] == []

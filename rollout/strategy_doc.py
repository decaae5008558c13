"""The README's strategy table, generated from the schema so the two never disagree."""

from __future__ import annotations

from enum import Enum

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined


def strategy_table() -> str:
    """A Markdown table: YAML field, short annotation, default, meaning."""
    from rollout.annotations import SHORT_KEYS
    from rollout.strategy import Strategy

    short_by_path = {".".join(short.path): short.key for short in SHORT_KEYS}
    lines = [
        "| Field in `kcanary.io/analysis` | Short annotation | Default | Meaning |",
        "|---|---|---|---|",
    ]
    defaults = Strategy.model_construct().model_dump(mode="json", by_alias=True)
    for path, info in _leaf_fields(Strategy, ()):
        dotted = ".".join(path)
        short = short_by_path.get(dotted, "")
        default = _default_at(defaults, path)
        lines.append(
            f"| `{dotted}` | {f'`{short}`' if short else ''} | {default} | "
            f"{_cell(info.description or '')} |"
        )
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    """A `|` inside a cell would end it."""
    return text.replace("|", "\\|")


def _leaf_fields(
    model: type[BaseModel], prefix: tuple[str, ...]
) -> list[tuple[tuple[str, ...], FieldInfo]]:
    rows: list[tuple[tuple[str, ...], FieldInfo]] = []
    for name, info in model.model_fields.items():
        alias = info.alias or name
        nested = info.annotation
        if isinstance(nested, type) and issubclass(nested, BaseModel):
            rows.extend(_leaf_fields(nested, (*prefix, alias)))
        else:
            rows.append(((*prefix, alias), info))
    return rows


def _default_at(defaults: object, path: tuple[str, ...]) -> str:
    value = defaults
    for part in path:
        if not isinstance(value, dict) or part not in value:
            return "required"
        value = value[part]
    if value is None or value is PydanticUndefined:
        return "none"
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, bool):  # as YAML writes it
        return "`true`" if value else "`false`"
    if isinstance(value, list):
        return "`" + ",".join(str(item) for item in value) + "`" if value else "none"
    if isinstance(value, dict):
        return "none" if not value else f"`{value}`"
    return f"`{value}`"

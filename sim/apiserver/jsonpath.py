"""The JSONPath subset that printer columns use, evaluated over decoded JSON.

CRD `additionalPrinterColumns` use Kubernetes JSONPath without the braces: field steps
(`.status.phase`, `['odd.key']`), array indexes and slices (`[0]`, `[-1]`, `[*]`, `[1:3]`) and
filters (`[?(@.type=="Ready")]`, `[?(@.weight>10)]`, `[?(@.tag)]`). `find` returns every match
in document order; a column shows the first.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any


class JSONPathError(ValueError):
    """A path this evaluator cannot read; CRD validation reports it."""


@dataclass(frozen=True)
class _Field:
    name: str


@dataclass(frozen=True)
class _Index:
    start: int | None
    stop: int | None
    single: bool  # `[n]` rather than a slice or `[*]`


@dataclass(frozen=True)
class _Filter:
    path: tuple[_Field | _Index, ...]
    operator: str | None  # None: the path exists
    literal: Any


_Step = _Field | _Index | _Filter

_FIELD = re.compile(r"\.([A-Za-z0-9_\-$/\\]+(?:\\\.[A-Za-z0-9_\-$/]+)*)")
_BRACKET_NAME = re.compile(r"\[\s*(['\"])(.*?)\1\s*\]")
_INDEX = re.compile(r"\[\s*(-?\d*)\s*(?::\s*(-?\d*)\s*)?\]")
_STAR = re.compile(r"\[\s*\*\s*\]|\.\*")
_FILTER = re.compile(
    r"\[\s*\?\(\s*@((?:\.[A-Za-z0-9_\-]+|\[\d+\])*)\s*(?:(==|!=|<=|>=|<|>)\s*(.+?))?\s*\)\s*\]"
)


def parse(path: str) -> tuple[_Step, ...]:
    """Parse a JSONPath such as `.status.conditions[?(@.type=="Ready")].status`."""
    text = path.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1].strip()
    if text.startswith("$"):
        text = text[1:]
    steps: list[_Step] = []
    position = 0
    while position < len(text):
        for pattern in (_STAR, _FILTER, _BRACKET_NAME, _INDEX, _FIELD):
            match = pattern.match(text, position)
            if match:
                steps.append(_step(pattern, match))
                position = match.end()
                break
        else:
            raise JSONPathError(f"unrecognized character in JSONPath {path!r} at {position}")
    return tuple(steps)


def _step(pattern: re.Pattern[str], match: re.Match[str]) -> _Step:
    if pattern is _STAR:
        return _Index(None, None, single=False)
    if pattern is _FILTER:
        inner = parse(match.group(1)) if match.group(1) else ()
        literal = _literal(match.group(3)) if match.group(2) else None
        path = tuple(s for s in inner if not isinstance(s, _Filter))
        return _Filter(path, match.group(2), literal)
    if pattern is _BRACKET_NAME:
        return _Field(match.group(2))
    if pattern is _INDEX:
        start, stop = match.group(1), match.group(2)
        if stop is None:
            if not start:
                raise JSONPathError("empty array index")
            return _Index(int(start), None, single=True)
        return _Index(int(start) if start else None, int(stop) if stop else None, single=False)
    return _Field(match.group(1).replace("\\.", "."))


def _literal(text: str) -> Any:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    try:
        return json.loads(text)
    except ValueError:
        return text


def find(obj: Any, path: str | tuple[_Step, ...]) -> list[Any]:
    """Every value `path` selects in `obj`, in document order (empty when nothing matches)."""
    steps = parse(path) if isinstance(path, str) else path
    current = [obj]
    for step in steps:
        current = [found for node in current for found in _apply(node, step)]
    return current


def _apply(node: Any, step: _Step) -> list[Any]:
    if isinstance(step, _Field):
        if isinstance(node, dict) and step.name in node:
            return [node[step.name]]
        return []
    if isinstance(step, _Index):
        if not isinstance(node, list):
            return []
        if step.single:
            assert step.start is not None
            index = step.start + len(node) if step.start < 0 else step.start
            return [node[index]] if 0 <= index < len(node) else []
        return node[step.start : step.stop]
    items = node if isinstance(node, list) else [node] if isinstance(node, dict) else []
    return [item for item in items if _passes(item, step)]


def _passes(item: Any, step: _Filter) -> bool:
    found = find(item, step.path)
    if step.operator is None:
        return bool(found)
    if not found:
        return False
    value, literal = found[0], step.literal
    if step.operator == "==":
        return bool(value == literal)
    if step.operator == "!=":
        return bool(value != literal)
    try:
        if step.operator == "<":
            return bool(value < literal)
        if step.operator == ">":
            return bool(value > literal)
        if step.operator == "<=":
            return bool(value <= literal)
        return bool(value >= literal)
    except TypeError:
        return False

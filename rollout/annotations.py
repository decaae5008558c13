"""Reading the strategy from an InferenceService's annotations.

The short keys are sugar for fields of the `Strategy` schema; `kcanary.io/analysis` holds the full
YAML. When both give the same field, equal values are fine and different ones are refused, naming
both places, so nobody has to learn a precedence rule to find out why a value was ignored.

`parse_strategy` never raises on user input: a problem comes back as an `InvalidStrategy` that
names the annotation and says, in one line, what to change. The reconciler turns it into
`Ready=False, reason=InvalidSpec` and a Warning Event.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import ValidationError

from rollout.durations import parse_duration
from rollout.steps import parse_steps
from rollout.strategy import MetricsSource, Strategy, StrategyKind, TrafficMode, read_flag

PREFIX = "kcanary.io/"
STRATEGY = "kcanary.io/strategy"
ANALYSIS = "kcanary.io/analysis"
ACTION = "kcanary.io/action"
"""Manual actions (rollout.manual) live beside the strategy but are not part of it."""


@dataclass(frozen=True)
class InvalidStrategy:
    """A strategy kcanary cannot use: which annotation, and what to change, in one line."""

    key: str
    problem: str

    @property
    def message(self) -> str:
        return f"{self.key}: {self.problem}"

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class ShortKey:
    """One short annotation: the schema field it sets and how its text is read."""

    key: str
    path: tuple[str, ...]
    read: Callable[[str], object]
    """Turns the text into the value compared with the YAML's; raises ValueError if unusable."""


def _enum_reader(kind: type[TrafficMode] | type[MetricsSource] | type[StrategyKind]) -> Any:
    choices = " | ".join(member.value for member in kind)

    def read(text: str) -> object:
        try:
            return kind(text.strip())
        except ValueError:
            raise ValueError(f"must be one of {choices}") from None

    return read


def _name(text: str) -> str:
    if not text.strip():
        raise ValueError("is empty: give the name of the route to adopt")
    return text.strip()


def _names(text: str) -> tuple[str, ...]:
    names = tuple(part.strip() for part in text.split(","))
    if not all(names):
        raise ValueError("has an empty entry: give names separated by commas, like a,b")
    return names


SHORT_KEYS: tuple[ShortKey, ...] = (
    ShortKey(STRATEGY, ("strategy",), _enum_reader(StrategyKind)),
    ShortKey("kcanary.io/traffic", ("traffic", "mode"), _enum_reader(TrafficMode)),
    ShortKey("kcanary.io/steps", ("steps",), parse_steps),
    ShortKey("kcanary.io/interval", ("interval",), parse_duration),
    ShortKey("kcanary.io/step-duration", ("stepDuration",), parse_duration),
    ShortKey("kcanary.io/advance-on-pass", ("advanceOnPass",), read_flag),
    ShortKey("kcanary.io/extend-inconclusive", ("extendInconclusive",), parse_duration),
    ShortKey("kcanary.io/warmup", ("warmup",), parse_duration),
    ShortKey("kcanary.io/metrics", ("metrics", "source"), _enum_reader(MetricsSource)),
    ShortKey("kcanary.io/route", ("traffic", "route"), _name),
    ShortKey("kcanary.io/hosts", ("traffic", "hosts"), _names),
    ShortKey("kcanary.io/gateways", ("traffic", "gateways"), _names),
)
KNOWN_KEYS = frozenset({ANALYSIS, ACTION} | {short.key for short in SHORT_KEYS})


def is_managed(annotations: Mapping[str, str]) -> bool:
    """kcanary acts on an ISVC only while it carries the strategy annotation."""
    return STRATEGY in annotations


def parse_strategy(annotations: Mapping[str, str]) -> Strategy | InvalidStrategy:
    """The strategy the annotations describe, or why they cannot be used."""
    if STRATEGY not in annotations:
        return InvalidStrategy(STRATEGY, "is missing: set it to canary")
    misspelt = _misspelt_key(annotations)
    if misspelt is not None:
        return misspelt
    document = _analysis_document(annotations.get(ANALYSIS))
    if isinstance(document, InvalidStrategy):
        return document
    origin: dict[tuple[str, ...], str] = {}
    for short in SHORT_KEYS:
        if short.key not in annotations:
            continue
        problem = _merge_short_key(document, short, annotations[short.key])
        if problem is not None:
            return problem
        origin[short.path] = short.key
    traffic = document.get("traffic")
    if traffic is None or (isinstance(traffic, dict) and traffic.get("mode") is None):
        return InvalidStrategy(
            "kcanary.io/traffic", "is missing: set it to istio, gateway-api or kserve"
        )
    try:
        return Strategy.model_validate(document)
    except ValidationError as error:
        return _explain(error, origin, annotations)


def _misspelt_key(annotations: Mapping[str, str]) -> InvalidStrategy | None:
    """A `kcanary.io/` key close to a known one is a typo that would silently do nothing."""
    for key in annotations:
        if not key.startswith(PREFIX) or key in KNOWN_KEYS:
            continue
        close = difflib.get_close_matches(key, sorted(KNOWN_KEYS), n=1, cutoff=0.8)
        if close:
            return InvalidStrategy(key, f"is not a kcanary annotation: did you mean {close[0]}?")
    return None


def _analysis_document(text: str | None) -> dict[str, Any] | InvalidStrategy:
    if text is None or not text.strip():
        return {}
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or "cannot be parsed"
        return InvalidStrategy(ANALYSIS, f"is not valid YAML{where}: {problem}")
    if document is None:
        return {}
    if not isinstance(document, dict):
        return InvalidStrategy(ANALYSIS, "must be a YAML mapping of fields, like 'steps: [10, 50]'")
    return document


def _merge_short_key(
    document: dict[str, Any], short: ShortKey, text: str
) -> InvalidStrategy | None:
    """Put the short key's value into the document, refusing a different value already there."""
    try:
        value = short.read(text)
    except ValueError as error:
        return InvalidStrategy(short.key, f'"{text}": {error}')
    parent: Any = document
    for part in short.path[:-1]:
        child = parent.get(part) if isinstance(parent, dict) else None
        if child is None:
            child = {}
            parent[part] = child
        if not isinstance(child, dict):
            return None  # the YAML is wrong there; full validation reports it
        parent = child
    leaf = short.path[-1]
    if leaf in parent and parent[leaf] is not None:
        existing = _read_yaml_value(short, parent[leaf])
        if existing is not None and existing != value:
            field = ".".join(short.path)
            return InvalidStrategy(
                short.key,
                f'"{text}" conflicts with {field}: {_show(parent[leaf])} in {ANALYSIS}; '
                "remove one of them",
            )
    parent[leaf] = text if isinstance(value, str) else value
    return None


def _read_yaml_value(short: ShortKey, raw: object) -> object | None:
    """The YAML's value in the short key's terms, or None if it cannot be read that way."""
    try:
        if isinstance(raw, list | tuple) and short.read is parse_steps:
            return parse_steps(list(raw))
        if isinstance(raw, list | tuple):
            return tuple(str(item).strip() for item in raw)
        return short.read(str(raw))
    except ValueError:
        return None


def _show(value: object) -> str:
    if isinstance(value, bool):  # as the YAML wrote it
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(str(item) for item in value) + "]"
    return str(value)


_SHAPES = {
    "model_type": "should be a mapping of fields (key: value)",
    "model_attributes_type": "should be a mapping of fields (key: value)",
    "dict_type": "should be a mapping (key: value)",
    "tuple_type": "should be a list",
    "list_type": "should be a list",
}
"""Pydantic's wording for a wrong shape names our classes; say it in YAML's terms instead."""


def _explain(
    error: ValidationError, origin: Mapping[tuple[str, ...], str], annotations: Mapping[str, str]
) -> InvalidStrategy:
    """The first validation problem, attributed to the annotation its value came from."""
    first = error.errors()[0]
    location = tuple(str(part) for part in first["loc"])
    message = str(first["msg"]).removeprefix("Value error, ")
    for path, key in origin.items():
        if location[: len(path)] == path:
            return InvalidStrategy(key, f'"{annotations[key]}": {message}')
    where = ".".join(location)
    kind = first["type"]
    if kind == "extra_forbidden":
        return InvalidStrategy(ANALYSIS, f'"{where}": unknown field; check its spelling')
    if not where:
        return InvalidStrategy(ANALYSIS, message)
    if kind == "missing":
        return InvalidStrategy(ANALYSIS, f"{where}: is required")
    if kind in _SHAPES:
        return InvalidStrategy(ANALYSIS, f"{where}: {_SHAPES[kind]} (got {_show(first['input'])})")
    return InvalidStrategy(ANALYSIS, f"{where}: {message} (got {_show(first['input'])})")

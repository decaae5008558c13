"""Label and field selectors of list and watch requests, parsed as the real server parses them.

Label selectors: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`, `a>3`, `a<3`,
joined by commas (AND). Field selectors: `f=v`, `f==v`, `f!=v`, joined by commas, on the
fields a kind supports (`metadata.name`, `metadata.namespace` everywhere, more for some kinds);
any other field is refused as the real server refuses it. Errors carry the real messages, which
the server returns in a 400 BadRequest.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sim.apiserver.objectmeta import label_value_problems, qualified_name_problems
from sim.apiserver.resources import ResourceType


class SelectorError(ValueError):
    """A selector that cannot be parsed or uses a field the kind does not support."""


@dataclass(frozen=True)
class Requirement:
    key: str
    operator: str  # = != in notin exists !exists gt lt
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        if self.operator in ("=", "in"):
            return present and value in self.values
        if self.operator in ("!=", "notin"):
            return not present or value not in self.values
        if self.operator == "exists":
            return present
        if self.operator == "!exists":
            return not present
        try:
            number = int(value or "")
        except ValueError:
            return False
        limit = int(self.values[0])
        return number > limit if self.operator == "gt" else number < limit


@dataclass(frozen=True)
class LabelSelector:
    """A conjunction of requirements; the empty selector matches everything."""

    requirements: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        return all(r.matches(labels or {}) for r in self.requirements)

    @property
    def empty(self) -> bool:
        return not self.requirements


_TOKEN = re.compile(r"\s*(!=|==|=|!|\(|\)|,|>|<|[^\s!=(),<>]+)")
_OPERATORS = {"=", "==", "!=", "in", "notin", ">", "<"}


def _tokenize(text: str) -> list[str]:
    tokens: list[str] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match:
            break  # only trailing whitespace is left
        tokens.append(match.group(1))
        position = match.end()
    return tokens


def _describe(token: str | None) -> str:
    return "" if token is None else token


class _LabelParser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.position = 0

    def peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> str | None:
        token = self.peek()
        self.position += 1
        return token

    def fail(self, found: str | None, expected: str) -> SelectorError:
        """An error inside one requirement; the real parser prefixes these."""
        return SelectorError(
            f"unable to parse requirement: found '{_describe(found)}', expected: {expected}"
        )

    def identifier(self, token: str | None, expected: str) -> str:
        if token is None or token in ("!", "!=", "=", "==", "(", ")", ",", ">", "<"):
            raise self.fail(token, expected)
        return token

    def requirement(self) -> Requirement:
        token = self.take()
        if token == "!":
            key = self.identifier(self.take(), "identifier")
            _check_key(key)
            return Requirement(key, "!exists")
        key = self.identifier(token, "!, identifier, or 'end of string'")
        _check_key(key)
        operator = self.peek()
        if operator is None or operator == ",":
            return Requirement(key, "exists")
        if operator not in _OPERATORS:
            raise self.fail(operator, "in, notin, =, ==, !=, gt, lt")
        self.take()
        if operator in ("in", "notin"):
            return Requirement(key, operator, self.value_set())
        upcoming = self.peek()
        empty = upcoming is None or upcoming == ","
        value = "" if empty else self.identifier(self.take(), "identifier")
        if operator in (">", "<"):
            if not re.fullmatch(r"-?\d+", value):
                raise SelectorError(
                    f'unable to parse requirement: <nil>: Invalid value: "{value}": '
                    "for 'Gt', 'Lt' operators, the value must be an integer"
                )
            return Requirement(key, "gt" if operator == ">" else "lt", (value,))
        _check_value(value)
        return Requirement(key, "!=" if operator == "!=" else "=", (value,))

    def value_set(self) -> tuple[str, ...]:
        token = self.take()
        if token != "(":
            raise self.fail(token, "'('")
        values: list[str] = []
        while True:
            token = self.take()
            if token == ")" and not values:
                raise SelectorError(
                    "unable to parse requirement: values: Invalid value: []string{}: for 'in', "
                    "'notin' operators, values set can't be empty"
                )
            if token in (",", ")"):
                values.append("")
            else:
                values.append(self.identifier(token, "',', ')' or identifier"))
                token = self.take()
            if token == ")":
                break
            if token != ",":
                raise self.fail(token, "',' or ')'")
        for value in values:
            _check_value(value)
        return tuple(values)


def _check_key(key: str) -> None:
    problems = qualified_name_problems(key)
    if problems:
        raise SelectorError(
            f'unable to parse requirement: <nil>: Invalid value: "{key}": {"; ".join(problems)}'
        )


def _check_value(value: str) -> None:
    problems = label_value_problems(value)
    if problems:
        raise SelectorError(
            "unable to parse requirement: values[0][key]: Invalid value: "
            f'"{value}": {"; ".join(problems)}'
        )


def parse_label_selector(text: str | None) -> LabelSelector:
    """Parse a `labelSelector` query parameter; raises `SelectorError` with the real message."""
    if not text or not text.strip():
        return LabelSelector()
    parser = _LabelParser(text)
    requirements = []
    while True:
        upcoming = parser.peek()
        if upcoming is None:
            break
        if upcoming in ("=", "==", "!=", "(", ")", ",", ">", "<"):
            raise SelectorError(f"found '{upcoming}', expected: !, identifier, or 'end of string'")
        requirements.append(parser.requirement())
        token = parser.take()
        if token is None:
            break
        if token != ",":
            raise SelectorError(f"found '{token}', expected: ',' or 'end of string'")
        following = parser.peek()
        if following is None or following in ("=", "==", "!=", "(", ")", ",", ">", "<"):
            raise SelectorError(f"found '{_describe(following)}', expected: identifier after ','")
    return LabelSelector(tuple(requirements))


def label_selector_from_object(selector: Mapping[str, Any]) -> LabelSelector:
    """A `metav1.LabelSelector` object (matchLabels, matchExpressions) as a selector."""
    requirements = [
        Requirement(k, "=", (v,)) for k, v in (selector.get("matchLabels") or {}).items()
    ]
    operators = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!exists"}
    for expression in selector.get("matchExpressions") or []:
        operator = operators.get(expression.get("operator", ""))
        if operator is None:
            raise SelectorError(
                f'"{expression.get("operator")}" is not a valid label selector operator'
            )
        requirements.append(
            Requirement(expression.get("key", ""), operator, tuple(expression.get("values") or ()))
        )
    return LabelSelector(tuple(requirements))


@dataclass(frozen=True)
class FieldRequirement:
    field: str  # as the client wrote it
    value: str
    negated: bool
    path: str = ""  # where the value lives in the object, when that differs from `field`

    @property
    def object_path(self) -> str:
        return self.path or self.field


@dataclass(frozen=True)
class FieldSelector:
    """A conjunction of `field=value` / `field!=value` terms."""

    requirements: tuple[FieldRequirement, ...] = ()

    def matches(self, obj: Mapping[str, Any]) -> bool:
        return all(
            (field_value(obj, r.object_path) == r.value) != r.negated for r in self.requirements
        )

    @property
    def empty(self) -> bool:
        return not self.requirements

    def exact_name(self) -> str | None:
        """The name a `metadata.name=X` term pins down (watch of a single object)."""
        for requirement in self.requirements:
            if requirement.field == "metadata.name" and not requirement.negated:
                return requirement.value
        return None


def field_value(obj: Mapping[str, Any], path: str) -> str:
    """The string form of a dotted field, "" when it is missing (as the real server)."""
    node: Any = obj
    for part in path.split("."):
        if not isinstance(node, Mapping):
            return ""
        node = node.get(part)
    if node is None:
        return ""
    if isinstance(node, bool):
        return "true" if node else "false"
    return str(node)


def _split_unescaped(text: str, separator: str) -> list[str]:
    """Split on `separator` not preceded by a backslash (values may escape `,`, `=`, `!`)."""
    parts, current, escaped = [], "", False
    for char in text:
        if escaped:
            current += "\\" + char
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == separator:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current + ("\\" if escaped else ""))
    return parts


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", r"\1", value)


def parse_field_selector(text: str | None, rtype: ResourceType) -> FieldSelector:
    """Parse a `fieldSelector` for this kind; unknown fields are refused as the server does."""
    if not text or not text.strip():
        return FieldSelector()
    requirements = []
    for term in _split_unescaped(text, ","):
        match = re.fullmatch(r"([^=!]*?)(!=|==|=)(.*)", term, flags=re.S)
        if not match:
            raise SelectorError(f"invalid selector: '{text}'; can't understand '{term}'")
        field, operator, value = match.group(1).strip(), match.group(2), match.group(3)
        if field not in rtype.field_selectors:
            raise SelectorError(f"field label not supported: {field}")
        # A few labels name another field of the object (a core Event's `source` is
        # `source.component`); such kinds map them in `extra["field_selector_paths"]`.
        path = rtype.extra.get("field_selector_paths", {}).get(field, "")
        requirements.append(FieldRequirement(field, _unescape(value), operator == "!=", path))
    return FieldSelector(tuple(requirements))

"""A small PromQL parser for checking dashboard queries without a Prometheus.

It covers the language the dashboards use and a little more: numbers, strings, selectors with
matchers, ranges and subqueries, `offset`, function calls, aggregations with `by`/`without` before
or after their arguments, unary signs, and binary operators with PromQL's precedence, `bool`,
`on`/`ignoring` and `group_left`/`group_right`. A query that does not parse raises
`PromQLSyntaxError` saying where.

`output_labels` then works out which labels each expression's series carry, given the labels of
each metric, so a test can tell a `by (label)` that can never group anything from one that can.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

AGGREGATIONS = frozenset(
    {
        "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
        "bottomk", "topk", "quantile", "limitk", "limit_ratio",
    }
)  # fmt: skip
FUNCTIONS = frozenset(
    {
        "abs", "absent", "absent_over_time", "avg_over_time", "ceil", "changes", "clamp",
        "clamp_max", "clamp_min", "count_over_time", "day_of_month", "day_of_week", "delta",
        "deriv", "exp", "floor", "histogram_quantile", "holt_winters", "idelta", "increase",
        "irate", "label_join", "label_replace", "last_over_time", "ln", "log10", "log2",
        "max_over_time", "min_over_time", "predict_linear", "present_over_time",
        "quantile_over_time", "rate", "resets", "round", "scalar", "sgn", "sort", "sort_desc",
        "sqrt", "stddev_over_time", "stdvar_over_time", "sum_over_time", "time", "timestamp",
        "vector",
    }
)  # fmt: skip
# Functions whose result keeps the labels of their (last) vector argument.
_LABEL_PRESERVING = FUNCTIONS - {"vector", "time", "scalar", "histogram_quantile", "absent"}

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<duration>(?:\d+(?:ms|s|m|h|d|w|y))+)
  | (?P<number>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<ident>[A-Za-z_:][A-Za-z0-9_:]*)
  | (?P<op>=~|!~|==|!=|<=|>=|[-+*/%^<>=(){}\[\],:@])
    """,
    re.VERBOSE,
)

_PRECEDENCE: tuple[frozenset[str], ...] = (
    frozenset({"or"}),
    frozenset({"and", "unless"}),
    frozenset({"==", "!=", "<=", "<", ">=", ">"}),
    frozenset({"+", "-"}),
    frozenset({"*", "/", "%", "atan2"}),
    frozenset({"^"}),
)
_SET_OPERATORS = frozenset({"and", "or", "unless"})


class PromQLSyntaxError(ValueError):
    """A query that is not valid PromQL; the message says where."""


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    position: int


@dataclass(frozen=True)
class Selector:
    metric: str | None
    matchers: tuple[tuple[str, str, str], ...]
    """(label, operator, quoted value) for each matcher, `__name__` included when written."""


@dataclass(frozen=True)
class Number:
    value: str


@dataclass(frozen=True)
class String:
    value: str


@dataclass(frozen=True)
class Call:
    function: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Aggregation:
    operator: str
    grouping: tuple[str, ...]
    without: bool
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Binary:
    operator: str
    lhs: Node
    rhs: Node
    matching: tuple[str, ...] | None = None
    """Labels of `on(...)`, or of `ignoring(...)` when `ignoring` is set; None without either."""
    ignoring: bool = False
    include: tuple[str, ...] = ()
    """Labels of `group_left(...)`/`group_right(...)`."""


@dataclass(frozen=True)
class Ranged:
    """A range (`x[5m]`), subquery (`x[5m:1m]`) or offset applied to an expression."""

    expr: Node
    modifiers: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class Unary:
    operator: str
    expr: Node


Node = Selector | Number | String | Call | Aggregation | Binary | Ranged | Unary


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise PromQLSyntaxError(
                f"unexpected character {text[position]!r} at {position} in {text!r}"
            )
        kind = match.lastgroup or ""
        if kind != "ws":
            tokens.append(Token(kind, match.group(), position))
        position = match.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.index = 0

    # -- token access -------------------------------------------------------------------------
    def peek(self, offset: int = 0) -> Token:
        return self.tokens[min(self.index + offset, len(self.tokens) - 1)]

    def next(self) -> Token:
        token = self.peek()
        self.index += 1
        return token

    def error(self, expected: str) -> PromQLSyntaxError:
        token = self.peek()
        found = repr(token.text) if token.kind != "end" else "the end"
        return PromQLSyntaxError(
            f"expected {expected} at {token.position} but found {found} in {self.text!r}"
        )

    def accept(self, text: str) -> bool:
        if self.peek().text == text and self.peek().kind in ("op", "ident"):
            self.index += 1
            return True
        return False

    def expect(self, text: str) -> None:
        if not self.accept(text):
            raise self.error(repr(text))

    # -- grammar ------------------------------------------------------------------------------
    def parse(self) -> Node:
        node = self.binary(0)
        if self.peek().kind != "end":
            raise self.error("an operator or the end of the query")
        return node

    def binary(self, level: int) -> Node:
        if level == len(_PRECEDENCE):
            return self.unary()
        lhs = self.binary(level + 1)
        while self.peek().text in _PRECEDENCE[level] and self.peek().kind in ("op", "ident"):
            operator = self.next().text
            is_bool = self.accept("bool")
            if is_bool and level != 2:
                raise PromQLSyntaxError(f"`bool` after {operator!r} in {self.text!r}")
            matching: tuple[str, ...] | None = None
            ignoring = False
            include: tuple[str, ...] = ()
            if self.peek().text in ("on", "ignoring"):
                ignoring = self.next().text == "ignoring"
                matching = self.label_list()
                if self.peek().text in ("group_left", "group_right"):
                    if operator in _SET_OPERATORS:
                        raise self.error("no grouping modifier on a set operator")
                    self.next()
                    include = self.label_list() if self.peek().text == "(" else ()
            # `^` is right-associative; the others are left-associative.
            rhs = self.binary(level) if operator == "^" else self.binary(level + 1)
            lhs = Binary(operator, lhs, rhs, matching, ignoring, include)
        return lhs

    def unary(self) -> Node:
        if self.peek().text in ("-", "+") and self.peek().kind == "op":
            operator = self.next().text
            return Unary(operator, self.unary())
        return self.postfix()

    def postfix(self) -> Node:
        node = self.primary()
        modifiers: list[str] = []
        while True:
            if self.accept("["):
                range_text = self.duration()
                if self.accept(":"):
                    step = self.duration() if self.peek().kind == "duration" else ""
                    range_text += ":" + step
                self.expect("]")
                modifiers.append(f"[{range_text}]")
            elif self.accept("offset"):
                sign = "-" if self.accept("-") else ""
                modifiers.append(f"offset {sign}{self.duration()}")
            elif self.accept("@"):
                token = self.next()
                if token.kind == "number":
                    modifiers.append(f"@ {token.text}")
                elif token.text in ("start", "end"):
                    self.expect("(")
                    self.expect(")")
                    modifiers.append(f"@ {token.text}()")
                else:
                    raise self.error("a timestamp, start() or end() after @")
            else:
                break
        return Ranged(node, tuple(modifiers)) if modifiers else node

    def duration(self) -> str:
        token = self.next()
        if token.kind != "duration":
            self.index -= 1
            raise self.error("a duration such as 5m")
        return token.text

    def primary(self) -> Node:
        token = self.peek()
        if token.kind == "number":
            self.next()
            return Number(token.text)
        if token.kind == "string":
            self.next()
            return String(token.text)
        if self.accept("("):
            node = self.binary(0)
            self.expect(")")
            return node
        if token.text == "{" and token.kind == "op":
            return Selector(None, self.matchers())
        if token.kind == "ident":
            name = token.text
            if name in AGGREGATIONS and self.peek(1).text in ("(", "by", "without"):
                return self.aggregation()
            if self.peek(1).text == "(":
                if name not in FUNCTIONS:
                    raise PromQLSyntaxError(f"unknown function {name!r} in {self.text!r}")
                self.next()
                return Call(name, self.arguments())
            self.next()
            matchers = self.matchers() if self.peek().text == "{" else ()
            return Selector(name, matchers)
        raise self.error("a number, string, selector, function or '('")

    def aggregation(self) -> Aggregation:
        operator = self.next().text
        grouping: tuple[str, ...] = ()
        without = False
        if self.peek().text in ("by", "without"):
            without = self.next().text == "without"
            grouping = self.label_list()
        args = self.arguments()
        if not grouping and self.peek().text in ("by", "without"):
            without = self.next().text == "without"
            grouping = self.label_list()
        return Aggregation(operator, grouping, without, args)

    def arguments(self) -> tuple[Node, ...]:
        self.expect("(")
        args: list[Node] = []
        if not self.accept(")"):
            args.append(self.binary(0))
            while self.accept(","):
                args.append(self.binary(0))
            self.expect(")")
        return tuple(args)

    def label_list(self) -> tuple[str, ...]:
        self.expect("(")
        labels: list[str] = []
        while self.peek().kind == "ident":
            labels.append(self.next().text)
            if not self.accept(","):
                break
        self.expect(")")
        return tuple(labels)

    def matchers(self) -> tuple[tuple[str, str, str], ...]:
        self.expect("{")
        found: list[tuple[str, str, str]] = []
        while self.peek().kind == "ident":
            label = self.next().text
            operator = self.next()
            if operator.text not in ("=", "!=", "=~", "!~"):
                self.index -= 1
                raise self.error("a matcher operator (=, !=, =~, !~)")
            value = self.next()
            if value.kind != "string":
                self.index -= 1
                raise self.error("a quoted label value")
            found.append((label, operator.text, value.text))
            if not self.accept(","):
                break
        self.expect("}")
        return tuple(found)


def parse(text: str) -> Node:
    """The syntax tree of one PromQL expression; raises PromQLSyntaxError if it is not valid."""
    return _Parser(text).parse()


def selectors(node: Node) -> Iterator[Selector]:
    """Every series selector in the expression."""
    match node:
        case Selector():
            yield node
        case Call(args=args) | Aggregation(args=args):
            for arg in args:
                yield from selectors(arg)
        case Binary(lhs=lhs, rhs=rhs):
            yield from selectors(lhs)
            yield from selectors(rhs)
        case Ranged(expr=inner) | Unary(expr=inner):
            yield from selectors(inner)
        case _:
            pass


class LabelError(ValueError):
    """A query that groups or matches on a label its series cannot carry."""


def output_labels(node: Node, metric_labels: Mapping[str, frozenset[str]]) -> frozenset[str] | None:
    """The labels the expression's series carry (None for a scalar or string).

    Raises LabelError where a `by`, `without`, `on` or `ignoring` names a label that the series
    at that point cannot carry, and KeyError for a metric missing from `metric_labels`.
    """
    match node:
        case Selector(metric=metric):
            if metric is None:
                raise LabelError("a selector without a metric name cannot be checked")
            return metric_labels[metric]
        case Number() | String():
            return None
        case Ranged(expr=inner) | Unary(expr=inner):
            return output_labels(inner, metric_labels)
        case Call(function=function, args=args):
            labels = [output_labels(arg, metric_labels) for arg in args]
            vectors = [found for found in labels if found is not None]
            if function == "histogram_quantile":
                if not vectors or "le" not in vectors[-1]:
                    raise LabelError("histogram_quantile over series without an `le` label")
                return vectors[-1] - {"le"}
            if function == "vector":
                return frozenset()
            if function in _LABEL_PRESERVING and vectors:
                return vectors[-1]
            return None
        case Aggregation(grouping=grouping, without=without, args=args):
            inner_labels = output_labels(args[-1], metric_labels)
            available = inner_labels or frozenset()
            missing = sorted(set(grouping) - available)
            if missing:
                raise LabelError(
                    f"{node.operator} {'without' if without else 'by'} {missing}: the series "
                    f"aggregated carry only {sorted(available)}"
                )
            return available - set(grouping) if without else frozenset(grouping)
        case Binary(operator=operator, lhs=lhs, rhs=rhs, matching=matching):
            left = output_labels(lhs, metric_labels)
            right = output_labels(rhs, metric_labels)
            if left is None or right is None:
                return left if right is None else right
            if matching is not None:
                both = left & right
                missing = sorted(set(matching) - both)
                if missing and not node.ignoring:
                    raise LabelError(
                        f"{operator} on {missing}: carried by both sides are only {sorted(both)}"
                    )
            if operator in _SET_OPERATORS:
                return left & right if operator == "or" else left
            return left
    raise LabelError(f"cannot work out the labels of {node!r}")

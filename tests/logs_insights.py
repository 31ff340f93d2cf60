"""A small interpreter for the subset of CloudWatch Logs Insights QL that processors/insights/queries.py uses.

It models (a test double, not a product): `filter`, `fields`, `stats` (count(*), count_distinct, sum, min, max,
earliest; `by` fields and bin()), `sort`, `limit`; expressions with and/or/not, = != < <= > >= `in` `=~`, + - *.
Semantics it assumes, as Logs Insights documents them or as the queries rely on:
- a missing field makes a comparison false, arithmetic on it missing, and sum()/min()/max() skip it;
- a comparison inside sum() or arithmetic counts 1 when true and 0 when false;
- `@timestamp` is the CloudWatch event time in epoch milliseconds; bin(5m) floors it to 5 minutes;
- after `stats` the rows are the groups: the `by` keys (a field by its name) and the aggregates' aliases.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

Row = Mapping[str, Any]
TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d+)?(?:e\d+)?)|(?P<str>\"(?:[^\"\\]|\\.)*\")|(?P<regex>/(?:[^/\\]|\\.)*/)"
    r"|(?P<op>=~|!=|<=|>=|=|<|>|\(|\)|\[|\]|,|\+|-|\*)|(?P<name>[@A-Za-z_][\w.@]*))"
)
UNITS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


class QueryError(Exception):
    pass


def tokenize(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    text = text.rstrip()
    while position < len(text):
        match = TOKEN.match(text, position)
        if not match or match.end() == position:
            raise QueryError(f"cannot read {text[position:]!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


class Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (value is not None and token[1] != value):
            raise QueryError(f"expected {value!r}, got {token!r}")
        self.i += 1
        return token

    def at(self, *values: str) -> bool:
        token = self.peek()
        return token is not None and token[1] in values

    # expression := or
    def expression(self) -> Callable[[Row], Any]:
        left = self.conjunction()
        while self.at("or"):
            self.take()
            right, first = self.conjunction(), left
            left = lambda row, a=first, b=right: _true(a(row)) or _true(b(row))  # noqa: E731
        return left

    def conjunction(self) -> Callable[[Row], Any]:
        left = self.negation()
        while self.at("and"):
            self.take()
            right, first = self.negation(), left
            left = lambda row, a=first, b=right: _true(a(row)) and _true(b(row))  # noqa: E731
        return left

    def negation(self) -> Callable[[Row], Any]:
        if self.at("not"):
            self.take()
            inner = self.negation()
            return lambda row: not _true(inner(row))
        return self.comparison()

    def comparison(self) -> Callable[[Row], Any]:
        left = self.additive()
        if self.at("=", "!=", "<", "<=", ">", ">=", "in", "=~"):
            op = self.take()[1]
            if op == "=~":
                kind, text = self.take()
                if kind != "regex":
                    raise QueryError("=~ needs a /regex/")
                pattern = re.compile(text[1:-1])
                return lambda row: isinstance(v := left(row), str) and bool(pattern.search(v))
            right = self.additive()
            return lambda row: _compare(op, left(row), right(row))
        return left

    def additive(self) -> Callable[[Row], Any]:
        left = self.multiplicative()
        while self.at("+", "-"):
            op = self.take()[1]
            right, first = self.multiplicative(), left
            left = lambda row, a=first, b=right, o=op: _arith(o, a(row), b(row))  # noqa: E731
        return left

    def multiplicative(self) -> Callable[[Row], Any]:
        left = self.primary()
        while self.at("*"):
            self.take()
            right, first = self.primary(), left
            left = lambda row, a=first, b=right: _arith("*", a(row), b(row))  # noqa: E731
        return left

    def primary(self) -> Callable[[Row], Any]:
        kind, text = self.take()
        if kind == "num":
            number = float(text) if any(c in text for c in ".e") else int(text)
            return lambda row: number
        if kind == "str":
            value = bytes(text[1:-1], "utf-8").decode("unicode_escape")
            return lambda row: value
        if text == "(":
            inner = self.expression()
            self.take(")")
            return inner
        if text == "[":
            items = []
            while not self.at("]"):
                items.append(self.expression())
                if self.at(","):
                    self.take()
            self.take("]")
            return lambda row: [item(row) for item in items]
        if kind == "name":
            return lambda row, path=text: _get(row, path)
        raise QueryError(f"unexpected {text!r}")


def _get(row: Row, path: str) -> Any:
    if path in row:
        return row[path]
    value: Any = row
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def _true(value: Any) -> bool:
    return bool(value) if value is not None else False


def _number(value: Any) -> Any:
    return int(value) if isinstance(value, bool) else value


def _compare(op: str, left: Any, right: Any) -> bool:
    if left is None or right is None:
        return False
    if op == "in":
        return left in right
    if op in ("=", "!="):
        return (left == right) == (op == "=")
    if isinstance(left, int | float) != isinstance(right, int | float):
        return False
    return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]


def _arith(op: str, left: Any, right: Any) -> Any:
    left, right = _number(left), _number(right)
    if not isinstance(left, int | float) or not isinstance(right, int | float):
        return None
    return {"+": left + right, "-": left - right, "*": left * right}[op]


def _split_commas(text: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in text:
        depth += char in "(["
        depth -= char in ")]"
        if char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    return [*parts, current.strip()] if current.strip() else parts


AGGREGATE = re.compile(r"^(?P<fn>count_distinct|count|sum|min|max|earliest)\((?P<arg>.*)\)(?:\s+as\s+(?P<alias>\w+))?$")


def _stats(rows: list[Row], spec: str) -> list[Row]:
    body, _, by = spec.partition(" by ")
    aggregates = []
    for text in _split_commas(body):
        match = AGGREGATE.match(text)
        if not match:
            raise QueryError(f"unsupported aggregate {text!r}")
        arg = match.group("arg")
        expression = None if arg == "*" else Parser(arg).expression()
        aggregates.append((match.group("fn"), expression, match.group("alias") or text))
    keys = []
    for text in _split_commas(by):
        binned = re.fullmatch(r"bin\((\d+)([smhd])\)", text)
        if binned:
            width = int(binned.group(1)) * UNITS[binned.group(2)]
            keys.append((text, lambda row, w=width: int(row["@timestamp"]) // w * w))
        else:
            keys.append((text, Parser(text).expression()))
    groups: dict[tuple[Any, ...], list[Row]] = {}
    for row in rows:
        groups.setdefault(tuple(key(row) for _, key in keys), []).append(row)
    result = []
    for values, members in groups.items():
        out: dict[str, Any] = dict(zip([name for name, _ in keys], values, strict=True))
        for fn, expression, alias in aggregates:
            out[alias] = _aggregate(fn, expression, members)
        result.append(out)
    return result


def _aggregate(fn: str, expression: Callable[[Row], Any] | None, rows: list[Row]) -> Any:
    if fn == "count" and expression is None:
        return len(rows)
    assert expression is not None
    if fn == "earliest":
        return expression(min(rows, key=lambda row: row["@timestamp"]))
    values = [_number(expression(row)) for row in rows]
    present = [v for v in values if v is not None]
    if fn == "count":
        return len(present)
    if fn == "count_distinct":
        return len(set(present))
    if fn == "sum":
        return sum(present)
    if not present:
        return None
    return min(present) if fn == "min" else max(present)


def run(query: str, events: Iterable[Row]) -> list[Row]:
    """Rows the query returns over `events` (each a parsed log line plus "@timestamp" in ms)."""
    lines = [line for line in query.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    commands = [part.strip() for part in " ".join(lines).split(" | ")]
    rows: list[Row] = list(events)
    for command in commands:
        verb, _, rest = command.lstrip("| ").partition(" ")
        if verb == "filter":
            predicate = Parser(rest).expression()
            rows = [row for row in rows if _true(predicate(row))]
        elif verb == "stats":
            rows = _stats(rows, rest)
        elif verb in ("fields", "sort", "limit"):
            if verb == "limit":
                rows = rows[: int(rest)]
        else:
            raise QueryError(f"unsupported command {verb!r}")
    return rows

"""The q query language (clause 4.9), parsed once into an AST.

    parse_q('(speed>50|rpm>3000);brandName=="Mercedes"', terms.expand)

';' (and) binds tighter than '|' (or); parentheses group. Errors are BadRequestData with the position.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import lru_cache
from urllib.parse import unquote

from ngsi_ld.errors import BadRequestData
from ngsi_ld.query.ast import Compare, Exists, Literal, Node, Not, Path, Pattern, Range
from ngsi_ld.query.expression import ExpressionParser
from ngsi_ld.query.values import literal_kinds
from ngsi_ld.regex import refusal
from ngsi_ld.values import is_uri

__all__ = ["METADATA", "decoded_q", "parse_q", "renamed_q"]

METADATA = frozenset({"observedAt", "createdAt", "modifiedAt", "unitCode", "datasetId"})
"""Members of an attribute that a path may end with; they are not expanded."""

_NAME = re.compile(r"[^\s;|()\[\].=!<>~,\"']+")
_OPERATORS = ("==", "!=", ">=", "<=", "!~=", "~=", ">", "<")
_VALUE_END = ";|),"
_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")
_CACHED_LENGTH = 4096
"""Longer expressions are parsed each time: the cache would keep megabytes of them."""


def parse_q(text: str, expand: Callable[[str], str]) -> Node:
    """Parses a q expression, expanding attribute names (and string values, for VocabProperty) with `expand`."""
    if len(text) > _CACHED_LENGTH:
        return _Parser(text, expand).parse()
    return _cached(text, expand)


@lru_cache(maxsize=512)
def _cached(text: str, expand: Callable[[str], str]) -> Node:
    return _Parser(text, expand).parse()


def renamed_q(text: str, expand: Callable[[str], str], compact: Callable[[str], str]) -> str:
    """The q expression with its attribute names given by another @context: each expanded with `expand`,
    then compacted with `compact`; the rest (values, metadata members, JSON members) is left as written."""
    renamer = _Renamer(text, expand, compact)
    renamer.parse()
    out, end = [], 0
    for start, stop, name in renamer.names:
        out += [text[end:start], name]
        end = stop
    return "".join(out) + text[end:]


def decoded_q(text: str) -> str:
    """A q that a client percent-encoded although it travels in a JSON body (`name==%22Eiffel%20Tower%22`),
    decoded; any other q as it is. A q is taken as encoded when it holds an escape %XX and, as written, does
    not parse (but does once decoded) or has an attribute name with '%' (which no name may hold, clause
    4.6.2): so escapes in a quoted string, a URI or a regular expression of a valid q stay as they are."""
    if _ESCAPE.search(text) is None:
        return text
    renamer = _Renamer(text, str, str)
    try:
        renamer.parse()
    except BadRequestData:
        decoded = unquote(text)
        return decoded if _parses(decoded) else text  # not encoded but wrong: its error tells of what was sent
    names = (text[start:stop] for start, stop, _ in renamer.names)
    return unquote(text) if any("%" in name for name in names) else text


def _parses(text: str) -> bool:
    try:
        _Parser(text, str).parse()
    except BadRequestData:
        return False
    return True


class _Parser(ExpressionParser):
    language = "q"

    def __init__(self, text: str, expand: Callable[[str], str]) -> None:
        super().__init__(text)
        self.expand = expand

    def atom(self) -> Node:
        if self.peek("!") and not self.peek("!=") and not self.peek("!~="):
            self.position += 1
            return Not(Exists(self.path()))
        path = self.path()
        operator = next((op for op in _OPERATORS if self.peek(op)), None)
        if operator is None:
            return Exists(path)
        self.position += len(operator)
        if operator in ("~=", "!~="):
            pattern = Pattern(path, self.regex())
            return pattern if operator == "~=" else Not(pattern, requires=Pattern(path, ""))
        if operator in ("==", "!="):
            node = self.equality(path)
            return node if operator == "==" else Not(node, requires=Exists(path))
        start = self.position
        value = self.literal()
        if value.kind == "bool" or value.kind == "uri":
            raise self.error(f"'{operator}' needs a number, string, DateTime, Date or Time", start)
        return Compare(path, operator, (value,))

    def path(self) -> Path:
        names = [self.attribute(first=True)]
        while self.take("."):
            names.append(self.attribute(first=False))
        members: list[str] = []
        if self.take("["):
            members.append(self.name())
            while self.take("."):
                members.append(self.name())
            if not self.take("]"):
                raise self.error("']' is missing")
        return Path(tuple(names), tuple(members))

    def attribute(self, first: bool) -> str:
        """The expanded name of an attribute, of a sub-attribute, or (not first) a metadata member as it is."""
        name = self.name()
        return name if not first and name in METADATA else self.expand(name)

    def name(self) -> str:
        match = _NAME.match(self.text, self.position)
        if match is None:
            raise self.error("an attribute name is expected")
        self.position = match.end()
        return match.group()

    def equality(self, path: Path) -> Node:
        start = self.position
        first = self.literal()
        if self.take(".."):
            high = self.literal()
            if first.kind != high.kind or first.kind in ("bool", "uri"):
                raise self.error("a range needs two values of one kind (numbers, strings, DateTimes...)", start)
            return Range(path, first, high)
        values = [first]
        while self.take(","):
            values.append(self.literal())
        return Compare(path, "==", tuple(values))

    def literal(self) -> Literal:
        start = self.position
        if self.peek('"'):
            return self.quoted()
        end = start
        while end < len(self.text) and self.text[end] not in _VALUE_END and not self.text.startswith("..", end):
            end += 1
        raw = self.text[start:end]
        if not raw:
            raise self.error("a value is expected")
        self.position = end
        kind_value = literal_kinds(raw)
        if kind_value is not None:
            return Literal(*kind_value)
        if is_uri(raw):
            return Literal("string", raw, vocab=raw)
        raise self.error(f"'{raw}' is not a value (quote strings: \"{raw}\")", start)

    def quoted(self) -> Literal:
        start = self.position
        end = start + 1
        while end < len(self.text) and self.text[end] != '"':
            end += 2 if self.text[end] == "\\" else 1
        if end >= len(self.text):
            raise self.error("the string is not closed", start)
        try:
            value = json.loads(self.text[start : end + 1])
        except json.JSONDecodeError as exc:
            raise self.error(f"invalid string: {exc.msg}", start) from exc
        try:
            value.encode()
        except UnicodeEncodeError as exc:  # a lone surrogate escape (\ud800): not text, and no store can hold it
            raise self.error("invalid string: it holds a lone surrogate", start) from exc
        self.position = end + 1
        return Literal("string", value, vocab=self.expand(value) if _NAME.fullmatch(value) else value)

    def regex(self) -> str:
        start = self.position
        depth = 0
        end = start
        while end < len(self.text):
            char = self.text[end]
            if char == "\\":
                end += 2
                continue
            if char == "(":
                depth += 1
            elif char == ")":
                if depth == 0:
                    break
                depth -= 1
            elif char in ";|" and depth == 0:
                break
            end += 1
        pattern = self.text[start:end]
        reason = refusal(pattern)
        if reason is not None:
            raise self.error(f"invalid regular expression: {reason}", start)
        if not pattern:
            raise self.error("a regular expression is expected", start)
        self.position = end
        return pattern


class _Renamer(_Parser):
    """Parses a q expression to find where each attribute name is, and what it becomes."""

    def __init__(self, text: str, expand: Callable[[str], str], compact: Callable[[str], str]) -> None:
        super().__init__(text, expand)
        self.compact = compact
        self.names: list[tuple[int, int, str]] = []

    def attribute(self, first: bool) -> str:
        start = self.position
        iri = super().attribute(first)
        if first or self.text[start : self.position] not in METADATA:
            self.names.append((start, self.position, self.compact(iri)))
        return iri

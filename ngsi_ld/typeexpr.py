"""Entity type selection expressions (clause 4.17): names joined by ',' or '|' (or), ';' (and), in parentheses.

    parse_types("(Vehicle;Car),Bus", expand) -> AnyOf((AllOf((TypeName(v), TypeName(c))), TypeName(b)))
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from ngsi_ld.errors import BadRequestData
from ngsi_ld.limits import LIMITS, exceeded
from ngsi_ld.values import is_name

__all__ = ["AllOf", "AnyOf", "TypeExpr", "TypeName", "matches_types", "parse_types"]


@dataclass(frozen=True, slots=True)
class TypeName:
    iri: str


@dataclass(frozen=True, slots=True)
class AllOf:
    items: tuple[TypeExpr, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    items: tuple[TypeExpr, ...]


TypeExpr = TypeName | AllOf | AnyOf

_TOKEN = re.compile(r"\s*(?:([(),;|])|([^(),;|\s]+))")


def parse_types(text: str, expand: Callable[[str], str]) -> TypeExpr:
    """Parses a type expression, expanding each name with `expand`; BadRequestData points at the error."""
    return _Parser(text, expand).parse()


def matches_types(expr: TypeExpr, types: set[str]) -> bool:
    """Whether an entity with the expanded `types` is selected by `expr`."""
    if isinstance(expr, TypeName):
        return expr.iri in types
    if isinstance(expr, AllOf):
        return all(matches_types(item, types) for item in expr.items)
    return any(matches_types(item, types) for item in expr.items)


def _tokens(text: str) -> list[tuple[str, int]]:
    """The tokens of `text`, each with its position."""
    tokens: list[tuple[str, int]] = []
    position = 0
    stripped_end = len(text.rstrip())
    while position < stripped_end:
        match = _TOKEN.match(text, position)
        if match is None:
            raise _error(text, position, "unexpected character")
        token = match.group(1) or match.group(2)
        tokens.append((token, match.start(1) if match.group(1) else match.start(2)))
        position = match.end()
    return tokens


class _Parser:
    """Recursive descent: or-list of and-lists of names or parenthesized expressions (';' binds tighter)."""

    def __init__(self, text: str, expand: Callable[[str], str]) -> None:
        self.text = text
        self.expand = expand
        self.tokens = _tokens(text)
        self.position = 0
        self.depth = 0
        self.names = 0

    def parse(self) -> TypeExpr:
        expr = self._any_of()
        if self.position != len(self.tokens):
            token, start = self.tokens[self.position]
            raise _error(self.text, start, f"unexpected '{token}'")
        return expr

    def _any_of(self) -> TypeExpr:
        items = [self._all_of()]
        while self._next_is(",", "|"):
            self.position += 1
            items.append(self._all_of())
        return items[0] if len(items) == 1 else AnyOf(tuple(items))

    def _all_of(self) -> TypeExpr:
        items = [self._atom()]
        while self._next_is(";"):
            self.position += 1
            items.append(self._atom())
        return items[0] if len(items) == 1 else AllOf(tuple(items))

    def _atom(self) -> TypeExpr:
        if self.position >= len(self.tokens):
            raise _error(self.text, len(self.text), "a type name is missing")
        token, start = self.tokens[self.position]
        self.position += 1
        if token == "(":
            self.depth += 1
            if self.depth > LIMITS.query_depth:
                raise exceeded("The type expression nests parentheses too deep", "query_depth")
            expr = self._any_of()
            if not self._next_is(")"):
                end = self.tokens[self.position][1] if self.position < len(self.tokens) else len(self.text)
                raise _error(self.text, end, "')' is missing")
            self.position += 1
            self.depth -= 1
            return expr
        if token in "),;|" or not is_name(token):
            raise _error(self.text, start, f"'{token}' is not a type name")
        self.names += 1
        if self.names > LIMITS.query_terms:
            raise exceeded("The type expression has too many names", "query_terms")
        return TypeName(self.expand(token))

    def _next_is(self, *tokens: str) -> bool:
        return self.position < len(self.tokens) and self.tokens[self.position][0] in tokens


def _error(text: str, position: int, reason: str) -> BadRequestData:
    return BadRequestData(f"Invalid type expression at position {position}: {reason}\n{text}\n{' ' * position}^")

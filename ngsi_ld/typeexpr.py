"""Entity type selection expressions (clause 4.17): names joined by ',' or '|' (or), ';' (and), in parentheses.

    parse_types("(Vehicle;Car),Bus", expand) -> AnyOf((AllOf((TypeName(v), TypeName(c))), TypeName(b)))
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from ngsi_ld.errors import BadRequestData
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
    tokens = _tokens(text)
    expr, position = _parse_or(tokens, 0, text, expand)
    if position != len(tokens):
        raise _error(text, tokens[position][1], f"unexpected '{tokens[position][0]}'")
    return expr


def matches_types(expr: TypeExpr, types: set[str]) -> bool:
    """Whether an entity with the expanded `types` is selected by `expr`."""
    if isinstance(expr, TypeName):
        return expr.iri in types
    if isinstance(expr, AllOf):
        return all(matches_types(item, types) for item in expr.items)
    return any(matches_types(item, types) for item in expr.items)


def _tokens(text: str) -> list[tuple[str, int]]:
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


def _parse_or(tokens: list[tuple[str, int]], position: int, text: str, expand: Callable[[str], str]) -> tuple[TypeExpr, int]:
    items = []
    item, position = _parse_and(tokens, position, text, expand)
    items.append(item)
    while position < len(tokens) and tokens[position][0] in (",", "|"):
        item, position = _parse_and(tokens, position + 1, text, expand)
        items.append(item)
    return (items[0] if len(items) == 1 else AnyOf(tuple(items))), position


def _parse_and(tokens: list[tuple[str, int]], position: int, text: str, expand: Callable[[str], str]) -> tuple[TypeExpr, int]:
    items = []
    item, position = _parse_atom(tokens, position, text, expand)
    items.append(item)
    while position < len(tokens) and tokens[position][0] == ";":
        item, position = _parse_atom(tokens, position + 1, text, expand)
        items.append(item)
    return (items[0] if len(items) == 1 else AllOf(tuple(items))), position


def _parse_atom(tokens: list[tuple[str, int]], position: int, text: str, expand: Callable[[str], str]) -> tuple[TypeExpr, int]:
    if position >= len(tokens):
        raise _error(text, len(text), "a type name is missing")
    token, start = tokens[position]
    if token == "(":
        expr, position = _parse_or(tokens, position + 1, text, expand)
        if position >= len(tokens) or tokens[position][0] != ")":
            raise _error(text, len(text) if position >= len(tokens) else tokens[position][1], "')' is missing")
        return expr, position + 1
    if token in "),;|" or not is_name(token):
        raise _error(text, start, f"'{token}' is not a type name")
    return TypeName(expand(token)), position + 1


def _error(text: str, position: int, reason: str) -> BadRequestData:
    return BadRequestData(f"Invalid type expression at position {position}: {reason}\n{text}\n{' ' * position}^")

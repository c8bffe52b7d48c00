"""The scope query language (clause 4.19): /a/b, /a/+/c, /a/#, /# joined by ';' (and), '|' (or), parentheses."""

from __future__ import annotations

import re

from ngsi_ld.errors import BadRequestData
from ngsi_ld.query.ast import And, Node, Or, ScopeMatch

__all__ = ["parse_scope_q", "scope_matches"]

# A level is any run of characters but the separators ('/', the operators ';' '|' ',' and parentheses) and the
# wildcards; ',' is an 'or' like '|', so it cannot be part of a level.
_SCOPE = re.compile(r"/(#|[^/;|,()#+\s]+|\+)(/([^/;|,()#+\s]+|\+))*(/#)?")


def scope_matches(levels: tuple[str, ...], scope: str) -> bool:
    """Whether a stored scope (/Madrid/Gardens) is selected by a scope expression's levels."""
    parts = scope.strip("/").split("/")
    for position, level in enumerate(levels):
        if level == "#":
            return True
        if position >= len(parts) or (level != "+" and level != parts[position]):
            return False
    return len(parts) == len(levels)


def parse_scope_q(text: str) -> Node:
    parser = _Parser(text)
    node = parser.expression()
    if parser.position != len(text):
        raise parser.error("unexpected character")
    return node


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.position = 0

    def error(self, reason: str) -> BadRequestData:
        at = self.position
        return BadRequestData(f"Invalid scopeQ at position {at}: {reason}\n{self.text}\n{' ' * at}^")

    def take(self, token: str) -> bool:
        if self.text.startswith(token, self.position):
            self.position += len(token)
            return True
        return False

    def expression(self) -> Node:
        items = [self.conjunction()]
        while self.take("|") or self.take(","):
            items.append(self.conjunction())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def conjunction(self) -> Node:
        items = [self.term()]
        while self.take(";"):
            items.append(self.term())
        return items[0] if len(items) == 1 else And(tuple(items))

    def term(self) -> Node:
        if self.take("("):
            node = self.expression()
            if not self.take(")"):
                raise self.error("')' is missing")
            return node
        match = _SCOPE.match(self.text, self.position)
        if match is None:
            raise self.error("a scope such as /City/District, /City/+/Park or /City/# is expected")
        self.position = match.end()
        return ScopeMatch(tuple(match.group().strip("/").split("/")))

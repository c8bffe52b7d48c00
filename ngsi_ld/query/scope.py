"""The scope query language (clause 4.19): /a/b, /a/+/c, /a/#, /# joined by ';' (and), '|' (or), parentheses."""

from __future__ import annotations

import re

from ngsi_ld.query.ast import Node, ScopeMatch
from ngsi_ld.query.expression import ExpressionParser

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
    return _Parser(text).parse()


class _Parser(ExpressionParser):
    language = "scopeQ"
    or_operators = ("|", ",")

    def atom(self) -> Node:
        match = _SCOPE.match(self.text, self.position)
        if match is None:
            raise self.error("a scope such as /City/District, /City/+/Park or /City/# is expected")
        self.position = match.end()
        return ScopeMatch(tuple(match.group().strip("/").split("/")))

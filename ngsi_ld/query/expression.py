"""What the q and scopeQ parsers share: terms joined by ';' (and, binding tighter) and by an 'or' operator,
grouped by parentheses, and errors that point at the position in the expression."""

from __future__ import annotations

from ngsi_ld.errors import BadRequestData
from ngsi_ld.limits import LIMITS, exceeded
from ngsi_ld.query.ast import And, Node, Or

__all__ = ["ExpressionParser"]


class ExpressionParser:
    """A recursive-descent parser of and/or expressions; a language supplies `atom` (one term).

    The number of terms and the nesting of parentheses are limited (ngsi_ld.limits), so that no expression
    can exhaust the stack of this parser or of a consumer of its AST.
    """

    language = "expression"
    or_operators: tuple[str, ...] = ("|",)

    def __init__(self, text: str) -> None:
        self.text = text
        self.position = 0
        self.depth = 0
        self.terms = 0

    def parse(self) -> Node:
        node = self.expression()
        if self.position != len(self.text):
            raise self.error("unexpected character")
        return node

    def atom(self) -> Node:
        raise NotImplementedError()  # pragma: no cover

    def error(self, reason: str, position: int | None = None) -> BadRequestData:
        at = self.position if position is None else position
        return BadRequestData(f"Invalid {self.language} at position {at}: {reason}\n{self.text}\n{' ' * at}^")

    def peek(self, token: str) -> bool:
        return self.text.startswith(token, self.position)

    def take(self, token: str) -> bool:
        if self.peek(token):
            self.position += len(token)
            return True
        return False

    def expression(self) -> Node:
        items = [self.conjunction()]
        while any(self.take(operator) for operator in self.or_operators):
            items.append(self.conjunction())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def conjunction(self) -> Node:
        items = [self.term()]
        while self.take(";"):
            items.append(self.term())
        return items[0] if len(items) == 1 else And(tuple(items))

    def term(self) -> Node:
        if self.take("("):
            self.depth += 1
            if self.depth > LIMITS.query_depth:
                raise exceeded(f"The {self.language} expression nests parentheses too deep", "query_depth")
            node = self.expression()
            if not self.take(")"):
                raise self.error("')' is missing")
            self.depth -= 1
            return node
        self.terms += 1
        if self.terms > LIMITS.query_terms:
            raise exceeded(f"The {self.language} expression has too many terms", "query_terms")
        return self.atom()

"""The Python evaluator of query ASTs: decides whether one entity matches (the subscription matcher uses it)."""

from __future__ import annotations

import operator
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from ngsi_ld.entity import Entity
from ngsi_ld.query.ast import And, Compare, Exists, Literal, Node, Not, Or, Pattern, Range, ScopeMatch
from ngsi_ld.query.scope import scope_matches
from ngsi_ld.query.targets import SCOPE_PATH, Row, entity_rows
from ngsi_ld.regex import search

__all__ = ["RowsByPath", "matches", "rows_by_path", "rows_match"]

RowsByPath = dict[str, list[Row]]

ORDERINGS: dict[str, Callable[[Any, Any], bool]] = {
    ">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le,
}


def rows_by_path(entity: Entity) -> RowsByPath:
    grouped: RowsByPath = defaultdict(list)
    for row in entity_rows(entity):
        grouped[row.path].append(row)
    return grouped


def matches(node: Node, entity: Entity) -> bool:
    """Whether the entity matches `node`."""
    return _evaluate(node, rows_by_path(entity))


def rows_match(node: Node, rows: RowsByPath) -> bool:
    """Whether an entity whose rows (computed once for several queries) are `rows` matches `node`."""
    return _evaluate(node, rows)


def equals(row: Row, literal: Literal) -> bool:
    """Whether a stored value equals a query literal: same kind of value, same value (clause 4.9)."""
    if row.kind == "vocab":
        return literal.kind == "string" and row.value == literal.vocab
    return row.kind == literal.kind and row.value == literal.value


def _evaluate(node: Node, rows: RowsByPath) -> bool:
    if isinstance(node, And):
        return all(_evaluate(item, rows) for item in node.items)
    if isinstance(node, Or):
        return any(_evaluate(item, rows) for item in node.items)
    if isinstance(node, Not):
        return (node.requires is None or _evaluate(node.requires, rows)) and not _evaluate(node.item, rows)
    if isinstance(node, Exists):
        return node.path.key in rows
    if isinstance(node, ScopeMatch):
        return any(scope_matches(node.levels, row.value) for row in rows.get(SCOPE_PATH, ()))
    return any(_holds(node, row) for row in rows.get(node.path.key, ()))


def _holds(node: Compare | Range | Pattern, row: Row) -> bool:
    if isinstance(node, Pattern):
        return row.kind == "string" and not row.relationship and search(node.regex, row.value)
    if isinstance(node, Range):
        return row.kind == node.low.kind and node.low.value <= row.value <= node.high.value
    if node.op == "==":
        return any(equals(row, literal) for literal in node.values)
    literal = node.values[0]
    return row.kind == literal.kind and not row.relationship and ORDERINGS[node.op](row.value, literal.value)

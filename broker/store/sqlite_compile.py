"""Compiles a Selection into an SQLite WHERE clause (with its parameters) over the store's index tables:

- entity_types (type, seq): the types of each entity;
- attr_values (seq, path, instance, kind, val, relationship): the rows of ngsi_ld.query.targets;
- geo_shapes (id, seq, path, geometry) with the R*Tree geo_index (id, min_x, max_x, min_y, max_y).

Each node of the AST becomes `e.seq IN (SELECT seq FROM <index> WHERE ...)`, so that SQLite answers it
from an index; the row conditions mirror ngsi_ld.query.evaluate, which the differential tests check.
"""

from __future__ import annotations

from typing import Any

from broker.store.base import EntityQuery
from ngsi_ld.query.ast import And, Compare, Exists, Literal, Node, Not, Or, Pattern, Range, ScopeMatch
from ngsi_ld.query.geo import GeoQuery
from ngsi_ld.query.selection import EntitySelector
from ngsi_ld.query.targets import SCOPE_PATH
from ngsi_ld.typeexpr import AllOf, AnyOf, TypeExpr, TypeName

__all__ = ["order_clause", "where_clause"]


def where_clause(query: EntityQuery) -> tuple[str, list[Any]]:
    """The conditions on table `entities` (alias e) that select the query's entities."""
    selection = query.selection
    conditions: list[str] = []
    params: list[Any] = []
    if selection.selectors:
        conditions.append("(" + " OR ".join(_selector(s, params) for s in selection.selectors) + ")")
    if selection.attrs:
        conditions.append(f"e.seq IN (SELECT seq FROM attr_values WHERE path IN ({_marks(selection.attrs)}))")
        params.extend(selection.attrs)
    for node in (selection.q, selection.scope_q):
        if node is not None:
            conditions.append(_node(node, params))
    if selection.geo is not None:
        conditions.append(_geo(selection.geo, params))
    return (" AND ".join(conditions) or "1"), params


def order_clause(query: EntityQuery) -> tuple[str, list[Any]]:
    """Entities in creation order; by distance first for a 'near' geo-query (clause 4.10)."""
    geo = query.selection.geo
    if geo is None or geo.relation != "near":
        return "e.seq", []
    distance = "(SELECT MIN(geo_distance(?, s.geometry)) FROM geo_shapes s WHERE s.seq = e.seq AND s.path = ?)"
    return f"{distance}, e.seq", [geo.geometry, geo.geoproperty]


def _marks(items: tuple[Any, ...]) -> str:
    return ", ".join("?" * len(items))


def _selector(selector: EntitySelector, params: list[Any]) -> str:
    conditions = []
    if selector.ids:
        conditions.append(f"e.id IN ({_marks(selector.ids)})")
        params.extend(selector.ids)
    if selector.id_pattern is not None:
        conditions.append("regexp(?, e.id)")
        params.append(selector.id_pattern)
    if selector.types is not None:
        conditions.append(_types(selector.types, params))
    return "(" + (" AND ".join(conditions) or "1") + ")"


def _types(expr: TypeExpr, params: list[Any]) -> str:
    if isinstance(expr, TypeName):
        params.append(expr.iri)
        return "e.seq IN (SELECT seq FROM entity_types WHERE type = ?)"
    if isinstance(expr, AnyOf) and all(isinstance(item, TypeName) for item in expr.items):
        params.extend(item.iri for item in expr.items)  # type: ignore[union-attr]
        return f"e.seq IN (SELECT seq FROM entity_types WHERE type IN ({_marks(expr.items)}))"
    if isinstance(expr, (AllOf, AnyOf)):
        joiner = " AND " if isinstance(expr, AllOf) else " OR "
        return "(" + joiner.join(_types(item, params) for item in expr.items) + ")"
    raise NotImplementedError(f"No SQL for type expression node {expr!r}")


def _node(node: Node, params: list[Any]) -> str:
    """SQL for a q or scopeQ node over the value rows of table attr_values."""
    if isinstance(node, And):
        return "(" + " AND ".join(_node(item, params) for item in node.items) + ")"
    if isinstance(node, Or):
        return "(" + " OR ".join(_node(item, params) for item in node.items) + ")"
    if isinstance(node, Not):
        required = "" if node.requires is None else f"{_node(node.requires, params)} AND "
        return f"({required}NOT {_node(node.item, params)})"
    if isinstance(node, ScopeMatch):
        params.append("/".join(node.levels))
        return f"e.seq IN (SELECT seq FROM attr_values WHERE path = '{SCOPE_PATH}' AND scope_match(?, val))"
    if isinstance(node, (Exists, Compare, Range, Pattern)):
        params.append(node.path.key)
        return f"e.seq IN (SELECT seq FROM attr_values WHERE path = ?{_row_condition(node, params)})"
    raise NotImplementedError(f"No SQL for query node {node!r}")


def _row_condition(node: Exists | Compare | Range | Pattern, params: list[Any]) -> str:
    if isinstance(node, Exists):
        return ""
    if isinstance(node, Pattern):
        params.append(node.regex)
        return " AND kind = 'string' AND NOT relationship AND regexp(?, val)"
    if isinstance(node, Range):
        params.extend((node.low.kind, node.low.value, node.high.value))
        return " AND kind = ? AND val BETWEEN ? AND ?"
    if node.op == "==":
        return " AND (" + " OR ".join(_equals(literal, params) for literal in node.values) + ")"
    literal = node.values[0]
    params.extend((literal.kind, literal.value))
    return f" AND kind = ? AND NOT relationship AND val {node.op} ?"


def _equals(literal: Literal, params: list[Any]) -> str:
    params.extend((literal.kind, literal.value))
    if literal.kind != "string":
        return "(kind = ? AND val = ?)"
    params.append(literal.vocab)
    return "(kind = ? AND val = ?) OR (kind = 'vocab' AND val = ?)"


def _geo(geo: GeoQuery, params: list[Any]) -> str:
    params.append(geo.geoproperty)
    condition = "s.path = ?"
    boxes = geo.bounding_boxes()
    if boxes is not None:
        # One R*Tree look-up per box (a 'near' over the antimeridian has two).
        box = "SELECT id FROM geo_index WHERE max_x >= ? AND min_x <= ? AND max_y >= ? AND min_y <= ?"
        condition += f" AND s.id IN ({' UNION ALL '.join(box for _ in boxes)})"
        for min_x, min_y, max_x, max_y in boxes:
            params.extend((min_x, max_x, min_y, max_y))
    params.extend((geo.relation, geo.geometry, geo.max_distance, geo.min_distance))
    return f"e.seq IN (SELECT s.seq FROM geo_shapes s WHERE {condition} AND geo_match(?, ?, ?, ?, s.geometry))"

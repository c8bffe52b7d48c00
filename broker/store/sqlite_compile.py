"""Compiles what an EntityQuery selects into an SQLite WHERE clause with its parameters."""

from __future__ import annotations

from typing import Any

from broker.store.base import EntityQuery
from ngsi_ld.typeexpr import AllOf, AnyOf, TypeExpr, TypeName

__all__ = ["where_clause"]


def where_clause(query: EntityQuery) -> tuple[str, list[Any]]:
    """The conditions on table `entities` (alias e) that select the query's entities."""
    conditions: list[str] = []
    params: list[Any] = []
    if query.ids:
        conditions.append(f"e.id IN ({', '.join('?' * len(query.ids))})")
        params.extend(query.ids)
    if query.id_pattern is not None:
        conditions.append("regexp(?, e.id)")
        params.append(query.id_pattern)
    if query.types is not None:
        conditions.append(_types(query.types, params))
    if query.attrs:
        conditions.append("(" + " OR ".join("json_type(e.doc, ?) IS NOT NULL" for _ in query.attrs) + ")")
        params.extend(_attribute_path(name) for name in query.attrs)
    return (" AND ".join(conditions) or "1"), params


def _types(expr: TypeExpr, params: list[Any]) -> str:
    if isinstance(expr, TypeName):
        params.append(expr.iri)
        return "e.seq IN (SELECT seq FROM entity_types WHERE type = ?)"
    if isinstance(expr, AnyOf) and all(isinstance(item, TypeName) for item in expr.items):
        params.extend(item.iri for item in expr.items)  # type: ignore[union-attr]
        return f"e.seq IN (SELECT seq FROM entity_types WHERE type IN ({', '.join('?' * len(expr.items))}))"
    if isinstance(expr, (AllOf, AnyOf)):
        joiner = " AND " if isinstance(expr, AllOf) else " OR "
        return "(" + joiner.join(_types(item, params) for item in expr.items) + ")"
    raise NotImplementedError(f"No SQL for type expression node {expr!r}")


def _attribute_path(name: str) -> str:
    return '$.attrs."' + name + '"'

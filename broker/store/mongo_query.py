"""Queries of the MongoDB store: an EntityQuery compiled into aggregation pipelines over the collection
`entities` (see mongo_layout), and the indexes they use.

This version compiles only entity ids, plain type names, seq order, limit/offset and the count.
"""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, IndexModel

from broker.store.base import EntityQuery
from ngsi_ld.query.selection import EntitySelector
from ngsi_ld.typeexpr import TypeName

__all__ = ["INDEXES", "count_pipeline", "page_pipeline"]

INDEXES = [
    IndexModel([("seq", ASCENDING)], unique=True),
    IndexModel([("types", ASCENDING), ("seq", ASCENDING)]),
]


def page_pipeline(query: EntityQuery) -> list[dict[str, Any]]:
    """The pipeline that yields the documents of the query's page, in creation order."""
    return [{"$match": _selection_filter(query)}, {"$sort": {"seq": 1}}, {"$skip": query.offset},
            {"$limit": query.limit}, {"$project": {"doc": 1}}]


def count_pipeline(query: EntityQuery) -> list[dict[str, Any]]:
    """The pipeline that yields one document {count: n}, or none when no entity matches."""
    return [{"$match": _selection_filter(query)}, {"$count": "count"}]


def _selection_filter(query: EntityQuery) -> dict[str, Any]:
    selection = query.selection
    if selection.attrs or selection.q or selection.scope_q or selection.geo or query.order:
        raise NotImplementedError("attrs, q, scopeQ, geo-queries and orderBy")
    selectors = [_selector_filter(selector) for selector in query.selection.selectors]
    return {"$or": selectors} if selectors else {}


def _selector_filter(selector: EntitySelector) -> dict[str, Any]:
    conditions: dict[str, Any] = {}
    if selector.ids:
        conditions["_id"] = {"$in": list(selector.ids)}
    if isinstance(selector.types, TypeName):
        conditions["types"] = selector.types.iri
    elif selector.types is not None:
        raise NotImplementedError("type expressions other than one name")
    return conditions

"""Compiles an EntityQuery into MongoDB filters and aggregation pipelines over the layout of mongo_layout.

A selection is the conjunction of its conditions, each a filter on one document:

- ids: `_id` (the primary index);
- type expressions: `types` (index types+seq), `$in` for an or of names, `$and`/`$or` for the rest;
- q and scopeQ terms: an `$elemMatch` on the value rows `vals` (path p, kind k, value v, relationship r), with
  the range of their keys `x` (mongo_layout.row_key: path, kind and value in one sortable string) that the
  multikey index on vals.x bounds; `;` `|` and
  parentheses become `$and` and `$or`, and a negation `$nor` (among the entities where its `requires` holds);
- a geo-query: the pipeline starts on the collection `geometries` instead, from its 2dsphere index: a
  `$geoIntersects` with a polygon covering every geometry that can match (the bounding boxes of GeoQuery, as
  the SQLite R*Tree uses them); the entities of those geometries (`$lookup`) then meet the rest of the
  selection, and the exact relation is checked on each with ngsi_ld.query.geo, 'near' ordered by its
  distance. MongoDB's own relations differ from the broker's (geodesic edges, boundaries counted in, its
  Earth radius of 6378.1 km, and no contains, overlaps, equals or disjoint), so the database narrows the
  candidates and the broker decides, as the SQLite store does in geo_match. (`$geoNear` would order by its
  own distances, which differ from the broker's at nearly equal ones; and SecantusDB's leaves out every
  geometry but points.)

Regular expressions (idPattern, `~=`) are the users', and MongoDB's PCRE backtracks (SecantusDB's Python `re`
too), so a pattern such as `(a+)+$` would hold the server for hours: they never reach the database. The filter
keeps the rest of the selection (a `~=` term becomes a string value row of its attribute, a negation holding one
the rows its `requires` needs), and the broker runs the whole selection with RE2 (ngsi_ld.regex) on those
candidates, as for a geo-query.

The first stage of a pipeline is one index condition alone (the ids, a value row, a type...): a superset of
the selection that the planner of any server answers from an index; the exact filter follows.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterable
from typing import Any

import orjson
from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.collection import AsyncCollection

from broker.store.base import EntityQuery
from broker.store.mongo_layout import KEY_SEPARATOR, row_key
from ngsi_ld.query.ast import And, Compare, Exists, Literal, Node, Not, Or, Pattern, Range, ScopeMatch
from ngsi_ld.query.geo import GeoQuery, distance_metres, geo_matches
from ngsi_ld.query.order import ENTITY_ID, OrderKey
from ngsi_ld.query.selection import EntitySelector, Selection, entity_geometries, merged_selectors
from ngsi_ld.query.targets import SCOPE_PATH
from ngsi_ld.typeexpr import AllOf, AnyOf, TypeExpr, TypeName

__all__ = [
    "GEOMETRY_INDEXES", "INDEXES", "checked_page", "count_pipeline", "geo_cover", "needs_check", "page_pipeline",
    "query_documents", "selection_filter",
]

INDEXES: list[IndexModel] = [
    IndexModel([("seq", ASCENDING)], name="seq", unique=True),
    IndexModel([("types", ASCENDING), ("seq", ASCENDING)], name="types_seq"),
    IndexModel([("vals.x", ASCENDING)], name="vals_x"),
]
"""The indexes of the collection `entities` (the primary index on `_id` serves ids and orderBy id)."""
GEOMETRY_INDEXES: list[IndexModel] = [
    IndexModel([("g", "2dsphere")], name="g_2dsphere"),
    IndexModel([("e", ASCENDING)], name="e"),
    IndexModel([("u", ASCENDING), ("p", ASCENDING)], name="u_p"),
]
"""The indexes of the collection `geometries`: geo-queries, and the geometries of an entity when it changes."""

_ALL: dict[str, Any] = {}
_NONE: dict[str, Any] = {"_id": {"$in": []}}
_ORDERINGS = {">": "$gt", ">=": "$gte", "<": "$lt", "<=": "$lte"}
_COVER_MARGIN = 0.001
"""Degrees added around a covering box: more than a geodesic edge of _COVER_STEP strays from its parallel."""
_COVER_STEP = 0.25
_COVER_LIMIT = 80.0
"""Boxes reaching beyond this latitude, or wider than 180 degrees of longitude, get no covering polygon."""


# --- the contract -----------------------------------------------------------------------------------------

def page_pipeline(query: EntityQuery, entities: str = "entities", geometries: str = "geometries",
                  ) -> list[dict[str, Any]]:
    """The pipeline of the query's page (documents holding `doc`), over the collection `entities`, or over its
    geometries for a geo-query: in creation order, or by the keys of `order` then creation order. When
    `needs_check(query)`, it yields every candidate in that order, without the page cut: `checked_page` keeps
    the matches, orders 'near' by distance and cuts the page."""
    stages = _match_stages(query.selection, entities, geometries)
    stages += _order_stages(query.order)
    if not needs_check(query):
        if query.limit <= 0:
            return [{"$match": _NONE}]
        stages += [{"$skip": query.offset}, {"$limit": query.limit}]
    return [*stages, {"$project": {"doc": 1}}]


def count_pipeline(query: EntityQuery) -> list[dict[str, Any]]:
    """The pipeline over `entities` that yields {"count": n} (nothing when n is 0). When `needs_check(query)`,
    use `checked_page` on page_pipeline's candidates instead: the database cannot decide the geo relation."""
    assert not needs_check(query)
    return [*_match_stages(query.selection), {"$count": "count"}]


def needs_check(query: EntityQuery) -> bool:
    """Whether the pipelines yield candidates that `checked_page` must check (a geo-query, a regular
    expression)."""
    return query.selection.geo is not None or _has_regex(query.selection)


def _has_regex(selection: Selection) -> bool:
    """Whether the selection holds a regular expression (which the database is not given)."""
    return (any(selector.id_pattern is not None for selector in selection.selectors)
            or (selection.q is not None and _has_pattern(selection.q)))


def _has_pattern(node: Node) -> bool:
    if isinstance(node, (And, Or)):
        return any(_has_pattern(item) for item in node.items)
    if isinstance(node, Not):
        return _has_pattern(node.item) or (node.requires is not None and _has_pattern(node.requires))
    return isinstance(node, Pattern)


def checked_page(query: EntityQuery, candidates: Iterable[str]) -> tuple[list[str], int]:
    """The page of the candidates' documents (in page_pipeline's order) that match the selection (its geo-query
    and its regular expressions), ordered by distance for 'near' without orderBy; and how many match in all."""
    selection, geo = query.selection, query.selection.geo
    whole = _has_regex(selection)
    matching: list[tuple[float, str]] = []
    for doc in candidates:
        entity = orjson.loads(doc)
        if whole and not selection.matches(entity):
            continue
        distance = 0.0
        if geo is not None:
            geometries = entity_geometries(entity, geo)
            if not any(geo_matches(geo, geometry) for geometry in geometries):
                continue
            distance = min(distance_metres(geo, g) for g in geometries) if geo.relation == "near" else 0.0
        matching.append((distance, doc))
    if geo is not None and geo.relation == "near" and not query.order:
        matching.sort(key=lambda item: item[0])  # stable: equal distances stay in creation order
    page = matching[query.offset: query.offset + max(query.limit, 0)]
    return [doc for _, doc in page], len(matching)


async def query_documents(entities: AsyncCollection[dict[str, Any]], geometries: AsyncCollection[dict[str, Any]],
                          query: EntityQuery, seconds: float = 0.0) -> tuple[list[str], int | None]:
    """The documents (`doc`) of the query's page and, when it asks for it, the number of matches: the pipelines
    run on the tenant's collections `entities` and `geometries` (each for at most `seconds` when given: then
    pymongo's ExecutionTimeout), and the geo relation and regular expressions are checked on the candidates."""
    limits: dict[str, Any] = {"maxTimeMS": max(1, round(seconds * 1000))} if seconds else {}
    if needs_check(query):
        pipeline = page_pipeline(query, entities.name, geometries.name)
        source = geometries if query.selection.geo is not None else entities
        candidates = [found["doc"] async for found in await source.aggregate(pipeline, **limits)]
        page, count = checked_page(query, candidates)
        return page, count if query.count else None
    page = ([found["doc"] async for found in await entities.aggregate(page_pipeline(query), **limits)]
            if query.limit > 0 else [])
    if not query.count:
        return page, None
    counted = [found async for found in await entities.aggregate(count_pipeline(query), **limits)]
    return page, counted[0]["count"] if counted else 0


def selection_filter(selection: Selection) -> dict[str, Any]:
    """The filter of the entity documents that `selection` selects, its geo-query aside."""
    return _conjunction(_conditions(selection))


# --- conditions -------------------------------------------------------------------------------------------

def _match_stages(selection: Selection, entities: str = "entities", geometries: str = "geometries",
                  ) -> list[dict[str, Any]]:
    exact = selection_filter(selection)
    if selection.geo is not None:
        return [*_geo_stages(selection.geo, entities, geometries), {"$match": exact}]
    driver = _driver(selection)
    if driver is None or driver == exact:
        return [{"$match": exact}]
    return [{"$match": driver}, {"$match": exact}]


def _conditions(selection: Selection) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if selection.selectors:
        selectors = merged_selectors(selection.selectors)
        found.append(_disjunction([_conjunction(_selector_conditions(s)) for s in selectors]))
    if selection.attrs:
        found.append(_disjunction([_rows(name, [{"k": "exists"}]) for name in selection.attrs]))
    for node in (selection.q, selection.scope_q):
        if node is not None:
            found.append(_node_filter(node))
    return found


def _driver(selection: Selection) -> dict[str, Any] | None:
    """One index condition that all the selected entities meet, the one most selective in general: ids, then a
    value of q, a type, a range of q, a scope, the existence of a q path. A type comes before a range: most
    ranges that pages ask for hold for many entities, and a page of one type is read in the order of the index
    on (types, seq), which stops at the end of the page; it also keeps a long list of types to the entities of
    those types (SecantusDB tries each document against every name of an `$in`)."""
    candidates: list[tuple[int, dict[str, Any]]] = []
    if len(selection.selectors) == 1:
        selector = selection.selectors[0]
        if selector.ids:
            candidates.append((0, {"_id": _one_of(selector.ids)}))
        terms = selector.types.items if isinstance(selector.types, AllOf) else (selector.types,)
        for names in (_type_names(term) for term in terms):
            if names is not None:
                candidates.append((2, {"types": _one_of(names)}))
    elif selection.selectors:  # several: all their ids, or all their types, when each selector names them
        selectors, types = merged_selectors(selection.selectors), [_type_names(s.types) for s in selection.selectors]
        if all(selector.ids for selector in selectors):
            candidates.append((0, {"_id": _one_of(tuple({i: 0 for s in selectors for i in s.ids}))}))
        elif all(names is not None for names in types):
            candidates.append((2, {"types": _one_of(tuple({n: 0 for names in types for n in names or ()}))}))
    for node in (selection.q, selection.scope_q):
        items = () if node is None else node.items if isinstance(node, And) else (node,)
        candidates += [driver for driver in map(_node_driver, items) if driver is not None]
    return min(candidates, key=lambda candidate: candidate[0])[1] if candidates else None


def _node_driver(node: Node) -> tuple[int, dict[str, Any]] | None:
    """The range of row keys that a term needs one of: a plain condition on vals.x, which a planner that does not
    look into $elemMatch still answers from the index (MongoDB bounds the exact $elemMatch that follows)."""
    if isinstance(node, Compare) and node.op == "==":
        keys = [row_key(node.path.key, row["k"], row["v"]) for literal in node.values for row in _equal_rows(literal)]
        return 1, {"vals.x": _one_of(tuple(keys))}
    if isinstance(node, (Compare, Range)):
        return 3, {"vals.x": _key_range(node.path.key, node)}
    if isinstance(node, ScopeMatch):
        scope = _scope_row(node.levels).get("v")
        if isinstance(scope, str):
            return 4, {"vals.x": row_key(SCOPE_PATH, "scope", scope)}
        return 4, {"vals.x": _scope_keys(node.levels)}
    if isinstance(node, Pattern):
        return 5, {"vals.x": _prefix_range(node.path.key, "string")}
    if isinstance(node, Exists):
        return 5, {"vals.x": _prefix_range(node.path.key)}
    return None


def _selector_conditions(selector: EntitySelector) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if selector.ids:
        found.append({"_id": _one_of(selector.ids)})
    if selector.types is not None:
        found.append(_type_filter(selector.types))
    return found


def _type_filter(expr: TypeExpr) -> dict[str, Any]:
    names = _type_names(expr)
    if names is not None:
        return {"types": _one_of(names)}
    if isinstance(expr, AllOf):
        return _conjunction([_type_filter(item) for item in expr.items])
    assert isinstance(expr, AnyOf)
    return _disjunction([_type_filter(item) for item in expr.items])


def _type_names(expr: TypeExpr | None) -> tuple[str, ...] | None:
    """The type IRIs of which an entity must have one, when the expression is no more than that."""
    if isinstance(expr, TypeName):
        return (expr.iri,)
    if isinstance(expr, AnyOf) and all(isinstance(item, TypeName) for item in expr.items):
        return tuple(item.iri for item in expr.items)  # type: ignore[union-attr]
    return None


def _node_filter(node: Node) -> dict[str, Any]:
    """A q or scopeQ node as a filter on the value rows `vals` (mirrors ngsi_ld.query.evaluate)."""
    if isinstance(node, And):
        return _conjunction([_node_filter(item) for item in node.items])
    if isinstance(node, Or):
        return _disjunction([_node_filter(item) for item in node.items])
    if isinstance(node, Not):
        if _has_pattern(node.item):  # the broker decides (checked_page): any entity where `requires` holds
            return _ALL if node.requires is None else _node_filter(node.requires)
        negation = {"$nor": [_node_filter(node.item)]}
        return negation if node.requires is None else _conjunction([_node_filter(node.requires), negation])
    if isinstance(node, Exists):
        return _rows(node.path.key, [{}])
    if isinstance(node, ScopeMatch):
        row = {"k": "scope", **_scope_row(node.levels)}
        return _rows(SCOPE_PATH, [row], None if isinstance(row.get("v"), str) else _scope_keys(node.levels))
    if isinstance(node, Pattern):
        return _rows(node.path.key, [{"k": "string", "r": False}])  # the broker runs the regex (checked_page)
    if isinstance(node, Range):
        return _rows(node.path.key, [{"k": node.low.kind, "v": {"$gte": node.low.value, "$lte": node.high.value}}],
                     _key_range(node.path.key, node))
    if node.op == "==":
        return _rows(node.path.key, [row for literal in node.values for row in _equal_rows(literal)])
    literal = node.values[0]
    return _rows(node.path.key, [{"k": literal.kind, "r": False, "v": {_ORDERINGS[node.op]: literal.value}}],
                 _key_range(node.path.key, node))


def _rows(path: str, alternatives: list[dict[str, Any]], keys: Any = None) -> dict[str, Any]:
    """That a value row of `path` meets one of `alternatives`: one $elemMatch each, bounded by the index on
    vals.x: by `keys`, else by the key of the alternative's value when it is one, else by its path and kind."""
    return _disjunction([{"vals": {"$elemMatch": {"x": keys if keys is not None else _row_keys(path, row),
                                                  "p": path, **row}}} for row in alternatives])


def _row_keys(path: str, row: dict[str, Any]) -> Any:
    kind, value = row.get("k"), row.get("v")
    if kind is not None and value is not None and not isinstance(value, dict):
        return row_key(path, kind, value)
    return _prefix_range(path, kind)


def _prefix_range(path: str, kind: str | None = None, value_prefix: str = "") -> dict[str, str]:
    """The keys of the rows of `path` (of `kind`, whose value starts with `value_prefix`)."""
    prefix = path + KEY_SEPARATOR + (kind + KEY_SEPARATOR + value_prefix if kind is not None else "")
    return {"$gte": prefix, "$lt": prefix[:-1] + chr(ord(prefix[-1]) + 1)}


def _key_range(path: str, node: Compare | Range) -> dict[str, str]:
    """The keys of the rows that an ordering or a range can select (bounds kept inclusive: two numbers may share
    a key, so the value `v` decides)."""
    if isinstance(node, Range):
        return {"$gte": row_key(path, node.low.kind, node.low.value),
                "$lte": row_key(path, node.high.kind, node.high.value)}
    literal = node.values[0]
    whole = _prefix_range(path, literal.kind)
    key = row_key(path, literal.kind, literal.value)
    return {"$gte": key, "$lt": whole["$lt"]} if node.op in (">", ">=") else {"$gte": whole["$gte"], "$lte": key}


def _equal_rows(literal: Literal) -> list[dict[str, Any]]:
    """The rows equal to a literal: a string also equals a VocabProperty's IRI (its expansion)."""
    rows = [{"k": literal.kind, "v": literal.value}]
    if literal.kind == "string" and literal.vocab is not None:
        rows.append({"k": "vocab", "v": literal.vocab})
    return rows


def _scope_row(levels: tuple[str, ...]) -> dict[str, Any]:
    """The scope rows that ngsi_ld.query.scope.scope_matches selects, as an equality or an anchored regex."""
    if levels == ("#",):
        return {}
    if "+" not in levels and "#" not in levels:
        return {"v": "/" + "/".join(levels)}
    parts = ["[^/]+" if level == "+" else re.escape(level) for level in levels if level != "#"]
    tail = "(/|$)" if levels[-1] == "#" else "$"
    return {"v": {"$regex": "^/" + "/".join(parts) + tail}}


def _scope_keys(levels: tuple[str, ...]) -> dict[str, str]:
    """The keys of the scopes that start as every scope the levels select: with the levels before the first
    wildcard."""
    fixed = list(itertools.takewhile(lambda level: level not in ("+", "#"), levels))
    return _prefix_range(SCOPE_PATH, "scope", "/" + "/".join(fixed))


def _one_of(items: tuple[str, ...]) -> Any:
    return items[0] if len(items) == 1 else {"$in": list(items)}


def _conjunction(parts: list[dict[str, Any]]) -> dict[str, Any]:
    parts = [part for part in parts if part]
    if not parts:
        return _ALL
    return parts[0] if len(parts) == 1 else {"$and": parts}


def _disjunction(parts: list[dict[str, Any]]) -> dict[str, Any]:
    if any(not part for part in parts):
        return _ALL
    return parts[0] if len(parts) == 1 else {"$or": parts}


# --- geo --------------------------------------------------------------------------------------------------

def _geo_stages(geo: GeoQuery, entities: str, geometries: str) -> list[dict[str, Any]]:
    """The stages over `geometries` that yield the candidate entities of a geo-query (each once): those of the
    indexed geometries that may match, and those with a geometry the index does not hold (mongo_layout)."""
    unindexed = {"$unionWith": {"coll": geometries, "pipeline": [{"$match": {"u": True, "p": geo.geoproperty}}]}}
    return [_geo_first_stage(geo), unindexed, {"$group": {"_id": "$e"}},
            {"$lookup": {"from": entities, "localField": "_id", "foreignField": "_id", "as": "entity"}},
            {"$unwind": "$entity"}, {"$replaceRoot": {"newRoot": "$entity"}}]


def _geo_first_stage(geo: GeoQuery) -> dict[str, Any]:
    """The geometries of the GeoProperty in one of the query's covers (all of them when it has none)."""
    covers = geo_cover(geo)
    if covers is None:
        return {"$match": {"p": geo.geoproperty}}
    return {"$match": {"p": geo.geoproperty,
                       **_disjunction([{"g": {"$geoIntersects": {"$geometry": cover}}} for cover in covers])}}


def geo_cover(geo: GeoQuery) -> list[dict[str, Any]] | None:
    """Polygons that together hold every geometry that can match the geo-query, or None when it has none.

    Each is a bounding box of GeoQuery (lon/lat degrees, cut at the antimeridian) grown by a margin, its
    edges cut every _COVER_STEP degrees: MongoDB draws a polygon's edges as geodesics, which stray from the
    parallels of the box, less than the margin at that step.
    """
    boxes = geo.bounding_boxes()
    if boxes is None:
        return None
    covers = []
    for min_x, min_y, max_x, max_y in boxes:
        low, high = min_y - _COVER_MARGIN, max_y + _COVER_MARGIN
        if low < -_COVER_LIMIT or high > _COVER_LIMIT or max_x - min_x > 180:
            return None
        west, east = max(min_x - _COVER_MARGIN, -180.0), min(max_x + _COVER_MARGIN, 180.0)
        ring = (_edge((west, low), (east, low)) + _edge((east, low), (east, high))
                + _edge((east, high), (west, high)) + _edge((west, high), (west, low)))
        covers.append({"type": "Polygon", "coordinates": [[*ring, ring[0]]]})
    return covers


def _edge(start: tuple[float, float], end: tuple[float, float]) -> list[list[float]]:
    """The points of an edge from `start` (included) to `end` (excluded), _COVER_STEP degrees apart at most."""
    steps = max(1, math.ceil(max(abs(end[0] - start[0]), abs(end[1] - start[1])) / _COVER_STEP))
    return [[start[0] + (end[0] - start[0]) * step / steps, start[1] + (end[1] - start[1]) * step / steps]
            for step in range(steps)]


# --- order ------------------------------------------------------------------------------------------------

def _order_stages(keys: tuple[OrderKey, ...]) -> list[dict[str, Any]]:
    """Sort by the keys, then creation order. An attribute orders by its smallest value row {k, v} (BSON
    compares the kind, then the value); entities without one come last in either direction."""
    if not keys:
        return [{"$sort": {"seq": 1}}]
    computed: dict[str, Any] = {}
    present: dict[str, Any] = {}
    order: dict[str, int] = {}
    for number, key in enumerate(keys):
        direction = -1 if key.descending else 1
        if key.path == ENTITY_ID:
            order["_id"] = direction
            continue
        value, has = f"_o{number}", f"_h{number}"
        rows = {"$filter": {"input": "$vals", "cond": {"$and": [
            {"$eq": ["$$this.p", key.path]}, {"$ne": ["$$this.k", "exists"]}]}}}
        computed[value] = {"$min": {"$map": {"input": rows, "in": {"k": "$$this.k", "v": "$$this.v"}}}}
        present[has] = {"$eq": [{"$type": f"${value}"}, "object"]}
        order[has] = -1
        order[value] = direction
    order["seq"] = 1
    stages: list[dict[str, Any]] = [{"$addFields": computed}, {"$addFields": present}] if computed else []
    return [*stages, {"$sort": order}]

"""Compiles a Selection into SQL conditions over the store's index tables:

- entity_types (type, seq): the types of each entity;
- attr_values (seq, path, kind, val, instance, relationship): the rows of ngsi_ld.query.targets, each path
  interned as an integer of table path_ids (id, iri): metadata and sub-attribute paths have negative ids, and
  only the rows of positive ids are in the index by value (partial: `WHERE path > 0`); the createdAt and
  modifiedAt of instances have no rows: their conditions read the entity's document (SQL function system_times);
- geo_shapes (id, seq, path, geometry) with the R*Tree geo_index (id, min_x, max_x, min_y, max_y).

A selection is the conjunction of its conditions. Each one can be probed for one entity (alias e) through the
index on seq; a positive one can also drive the query, listing the seqs it holds for from an index by value,
unless it is on a metadata or sub-attribute path (those are only probed).
The row conditions mirror ngsi_ld.query.evaluate, which the differential tests check.

Large queries stay within SQLite's limits (500 terms in a compound SELECT, an expression tree 1000 deep, 32766
parameters): a long list of values or ids is one parameter, a JSON array read by json_each; a long OR or AND is
grouped in parentheses, so that its tree grows with the logarithm of its terms; a long UNION ALL is cut into
nested compounds; and entity selectors that differ only by their ids are merged into one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeGuard

import orjson

from ngsi_ld.query.ast import SEPARATOR, And, Compare, Exists, Literal, Node, Not, Or, Pattern, Range, ScopeMatch
from ngsi_ld.query.geo import GeoQuery
from ngsi_ld.query.order import ENTITY_ID, OrderKey
from ngsi_ld.query.selection import EntitySelector, Selection, merged_selectors
from ngsi_ld.query.targets import SCOPE_PATH, SYSTEM_TIMES
from ngsi_ld.typeexpr import AllOf, AnyOf, TypeExpr, TypeName

__all__ = [
    "PATH_IS", "Condition", "Driver", "Sql", "by_value", "conditions", "conjunction", "distance_order", "key_walk",
    "lacks_key", "order_terms",
]


@dataclass(frozen=True, slots=True)
class Sql:
    text: str
    params: tuple[Any, ...] = ()


@dataclass(frozen=True, slots=True)
class Driver:
    """How a condition lists its entities from an index.

    `seqs` selects exactly the seqs of the entities it holds for (maybe repeated); `rows` selects, more
    cheaply, as many rows or more, so that counting them up to a cap estimates its size; `ordered` when
    `seqs` gives each seq once, in increasing order.
    """

    seqs: Sql
    rows: Sql
    ordered: bool = False


@dataclass(frozen=True, slots=True)
class Condition:
    probe: Sql
    """Whether the condition holds for the entity e."""
    driver: Driver | None = None


def conditions(selection: Selection) -> list[Condition]:
    """The conditions that together select the entities of `selection`."""
    found: list[Condition] = []
    selectors = merged_selectors(selection.selectors)
    if len(selectors) == 1:
        found.extend(_selector_conditions(selectors[0]))
    elif selectors:
        found.extend(_selectors_conditions(selectors))
    if selection.attrs:
        found.append(_attr_condition([Sql(PATH_IS, (name,)) for name in selection.attrs]))
    for node in (selection.q, selection.scope_q):
        if node is not None:
            found.extend(_node_condition(item) for item in (node.items if isinstance(node, And) else (node,)))
    if selection.geo is not None:
        found.append(_geo_condition(selection.geo))
    return found


def distance_order(geo: GeoQuery) -> Sql:
    """The distance of e to the geometry of a 'near' geo-query (clause 4.10)."""
    return Sql(
        "(SELECT MIN(geo_distance(?, s.geometry)) FROM geo_shapes s WHERE s.seq = e.seq AND s.path = ?)",
        (geo.geometry, geo.geoproperty),
    )


# Ordering (orderBy): an attribute orders an entity by its smallest value row, by (kind, val); its 'exists'
# rows say that it exists, not what it holds. (kind, val, instance) is unique per entity and path, so the row
# that has no smaller one is the entity's only key row.
_KEY_ROWS = "path = (SELECT id FROM path_ids WHERE iri = ?) AND kind != 'exists'"

PATH_IS = "path = (SELECT id FROM path_ids WHERE iri = ?)"
"""The rows of one path, given as its IRI."""
_BY_VALUE = " AND path > 0"
"""Added to a statement on the rows of a path that is in the index by value, so that SQLite may use it."""


def by_value(path: str) -> bool:
    """Whether the rows of `path` are in the index by value: not those of metadata and sub-attributes."""
    return SEPARATOR not in path


def order_terms(keys: tuple[OrderKey, ...]) -> Sql:
    """The ORDER BY terms of the keys, each computed for the entity e (an entity without a value of the key
    after the others), then creation order."""
    terms: list[Sql] = []
    for key in keys:
        direction = " DESC" if key.descending else ""
        if key.path == ENTITY_ID:
            terms.append(Sql(f"e.id{direction}"))
            continue
        for column in ("kind", "val"):
            smallest = f"SELECT {column} FROM attr_values WHERE seq = e.seq AND {_KEY_ROWS}"
            terms.append(Sql(f"({smallest} ORDER BY kind, val, instance LIMIT 1){direction} NULLS LAST", (key.path,)))
    terms.append(Sql("e.seq"))
    return Sql(", ".join(term.text for term in terms), _params(terms))


def key_walk(key: OrderKey) -> tuple[Sql, Sql, Sql]:
    """FROM, WHERE and ORDER BY that walk the entities having a value of an attribute key in the key's order,
    along the index by value: each entity once, at its key row (alias a)."""
    direction = " DESC" if key.descending else ""
    smaller = ("SELECT 1 FROM attr_values b WHERE b.seq = a.seq AND b.path = a.path AND b.kind != 'exists' "
               "AND (b.kind, b.val, b.instance) < (a.kind, a.val, a.instance)")
    where = Sql(f"a.{PATH_IS} AND a.path > 0 AND a.kind != 'exists' AND NOT EXISTS ({smaller})", (key.path,))
    source = Sql("attr_values a CROSS JOIN entities e ON e.seq = a.seq")
    return source, where, Sql(f"a.kind{direction}, a.val{direction}")


def lacks_key(key: OrderKey) -> Condition:
    """The condition that e has no value of an attribute key."""
    return Condition(Sql(f"NOT EXISTS (SELECT 1 FROM attr_values WHERE seq = e.seq AND {_KEY_ROWS})", (key.path,)))


_LISTED = 32
"""Longer lists of values or ids are given as one JSON array parameter."""
_GROUPED = 64
"""Most terms of an OR or an AND in one pair of parentheses."""
_COMPOUND = 400
"""Most SELECTs in one UNION ALL (SQLite allows 500)."""


def _marks(items: tuple[Any, ...]) -> str:
    return ", ".join("?" * len(items))


def _one_of(column: str, items: tuple[Any, ...]) -> Sql:
    """`column` is one of `items`: a list of parameters, or a JSON array when the list is long."""
    if len(items) == 1:
        return Sql(f"{column} = ?", items)
    if len(items) <= _LISTED:
        return Sql(f"{column} IN ({_marks(items)})", items)
    return Sql(f"{column} IN (SELECT value FROM json_each(?))", (orjson.dumps(items).decode(),))


def conjunction(parts: Iterable[Sql]) -> Sql:
    return _join(" AND ", parts)


def disjunction(parts: Iterable[Sql]) -> Sql:
    return _join(" OR ", parts)


def _join(joiner: str, parts: Iterable[Sql]) -> Sql:
    listed = list(parts)
    if not listed:
        return Sql("1")
    texts = [part.text for part in listed]
    while len(texts) > _GROUPED:
        texts = ["(" + joiner.join(texts[start:start + _GROUPED]) + ")" for start in range(0, len(texts), _GROUPED)]
    return Sql("(" + joiner.join(texts) + ")", _params(listed))


def _params(parts: list[Sql]) -> tuple[Any, ...]:
    return tuple(param for part in parts for param in part.params)


def _selector_conditions(selector: EntitySelector) -> list[Condition]:
    found = []
    if selector.ids:
        found.append(_ids_condition(selector.ids))
    if selector.id_pattern is not None:
        found.append(Condition(Sql("regexp(?, e.id)", (selector.id_pattern,))))
    if isinstance(selector.types, AllOf):
        found.extend(_type_condition(item) for item in selector.types.items)
    elif selector.types is not None:
        found.append(_type_condition(selector.types))
    return found


def _ids_condition(ids: tuple[str, ...]) -> Condition:
    where = _one_of("id", ids)
    seqs = Sql(f"SELECT seq FROM entities WHERE {where.text}", where.params)
    return Condition(Sql(f"e.{where.text}", where.params), Driver(seqs, seqs))


def _selectors_conditions(selectors: tuple[EntitySelector, ...]) -> list[Condition]:
    """Any of several selectors; when each names ids, or each names types, a condition that the selectors imply
    (one of all their ids, or of all their types) joins it, to list the candidates from an index."""
    either = Condition(disjunction(_selector_probe(selector) for selector in selectors))
    if all(selector.ids for selector in selectors):
        return [either, _ids_condition(tuple(dict.fromkeys(i for s in selectors for i in s.ids)))]
    names = [_driving_type_names(selector.types) for selector in selectors]
    if any(item is None for item in names):
        return [either]
    typed = AnyOf(tuple(TypeName(name) for name in dict.fromkeys(n for item in names for n in item or ())))
    return [either, _type_condition(typed)]


def _driving_type_names(expr: TypeExpr | None) -> tuple[str, ...] | None:
    """Type IRIs of which each entity that the expression selects has one, if it says so plainly."""
    terms = expr.items if isinstance(expr, AllOf) else (expr,) if expr is not None else ()
    return next((names for names in map(_type_names, terms) if names is not None), None)


def _selector_probe(selector: EntitySelector) -> Sql:
    """The selector's conditions on e, those read from an index first (an id pattern calls Python)."""
    found = _selector_conditions(selector)
    return conjunction(condition.probe for condition in sorted(found, key=lambda item: item.driver is None))


def _type_condition(expr: TypeExpr) -> Condition:
    names = _type_names(expr)
    if names is None:
        return Condition(_type_probe(expr))
    where = _one_of("type", names)
    seqs = Sql(f"SELECT seq FROM entity_types WHERE {where.text}", where.params)
    probe = Sql(f"EXISTS (SELECT 1 FROM entity_types WHERE seq = e.seq AND {where.text})", where.params)
    return Condition(probe, Driver(seqs, seqs, ordered=len(names) == 1))


def _type_names(expr: TypeExpr) -> tuple[str, ...] | None:
    """The type IRIs of which an entity must have one, when the expression is no more than that."""
    if isinstance(expr, TypeName):
        return (expr.iri,)
    if isinstance(expr, AnyOf) and all(isinstance(item, TypeName) for item in expr.items):
        return tuple(item.iri for item in expr.items)  # type: ignore[union-attr]
    return None


def _type_probe(expr: TypeExpr) -> Sql:
    names = _type_names(expr)
    if names is not None:
        return _type_condition(expr).probe
    if isinstance(expr, AllOf):
        return conjunction(_type_probe(item) for item in expr.items)
    if isinstance(expr, AnyOf):
        return disjunction(_type_probe(item) for item in expr.items)
    raise NotImplementedError(f"No SQL for type expression node {expr!r}")


def _attr_condition(alternatives: list[Sql], cheap: Sql | None = None, indexed: bool = True) -> Condition:
    """A condition that a value row of e satisfies one of `alternatives` (each of which implies `cheap`);
    `indexed` when the rows of every alternative are in the index by value."""
    either = disjunction(alternatives)
    probe = Sql(f"EXISTS (SELECT 1 FROM attr_values WHERE seq = e.seq AND {either.text})", either.params)
    if not indexed:
        return Condition(probe)
    # One index search per alternative: SQLite would read every row of the path for an OR of (kind, val).
    seqs = _union_all([Sql(f"SELECT seq FROM attr_values WHERE {where.text}{_BY_VALUE}", where.params)
                       for where in alternatives])
    rows = seqs if cheap is None else Sql(f"SELECT 1 FROM attr_values WHERE {cheap.text}{_BY_VALUE}", cheap.params)
    return Condition(probe, Driver(seqs, rows))


def _union_all(selects: list[Sql]) -> Sql:
    texts = [select.text for select in selects]
    while len(texts) > _COMPOUND:
        texts = [f"SELECT * FROM ({' UNION ALL '.join(texts[start:start + _COMPOUND])})"
                 for start in range(0, len(texts), _COMPOUND)]
    return Sql(" UNION ALL ".join(texts), _params(selects))


def _node_condition(node: Node) -> Condition:
    """A q or scopeQ node as a condition over the value rows of table attr_values."""
    if _by_rows(node):
        return _attr_condition(*_row_alternatives(node), indexed=_indexed(node))
    if _by_document(node):
        return _document_condition(node)
    if isinstance(node, Or):
        return _or_condition(node)
    return Condition(_node_probe(node))


_RowTerm = ScopeMatch | Pattern | Exists | Compare | Range
"""The nodes that hold when one value row of the entity meets a condition."""


def _by_rows(node: Node) -> TypeGuard[_RowTerm]:
    """A node that holds by one row of table attr_values."""
    return isinstance(node, (ScopeMatch, Pattern, Exists, Compare, Range)) and not _by_document(node)


def _by_document(node: Node) -> TypeGuard[Pattern | Exists | Compare | Range]:
    """A node on a system time of instances: the table has no rows of them, the entity's document answers."""
    return isinstance(node, (Pattern, Exists, Compare, Range)) and SEPARATOR in node.path.key \
        and node.path.key.rpartition(SEPARATOR)[2] in SYSTEM_TIMES


def _indexed(node: _RowTerm) -> bool:
    return isinstance(node, ScopeMatch) or by_value(node.path.key)


def _row_alternatives(node: _RowTerm) -> tuple[list[Sql], Sql | None]:
    """The conditions on a value row of which one must be met, and a cheaper one that each of them implies."""
    if isinstance(node, ScopeMatch):
        cheap = Sql(f"path = (SELECT id FROM path_ids WHERE iri = '{SCOPE_PATH}')")
        return [Sql(f"{cheap.text} AND scope_match(?, val)", ("/".join(node.levels),))], cheap
    alternatives = [Sql(f"{PATH_IS}{test.text}", (node.path.key, *test.params)) for test in _value_tests(node)]
    if isinstance(node, Pattern):
        return alternatives, Sql(f"{PATH_IS} AND kind = 'string'", (node.path.key,))
    return alternatives, None


_DOCUMENT_ROWS = ("SELECT json_extract(value, '$[0]') AS kind, json_extract(value, '$[1]') AS val, "
                  "0 AS relationship FROM json_each(system_times(e.doc, ?))")
"""The (kind, val, relationship) of the rows of a system time path, read from the document of e."""


def _document_condition(node: Pattern | Exists | Compare | Range) -> Condition:
    either = disjunction(Sql(f"1{test.text}", test.params) for test in _value_tests(node))
    return Condition(Sql(f"EXISTS (SELECT 1 FROM ({_DOCUMENT_ROWS}) WHERE {either.text})",
                         (node.path.key, *either.params)))


def _or_condition(node: Or) -> Condition:
    """An OR; when it has many terms that each hold by one value row, these become the alternatives of one
    condition on the rows (an entity is probed once, not once per term, and one index search per term lists
    the candidates)."""
    rows = [item for item in node.items if _by_rows(item)]
    if len(rows) <= _LISTED:
        return Condition(_node_probe(node))
    merged = _attr_condition([alternative for item in rows for alternative in _row_alternatives(item)[0]],
                             indexed=all(map(_indexed, rows)))
    others = [_node_probe(item) for item in node.items if not _by_rows(item)]
    return Condition(disjunction([merged.probe, *others])) if others else merged


def _node_probe(node: Node) -> Sql:
    if isinstance(node, And):
        return conjunction(_node_probe(item) for item in node.items)
    if isinstance(node, Or):
        return disjunction(_node_probe(item) for item in node.items)
    if isinstance(node, Not):
        negation = _node_probe(node.item)
        negation = Sql(f"NOT {negation.text}", negation.params)
        return negation if node.requires is None else conjunction((_node_probe(node.requires), negation))
    return _node_condition(node).probe


def _value_tests(node: Pattern | Exists | Compare | Range) -> list[Sql]:
    """The conditions on a value row of the node's path (its kind, val and relationship), one of which a row must
    meet."""
    if isinstance(node, Pattern):
        return [Sql(" AND kind = 'string' AND NOT relationship AND regexp(?, val)", (node.regex,))]
    if isinstance(node, Exists):
        return [Sql("")]
    if isinstance(node, Range):
        return [Sql(" AND kind = ? AND val BETWEEN ? AND ?", (node.low.kind, node.low.value, node.high.value))]
    if node.op == "==":
        pairs = [pair for literal in node.values for pair in _equal_rows(literal)]
        if len(pairs) <= _LISTED:
            return [Sql(" AND kind = ? AND val = ?", pair) for pair in pairs]
        by_kind: dict[str, list[Any]] = {}
        for kind, value in pairs:
            by_kind.setdefault(kind, []).append(value)
        return [_kind_one_of(kind, tuple(values)) for kind, values in by_kind.items()]
    literal = node.values[0]
    return [Sql(f" AND kind = ? AND NOT relationship AND val {node.op} ?", (literal.kind, literal.value))]


def _kind_one_of(kind: str, values: tuple[Any, ...]) -> Sql:
    listed = _one_of("val", values)
    return Sql(f" AND kind = ? AND {listed.text}", (kind, *listed.params))


def _equal_rows(literal: Literal) -> tuple[tuple[str, Any], ...]:
    """The (kind, val) of the value rows equal to a literal: a string also equals a VocabProperty's IRI."""
    if literal.kind != "string":
        return ((literal.kind, literal.value),)
    return (literal.kind, literal.value), ("vocab", literal.vocab)


def _geo_condition(geo: GeoQuery) -> Condition:
    match = Sql("s.path = ? AND geo_match(?, ?, ?, ?, s.geometry)",
                (geo.geoproperty, geo.relation, geo.geometry, geo.max_distance, geo.min_distance))
    probe = Sql(f"EXISTS (SELECT 1 FROM geo_shapes s WHERE s.seq = e.seq AND {match.text})", match.params)
    boxes = geo.bounding_boxes()
    if boxes is None:
        return Condition(probe)
    # One R*Tree search per box (a 'near' over the antimeridian has two).
    box = "SELECT id FROM geo_index WHERE max_x >= ? AND min_x <= ? AND max_y >= ? AND min_y <= ?"
    in_boxes = _union_all([Sql(box, (min_x, max_x, min_y, max_y)) for min_x, min_y, max_x, max_y in boxes])
    seqs = Sql(f"SELECT s.seq FROM geo_shapes s WHERE s.id IN ({in_boxes.text}) AND {match.text}",
               in_boxes.params + match.params)
    return Condition(probe, Driver(seqs, in_boxes))

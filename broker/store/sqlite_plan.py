"""Chooses how SQLite answers a query, since it cannot know how many entities a value condition selects.

The conditions that can list their entities from an index are counted, each up to a cap. When one selects
fewer entities than the cap, it lists the candidates and the others are probed on each of them. When all are
broad, a page walks the entities in creation order (through the type index when there is one type) and probes
every condition on each, stopping as soon as the page is full: its cost follows the page, not the tenant's size.

An orderBy is answered the same way. Few candidates are sorted by their keys. Otherwise the first key, when it
is an attribute, is walked along the index by value, in its order, probing every condition on each entity and
stopping when the page is full; the entities without a value of it come last, walked as an unordered page.
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any

from broker.store.base import EntityQuery
from broker.store.sqlite_compile import (
    Condition,
    Driver,
    Sql,
    by_value,
    conditions,
    conjunction,
    distance_order,
    key_walk,
    lacks_key,
    order_terms,
)
from ngsi_ld.query.order import ENTITY_ID, OrderKey

__all__ = ["DRIVER_CAP", "PlannedConnection", "count_statement", "page_documents", "page_statement"]

DRIVER_CAP = 1000
"""Below this many index rows, a condition lists the candidates rather than letting a page walk them."""
EVERY_MATCH_COUNT = 20
"""How many times further the conditions are counted when the statement must visit every match."""
SIZE_SECONDS = 1.0
"""How long the count of a condition is used again: pages of the same query follow one another."""
_SIZES_KEPT = 1000


class PlannedConnection(sqlite3.Connection):
    """A connection (sqlite3.connect(..., factory=PlannedConnection)) that keeps the planner's recent counts."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sizes: dict[tuple[Sql, int], tuple[float, int]] = {}
        """(when, size) of the counts of drivers, by their rows statement and cap."""


def page_statement(connection: sqlite3.Connection, query: EntityQuery, cap: int = DRIVER_CAP) -> Sql:
    """The statement of the documents of the query's page, in creation order (by distance for 'near')."""
    geo = query.selection.geo
    near = geo if geo is not None and geo.relation == "near" else None
    driver, probes = _plan(connection, conditions(query.selection), cap, every_match=near is not None)
    source, where = _source(driver, probes)
    order = Sql("d.seq" if driver is not None and driver.ordered else "e.seq")
    if near is not None:
        distance = distance_order(near)
        order = Sql(f"{distance.text}, {order.text}", distance.params)
    return Sql(
        f"SELECT e.doc FROM {source.text} WHERE {where.text} ORDER BY {order.text} LIMIT ? OFFSET ?",
        (*source.params, *where.params, *order.params, query.limit, query.offset),
    )


def page_documents(connection: sqlite3.Connection, query: EntityQuery, cap: int = DRIVER_CAP) -> list[str]:
    """The documents of the query's page, in the query's order."""
    if not query.order:
        page = page_statement(connection, query, cap)
        return [doc for (doc,) in connection.execute(page.text, page.params)]
    found = conditions(query.selection)
    selective = _selective(connection, found, cap)
    first = query.order[0]
    if selective is None and first.path != ENTITY_ID and by_value(first.path):
        return _walked_page(connection, found, query, cap)
    source, where = _source(*(selective or (None, found)))
    return _documents(connection, source, where, order_terms(query.order), query.limit, query.offset)


def _walked_page(connection: sqlite3.Connection, found: list[Condition], query: EntityQuery, cap: int) -> list[str]:
    """A page ordered by keys whose first is an attribute: the entities that have a value of it, walked along
    the index by value, then those that have none."""
    first, rest = query.order[0], query.order[1:]
    source, key_where, key_order = key_walk(first)
    where = conjunction([key_where, *(condition.probe for condition in found)])
    tail = order_terms(rest)
    order = Sql(f"{key_order.text}, {tail.text}", tail.params)
    docs = _documents(connection, source, where, order, query.limit, query.offset)
    if len(docs) == query.limit:
        return docs
    walked = query.offset + len(docs) if docs or not query.offset else _count(connection, source, where)
    return docs + _lacking_page(connection, found, first, rest, query.limit - len(docs), max(query.offset - walked, 0),
                                cap)


def _lacking_page(connection: sqlite3.Connection, found: list[Condition], key: OrderKey, rest: tuple[OrderKey, ...],
                  limit: int, offset: int, cap: int) -> list[str]:
    """A page of the entities that have no value of `key`, ordered by the `rest` of the keys."""
    lacking = [*found, lacks_key(key)]
    if rest:
        source, where = _source(*(_selective(connection, lacking, cap) or (None, lacking)))
        return _documents(connection, source, where, order_terms(rest), limit, offset)
    driver, probes = _plan(connection, lacking, cap, every_match=False)
    source, where = _source(driver, probes)
    order = Sql("d.seq" if driver is not None and driver.ordered else "e.seq")
    return _documents(connection, source, where, order, limit, offset)


def _selective(connection: sqlite3.Connection, found: list[Condition],
               cap: int) -> tuple[Driver | None, list[Condition]] | None:
    """The plan that lists the candidates from the smallest condition, when it holds fewer than `cap` rows."""
    sized = [(_size(connection, condition.driver, cap), index)
             for index, condition in enumerate(found) if condition.driver is not None]
    if not sized:
        return None
    size, index = min(sized)
    return _split(found, found[index]) if size < cap else None


def _documents(connection: sqlite3.Connection, source: Sql, where: Sql, order: Sql, limit: int,
               offset: int) -> list[str]:
    statement = f"SELECT e.doc FROM {source.text} WHERE {where.text} ORDER BY {order.text} LIMIT ? OFFSET ?"
    rows = connection.execute(statement, (*source.params, *where.params, *order.params, limit, offset))
    return [doc for (doc,) in rows]


def _count(connection: sqlite3.Connection, source: Sql, where: Sql) -> int:
    row = connection.execute(f"SELECT COUNT(*) FROM {source.text} WHERE {where.text}", (*source.params, *where.params))
    return int(row.fetchone()[0])


def count_statement(connection: sqlite3.Connection, query: EntityQuery, cap: int = DRIVER_CAP) -> Sql:
    """The statement of the number of entities the query selects."""
    driver, probes = _plan(connection, conditions(query.selection), cap, every_match=True)
    source, where = _source(driver, probes)
    return Sql(f"SELECT COUNT(*) FROM {source.text} WHERE {where.text}", (*source.params, *where.params))


def _plan(connection: sqlite3.Connection, found: list[Condition], cap: int,
          every_match: bool) -> tuple[Driver | None, list[Condition]]:
    """The driver (None: walk every entity) and the conditions to probe, the most selective first.

    `every_match`: the statement visits every matching entity (a count, or an order by distance), so the
    smallest condition drives it however broad it is.
    """
    drivers = [(condition, condition.driver) for condition in found if condition.driver is not None]
    if not drivers:
        return None, found
    if len(drivers) == 1 and (every_match or drivers[0][1].ordered):
        return _split(found, drivers[0][0])
    # A statement that visits every match is worth a closer count: its driver is read in full.
    counted = cap * EVERY_MATCH_COUNT if every_match else cap
    sizes = {id(condition): _size(connection, driver, counted) for condition, driver in drivers}
    by_size = sorted(found, key=lambda condition: sizes.get(id(condition), counted + 1))
    if every_match or sizes[id(by_size[0])] < cap:
        return _split(by_size, by_size[0])
    walker = next((c for c in by_size if c.driver is not None and c.driver.ordered), None)
    return (None, by_size) if walker is None else _split(by_size, walker)


def _split(found: list[Condition], chosen: Condition) -> tuple[Driver | None, list[Condition]]:
    return chosen.driver, [condition for condition in found if condition is not chosen]


def _size(connection: sqlite3.Connection, driver: Driver, cap: int) -> int:
    """The number of rows that `driver` reads from its index, counted up to `cap`; a count made less than
    SIZE_SECONDS ago is used again (a size only chooses the plan: every plan gives the same answer)."""
    sizes = connection.sizes if isinstance(connection, PlannedConnection) else {}
    now = time.monotonic()
    known = sizes.get((driver.rows, cap))
    if known is not None and now - known[0] < SIZE_SECONDS:
        return known[1]
    row = connection.execute(f"SELECT COUNT(*) FROM ({driver.rows.text} LIMIT ?)", (*driver.rows.params, cap))
    size = int(row.fetchone()[0])
    if len(sizes) >= _SIZES_KEPT:
        sizes.clear()
    sizes[(driver.rows, cap)] = (now, size)
    return size


def _source(driver: Driver | None, probes: list[Condition]) -> tuple[Sql, Sql]:
    """The FROM and WHERE clauses of a plan."""
    where = [condition.probe for condition in probes]
    if driver is None:
        source = Sql("entities e")
    elif driver.ordered:
        source = Sql(f"({driver.seqs.text}) d CROSS JOIN entities e ON e.seq = d.seq", driver.seqs.params)
    else:
        source = Sql("entities e")
        where.insert(0, Sql(f"e.seq IN ({driver.seqs.text})", driver.seqs.params))
    return source, conjunction(where)

"""The SQLite store updates an entity's index rows by difference: after any sequence of writes of an entity,
its types, value rows and geometries are those that writing it afresh gives."""

from __future__ import annotations

import asyncio
import tempfile
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broker.store.base import Change
from broker.store.sqlite import SQLiteStore
from ngsi_ld.context import build_term_map
from ngsi_ld.entity import Entity, parse_entity
from ngsi_ld.updates import new_entity

TERMS = build_term_map(None, lambda url: None)
NOW = "2026-01-01T00:00:00.000000Z"
ENTITY_ID = "urn:ngsi-ld:Thing:1"

scalars = st.one_of(st.integers(-3, 3), st.sampled_from(["a", "b", "urn:x:1"]), st.booleans(), st.just(0.5))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.sampled_from(["k", "m"]), inner, max_size=2)),
                      max_leaves=4)
properties = st.builds(lambda value, observed: {"type": "Property", "value": value,
                                                **({"observedAt": NOW} if observed else {})}, values, st.booleans())
points = st.builds(lambda x, y: {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [x, y]}},
                   st.integers(0, 2), st.integers(0, 2))
relationships = st.builds(lambda target: {"type": "Relationship", "object": target},
                          st.sampled_from(["urn:x:1", "urn:x:2"]))
attributes = st.dictionaries(st.sampled_from(["speed", "name", "location", "owner"]),
                             st.one_of(properties, points, relationships), max_size=4)
versions = st.builds(lambda types, attrs: {"id": ENTITY_ID, "type": types, **attrs},
                     st.lists(st.sampled_from(["Car", "Bus"]), min_size=1, max_size=2, unique=True), attributes)

_ROWS = ("SELECT p.iri, a.kind, a.val, a.instance, a.relationship FROM attr_values a "
         "JOIN path_ids p ON p.id = a.path JOIN entities e ON e.seq = a.seq WHERE e.id = ?")
_TYPES = "SELECT t.type FROM entity_types t JOIN entities e ON e.seq = t.seq WHERE e.id = ? ORDER BY t.type"
_SHAPES = ("SELECT s.path, s.geometry, g.min_x, g.min_y FROM geo_shapes s JOIN geo_index g ON g.id = s.id "
           "JOIN entities e ON e.seq = s.seq WHERE e.id = ? ORDER BY s.path, s.geometry")


def index_of(store: SQLiteStore) -> tuple[Any, ...]:
    connection = store._connection("", False)  # noqa: SLF001
    return (set(connection.execute(_ROWS, (ENTITY_ID,))), connection.execute(_TYPES, (ENTITY_ID,)).fetchall(),
            connection.execute(_SHAPES, (ENTITY_ID,)).fetchall())


def replacing(entity: Entity) -> Change:
    return Change(ENTITY_ID, lambda stored: entity)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(versions, min_size=2, max_size=5))
def test_the_index_after_updates_is_that_of_the_entity_written_afresh(raw_versions: list[dict[str, Any]]) -> None:
    entities = [new_entity(parse_entity(raw, TERMS), NOW) for raw in raw_versions]

    async def run() -> tuple[Any, Any]:
        with tempfile.TemporaryDirectory() as updated_dir, tempfile.TemporaryDirectory() as fresh_dir:
            async with SQLiteStore(updated_dir) as updated, SQLiteStore(fresh_dir) as fresh:
                for entity in entities:
                    await updated.write("", [replacing(entity)], create_tenant=True)
                await fresh.write("", [replacing(entities[-1])], create_tenant=True)
                return index_of(updated), index_of(fresh)

    updated, fresh = asyncio.run(run())
    assert updated == fresh
    assert updated[1]  # the types: there is always one

"""The SQLite store updates an entity's index rows by difference: after any sequence of writes of an entity,
its types, value rows and geometries are those that writing it afresh gives."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broker.store import EntityQuery
from broker.store.base import Change
from broker.store.sqlite import SQLiteStore
from ngsi_ld.context import build_term_map
from ngsi_ld.entity import Entity, parse_entity, parse_fragment
from ngsi_ld.query import Selection, parse_q
from ngsi_ld.updates import new_entity, update_attributes

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


def test_system_times_have_no_rows_and_are_queried_from_the_documents(tmp_path: Path) -> None:
    """An instance's createdAt and modifiedAt are a third of an entity's rows: the table leaves them out, and a
    q on them reads the entity's document (the differential tests compare every q construct on them too)."""
    raw = {"id": ENTITY_ID, "type": "Car",
           "speed": {"type": "Property", "value": 80},
           "name": {"type": "Property", "value": "a", "observedAt": NOW, "accuracy": {"type": "Property", "value": 1}}}
    fragment = parse_fragment({"speed": {"type": "Property", "value": 90}}, TERMS, entity_id=ENTITY_ID)

    def updated(stored: Entity | None) -> Entity:
        assert stored is not None
        update_attributes(stored, fragment, "2026-03-01T00:00:00.000000Z")
        return stored

    async def run() -> tuple[set[Any], dict[str, list[str]]]:
        async with SQLiteStore(str(tmp_path)) as store:
            await store.write("", [replacing(new_entity(parse_entity(raw, TERMS), NOW))], create_tenant=True)
            await store.write("", [Change(ENTITY_ID, updated)])
            found = {}
            for q in ("speed.modifiedAt==2026-03-01T00:00:00Z", "speed.createdAt<2026-02-01T00:00:00Z",
                      "speed.modifiedAt<2026-02-01T00:00:00Z", "name.accuracy.createdAt",
                      "name.accuracy.modifiedAt>2026-02-01T00:00:00Z", "name.observedAt", "speed.unitCode"):
                answer = await store.query("", EntityQuery(Selection(q=parse_q(q, TERMS.expand))))
                found[q] = [entity["id"] for entity in answer.entities]
            return index_of(store)[0], found

    rows, found = asyncio.run(run())
    paths = {row[0].rpartition("|")[2] for row in rows}
    assert "observedAt" in paths
    assert not paths & {"createdAt", "modifiedAt"}
    assert found == {"speed.modifiedAt==2026-03-01T00:00:00Z": [ENTITY_ID],
                     "speed.createdAt<2026-02-01T00:00:00Z": [ENTITY_ID],
                     "speed.modifiedAt<2026-02-01T00:00:00Z": [],
                     "name.accuracy.createdAt": [ENTITY_ID],
                     "name.accuracy.modifiedAt>2026-02-01T00:00:00Z": [],
                     "name.observedAt": [ENTITY_ID],
                     "speed.unitCode": []}

"""The SQLite file's index tables: a file of another layout version is re-indexed from its documents."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from broker.store import EntityQuery
from broker.store.sqlite import SCHEMA_VERSION, SQLiteStore
from ngsi_ld.context import build_term_map
from ngsi_ld.entity import parse_entity
from ngsi_ld.query import Selection, parse_q
from ngsi_ld.query.geo import parse_geo_query
from ngsi_ld.updates import new_entity

TERMS = build_term_map(None, lambda url: None)
NOW = "2026-01-01T00:00:00.000000Z"


def fast_and_near(store: SQLiteStore) -> list[list[str]]:
    """The ids found by a q and by a geo-query, which only the index tables can answer."""
    fast = EntityQuery(Selection(q=parse_q("speed>50", TERMS.expand)))
    near = EntityQuery(Selection(geo=parse_geo_query("near;maxDistance==1000", "Point", "[4,51]", None, TERMS.expand)))
    return [[entity["id"] for entity in asyncio.run(store.query("", query)).entities] for query in (fast, near)]


def test_a_file_of_another_layout_is_reindexed_when_opened(tmp_path: Path) -> None:
    store = SQLiteStore(str(tmp_path))
    asyncio.run(store.open())
    for number, speed in enumerate((80, 20, 90)):
        raw = {"id": f"urn:x:{number}", "type": "Car", "speed": speed,
               "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [4, 51 + number]}}}
        asyncio.run(store.create("", new_entity(parse_entity(raw, TERMS), NOW)))
    assert fast_and_near(store) == [["urn:x:0", "urn:x:2"], ["urn:x:0"]]
    asyncio.run(store.aclose())

    with sqlite3.connect(tmp_path / "entities.sqlite") as old:
        old.execute("DROP TABLE attr_values")
        old.execute("CREATE TABLE attr_values (seq INTEGER, path TEXT, instance INTEGER, kind TEXT, val)")
        old.execute("DELETE FROM geo_index")
        old.execute("PRAGMA user_version = 1")

    reopened = SQLiteStore(str(tmp_path))
    asyncio.run(reopened.open())
    assert fast_and_near(reopened) == [["urn:x:0", "urn:x:2"], ["urn:x:0"]]
    with sqlite3.connect(tmp_path / "entities.sqlite") as check:
        assert check.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    asyncio.run(reopened.aclose())

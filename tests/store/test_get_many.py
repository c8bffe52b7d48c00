"""EntityStore.get_many: the entities of a set of ids read at once (one level of linked entities)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from broker.store.sqlite import SQLiteStore
from ngsi_ld.context import build_term_map
from ngsi_ld.entity import parse_entity
from ngsi_ld.updates import new_entity

TERMS = build_term_map(None, lambda url: None)
NOW = "2026-01-01T00:00:00.000000Z"


def test_get_many_finds_the_entities_that_exist_beyond_one_statement(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = SQLiteStore(str(tmp_path))
        await store.open()
        entities = [new_entity(parse_entity({"id": f"urn:x:{number}", "type": "Car"}, TERMS), NOW)
                   for number in range(1200)]
        for entity in entities:
            await store.create("", entity)
        wanted = {f"urn:x:{number}" for number in range(0, 2400, 2)}
        found = await store.get_many("", wanted)
        assert sorted(entity["id"] for entity in found) == sorted(f"urn:x:{number}" for number in range(0, 1200, 2))
        assert await store.get_many("", set()) == []
        assert await store.get_many("nobody", {"urn:x:1"}) == []
        await store.aclose()
    asyncio.run(scenario())

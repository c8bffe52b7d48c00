"""The SQLite store's planner counts the conditions that could list the candidates; a count is used again for
a second (pages of one query follow each other), which can only change the plan, never the answer."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from broker.store import EntityQuery, sqlite_plan
from broker.store.base import creation
from broker.store.sqlite import SQLiteStore
from ngsi_ld.context import build_term_map
from ngsi_ld.entity import Entity, parse_entity
from ngsi_ld.query import EntitySelector, Selection, parse_q
from ngsi_ld.typeexpr import parse_types
from ngsi_ld.updates import new_entity

TERMS = build_term_map(None, lambda url: None)
NOW = "2026-01-01T00:00:00.000000Z"
# Two conditions that can each list their entities (a type, a range of q): the planner counts both.
QUERY = EntityQuery(Selection(selectors=(EntitySelector(types=parse_types("Car", TERMS.expand)),),
                              q=parse_q("speed>0", TERMS.expand)), limit=100)


def car(number: int) -> Entity:
    raw = {"id": f"urn:ngsi-ld:Car:{number}", "type": "Car", "speed": {"type": "Property", "value": number}}
    return new_entity(parse_entity(raw, TERMS), NOW)


def test_a_recent_count_is_used_again_and_the_answer_follows_the_data(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    async def scenario() -> None:
        async with SQLiteStore(str(tmp_path)) as store:
            await store.write("", [creation(car(number)) for number in range(1, 6)], create_tenant=True)
            counts: list[str] = []
            store._connection("", False).set_trace_callback(  # noqa: SLF001
                lambda statement: counts.append(statement) if statement.startswith("SELECT COUNT(*) FROM (") else None)

            async def found() -> list[str]:
                return [entity["id"] for entity in (await store.query("", QUERY)).entities]

            assert len(await found()) == 5 and len(counts) == 2
            await store.write("", [creation(car(number)) for number in range(6, 9)])
            assert await found() == [f"urn:ngsi-ld:Car:{number}" for number in range(1, 9)]
            assert len(counts) == 2  # the counts of a moment ago
            monkeypatch.setattr(sqlite_plan, "SIZE_SECONDS", 0.0)
            assert len(await found()) == 8 and len(counts) == 4

    asyncio.run(scenario())

"""The shared q and geo-query cases (tests/query_cases/) through the SQLite store and through the MongoDB pipelines
(on the documents of the entities each file gives)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pymongo.collection import Collection
from pymongo.database import Database

from broker.store import EntityQuery
from broker.store.sqlite import SQLiteStore
from ngsi_ld.context import build_term_map
from ngsi_ld.entity import parse_entity
from ngsi_ld.query import Selection, parse_q
from ngsi_ld.query.geo import parse_geo_query
from ngsi_ld.updates import new_entity
from tests.store.mongo import Document, fresh_entities, mongo_query

CASES = json.loads((Path(__file__).parent.parent / "query_cases" / "q.json").read_text())
GEO_CASES = json.loads((Path(__file__).parent.parent / "query_cases" / "geo.json").read_text())
TERMS = build_term_map(None, lambda url: None)
NOW = "2026-01-01T00:00:00.000000Z"
RESULT_CASES = [case for case in CASES["cases"] if "result" in case]


def filled_store(directory: Path, given: list[dict[str, Any]]) -> Iterator[SQLiteStore]:
    opened = SQLiteStore(str(directory))

    async def fill() -> None:
        await opened.open()
        for raw in given:
            await opened.create("", new_entity(parse_entity(raw, TERMS), NOW))

    asyncio.run(fill())
    yield opened
    asyncio.run(opened.aclose())


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SQLiteStore]:
    yield from filled_store(tmp_path_factory.mktemp("q-cases"), CASES["given"])


@pytest.fixture(scope="module")
def geo_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SQLiteStore]:
    yield from filled_store(tmp_path_factory.mktemp("geo-cases"), GEO_CASES["given"])


@pytest.mark.parametrize("case", RESULT_CASES, ids=[case["q"] for case in RESULT_CASES])
def test_q_case_with_the_sqlite_store(store: SQLiteStore, case: dict[str, Any]) -> None:
    query = EntityQuery(Selection(q=parse_q(case["q"], TERMS.expand)), limit=1000, count=True)
    result = asyncio.run(store.query("", query))
    assert [entity["id"] for entity in result.entities] == case["result"]
    assert result.count == len(case["result"])


def test_every_entity_is_stored(store: SQLiteStore) -> None:
    result = asyncio.run(store.query("", EntityQuery(limit=1000, count=True)))
    assert [entity["id"] for entity in result.entities] == [raw["id"] for raw in CASES["given"]]


@pytest.mark.parametrize("case", GEO_CASES["cases"], ids=[f"{c['georel']} {c['geometry']}" for c in GEO_CASES["cases"]])
def test_geo_case_with_the_sqlite_store(geo_store: SQLiteStore, case: dict[str, Any]) -> None:
    geo = parse_geo_query(case["georel"], case["geometry"], json.dumps(case["coordinates"]), None, TERMS.expand)
    result = asyncio.run(geo_store.query("", EntityQuery(Selection(geo=geo), limit=1000, count=True)))
    assert [entity["id"] for entity in result.entities] == case["result"]
    assert result.count == len(case["result"])


@pytest.fixture(scope="module")
def mongo_cases(mongo: Database[Document]) -> Collection[Document]:
    return fresh_entities(mongo, [new_entity(parse_entity(raw, TERMS), NOW) for raw in CASES["given"]], "q_cases")


@pytest.fixture(scope="module")
def mongo_geo_cases(mongo: Database[Document]) -> Collection[Document]:
    return fresh_entities(mongo, [new_entity(parse_entity(raw, TERMS), NOW) for raw in GEO_CASES["given"]], "geo_cases")


@pytest.mark.parametrize("case", RESULT_CASES, ids=[case["q"] for case in RESULT_CASES])
def test_q_case_with_mongodb_pipelines(mongo_cases: Collection[Document], case: dict[str, Any]) -> None:
    query = EntityQuery(Selection(q=parse_q(case["q"], TERMS.expand)), limit=1000, count=True)
    assert mongo_query(mongo_cases, query) == (case["result"], len(case["result"]))


def test_every_entity_is_in_the_mongodb_collection(mongo_cases: Collection[Document]) -> None:
    assert mongo_query(mongo_cases, EntityQuery(limit=1000, count=True)) == (
        [raw["id"] for raw in CASES["given"]], len(CASES["given"]))


@pytest.mark.parametrize("case", GEO_CASES["cases"], ids=[f"{c['georel']} {c['geometry']}" for c in GEO_CASES["cases"]])
def test_geo_case_with_mongodb_pipelines(mongo_geo_cases: Collection[Document], case: dict[str, Any]) -> None:
    geo = parse_geo_query(case["georel"], case["geometry"], json.dumps(case["coordinates"]), None, TERMS.expand)
    query = EntityQuery(Selection(geo=geo), limit=1000, count=True)
    assert mongo_query(mongo_geo_cases, query) == (case["result"], len(case["result"]))

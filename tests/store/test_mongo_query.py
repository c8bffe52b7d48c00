"""The MongoDB pipelines start from an index whenever the selection has an index condition: the winning plan of
their first stage, as the server explains it (SecantusDB unless MONGODB_URL is set)."""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

import orjson
import pytest
from pymongo import AsyncMongoClient
from pymongo.collection import Collection
from pymongo.database import Database

from broker.store import EntityQuery
from broker.store.mongo_query import page_pipeline, query_documents
from ngsi_ld.context import build_term_map
from ngsi_ld.entity import parse_entity
from ngsi_ld.query import Selection, parse_q, parse_scope_q
from ngsi_ld.query.geo import parse_geo_query
from ngsi_ld.query.order import OrderKey
from ngsi_ld.query.selection import EntitySelector
from ngsi_ld.typeexpr import parse_types
from ngsi_ld.updates import new_entity
from tests.store.mongo import Document, fresh_entities, geometries_of
from tests.store.test_differential import expected_ids, expected_order

TERMS = build_term_map(None, lambda url: None)
NOW = "2026-01-01T00:00:00.000000Z"


def car(number: int) -> dict[str, Any]:
    return {"id": f"urn:ngsi-ld:Car:{number}", "type": "Car" if number % 2 else "Bus", "scope": f"/City/D{number % 3}",
            "speed": number * 10, "brandName": "Volvo" if number % 3 else "Mercedes"}


@pytest.fixture(scope="module")
def cars(mongo: Database[Document]) -> Collection[Document]:
    entities = [new_entity(parse_entity(car(n) | located(n), TERMS), NOW) for n in range(12)]
    return fresh_entities(mongo, entities, "explained")


def q(text: str, **more: Any) -> Selection:
    return Selection(q=parse_q(text, TERMS.expand), **more)


def types(text: str) -> tuple[EntitySelector, ...]:
    return (EntitySelector(types=parse_types(text, TERMS.expand)),)


SHAPES = {
    "type": (Selection(selectors=types("Car")), "types_seq"),
    "types": (Selection(selectors=types("Car,Bus")), "types_seq"),
    "ids": (Selection(selectors=(EntitySelector(ids=("urn:ngsi-ld:Car:1", "urn:ngsi-ld:Car:3")),)), "_id_"),
    "ids and type": (Selection(selectors=(EntitySelector(ids=("urn:ngsi-ld:Car:1",), types=parse_types(
        "Car", TERMS.expand)),)), "_id_"),
    "q comparison": (q("speed>50"), "vals_x"),
    "q range": (q("speed==20..40"), "vals_x"),
    "q equality and type": (q("speed==30", selectors=types("Car")), "vals_x"),
    "q comparison and type": (q("speed>50", selectors=types("Car")), "types_seq"),
    "q string equality": (q('brandName=="Mercedes"'), "vals_x"),
    "q existence": (q("speed"), "vals_x"),
    "q pattern": (q("brandName~=^Mer"), "vals_x"),
    "q and negation": (q("speed>50;!temperature"), "vals_x"),
    "scopeQ": (Selection(scope_q=parse_scope_q("/City/D1")), "vals_x"),
    "orderBy and q": (q("speed<60"), "vals_x"),
}


def first_plan(collection: Collection[Document], pipeline: list[dict[str, Any]]) -> dict[str, Any]:
    explained = collection.database.command("explain", {"aggregate": collection.name, "pipeline": pipeline,
                                                        "cursor": {}}, verbosity="queryPlanner")
    planner = explained["stages"][0]["$cursor"]["queryPlanner"] if "stages" in explained else explained["queryPlanner"]
    return dict(planner["winningPlan"])


def index_of(plan: dict[str, Any]) -> str | None:
    while plan.get("stage") != "IXSCAN":
        if "inputStage" not in plan:
            return None
        plan = plan["inputStage"]
    return str(plan["indexName"])


@pytest.mark.parametrize("shape", SHAPES)
def test_a_selective_condition_is_answered_from_an_index(cars: Collection[Document], shape: str) -> None:
    selection, index = SHAPES[shape]
    order = (OrderKey(TERMS.expand("speed"), True),) if shape.startswith("orderBy") else ()
    pipeline = page_pipeline(EntityQuery(selection, order=order))
    plan = first_plan(cars, pipeline)
    assert index_of(plan) == index, json.dumps(plan)
    assert list(cars.aggregate(pipeline)), "the shape selects some entities"


def geo(georel: str, geometry: str, coordinates: str) -> Selection:
    return Selection(geo=parse_geo_query(georel, geometry, coordinates, None, TERMS.expand),
                     selectors=types("Car"))


GEO_SHAPES = {
    "within": geo("within", "Polygon", "[[[4.0, 50.9], [4.05, 50.9], [4.05, 51.1], [4.0, 51.1], [4.0, 50.9]]]"),
    "intersects": geo("intersects", "LineString", "[[4.03, 50.9], [4.03, 51.1]]"),
    "near": geo("near;maxDistance==1500", "Point", "[4.05, 51.0]"),
}


@pytest.mark.parametrize("shape", GEO_SHAPES)
def test_a_geo_query_starts_from_the_2dsphere_index_of_the_geometries(cars: Collection[Document], shape: str) -> None:
    pipeline = page_pipeline(EntityQuery(GEO_SHAPES[shape]), cars.name, geometries_of(cars).name)
    plan = first_plan(geometries_of(cars), pipeline)
    assert index_of(plan) == "g_2dsphere", json.dumps(plan)
    assert list(geometries_of(cars).aggregate(pipeline)), "the shape selects some entities"


QUERIES = {
    "page and count": EntityQuery(q("speed>30"), limit=3, offset=2, count=True),
    "count alone": EntityQuery(q("speed>30"), limit=0, count=True),
    "page alone": EntityQuery(Selection(selectors=types("Bus")), limit=4),
    "ordered": EntityQuery(q("speed<100"), limit=5, order=(OrderKey(TERMS.expand("brandName")), OrderKey("@id", True))),
    "near": EntityQuery(Selection(geo=parse_geo_query("near;maxDistance==2000", "Point", "[4.05, 51.0]", None,
                                                      TERMS.expand)), limit=2, offset=1, count=True),
}


@pytest.mark.parametrize("name", QUERIES)
def test_query_documents_gives_the_page_and_count(mongo: Database[Document], name: str) -> None:
    """What the store calls: the pipelines on pymongo's async API, and the geo check."""
    query = QUERIES[name]
    entities = [new_entity(parse_entity(car(n) | located(n), TERMS), NOW) for n in range(12)]
    fresh_entities(mongo, entities, "located")
    expected = [entity["id"] for entity in entities if query.selection.matches(entity)]
    if query.order:
        expected = expected_order(query.order, query.selection, entities)
    elif query.selection.geo is not None:
        expected = expected_ids(query.selection, entities)

    async def run() -> tuple[list[str], int | None]:
        client: AsyncMongoClient[Document] = AsyncMongoClient(_url(mongo))
        try:
            database = client[mongo.name]
            return await query_documents(database["located"], database["located_geometries"], query)
        finally:
            await client.close()

    docs, count = asyncio.run(run())
    assert [orjson.loads(doc)["id"] for doc in docs] == expected[query.offset: query.offset + query.limit]
    assert count == (len(expected) if query.count else None)


def located(number: int) -> dict[str, Any]:
    return {"location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [4.0 + number / 100, 51.0]}}}


def _url(database: Database[Document]) -> str:
    host, port = database.client.address or ("127.0.0.1", 27017)
    return os.environ.get("MONGODB_URL") or f"mongodb://{host}:{port}/?directConnection=true"

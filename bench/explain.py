"""The plans of the main query shapes on MongoDB: the first stage of each pipeline and how the server runs it.

    python -m bench.explain [--entities 200]

It runs on the server of MONGODB_URL, else on a SecantusDB server it starts (as the tests do), over entities
of which half are `Car`, each with a location. The output is the table of `docs/design.md`.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import pymongo

from bench.stores import store_label, store_url
from broker.store import EntityQuery
from broker.store.mongo_query import page_pipeline
from ngsi_ld.context import build_term_map
from ngsi_ld.entity import parse_entity
from ngsi_ld.query import EntitySelector, Selection, parse_q, parse_scope_q
from ngsi_ld.query.geo import parse_geo_query
from ngsi_ld.typeexpr import parse_types
from ngsi_ld.updates import new_entity
from tests.store.mongo import fresh_entities, geometries_of

TERMS = build_term_map(None, lambda url: None)
NOW = "2026-01-01T00:00:00.000000Z"
CARS = (EntitySelector(types=parse_types("Car", TERMS.expand)),)
WITHIN = "[[[4.0, 50.9], [4.05, 50.9], [4.05, 51.1], [4.0, 51.1], [4.0, 50.9]]]"
SHAPES = {
    "type=Car": Selection(CARS),
    "q=speed>1500": Selection(q=parse_q("speed>1500", TERMS.expand)),
    'type=Car&q=brandName=="Mercedes";speed<300': Selection(
        CARS, q=parse_q('brandName=="Mercedes";speed<300', TERMS.expand)),
    "scopeQ=/City/D1": Selection(scope_q=parse_scope_q("/City/D1")),
    "scopeQ=/City/#": Selection(scope_q=parse_scope_q("/City/#")),
    "id=urn:ngsi-ld:Car:7,urn:ngsi-ld:Car:9&q=speed": Selection(
        (EntitySelector(ids=("urn:ngsi-ld:Car:7", "urn:ngsi-ld:Car:9")),), q=parse_q("speed", TERMS.expand)),
    "georel=within (polygon)": Selection(geo=parse_geo_query("within", "Polygon", WITHIN, None, TERMS.expand)),
    "type=Car&georel=within": Selection(CARS, geo=parse_geo_query("within", "Polygon", WITHIN, None, TERMS.expand)),
    "georel=near;maxDistance==500": Selection(geo=parse_geo_query(
        "near;maxDistance==500", "Point", "[4.05, 51.0]", None, TERMS.expand)),
}


def car(number: int) -> dict[str, Any]:
    return {"id": f"urn:ngsi-ld:{'Car' if number % 2 else 'Bus'}:{number}", "type": "Car" if number % 2 else "Bus",
            "scope": f"/City/D{number % 3}", "speed": number * 10, "brandName": "Volvo" if number % 3 else "Mercedes",
            "location": {"type": "GeoProperty", "value": {
                "type": "Point", "coordinates": [4.0 + number / 1000, 51.0 + number % 7 / 1000]}}}


SHORTER = {TERMS.expand("speed")[:-5]: "…/", "https://uri.etsi.org/ngsi-ld/": "…/", "\\u0000": "\\0",
           "\\u0001": "\\1"}


def shown(stage: dict[str, Any]) -> str:
    """The stage as JSON, its IRIs shortened, its control characters as escapes, cut at 100 characters."""
    text = json.dumps(stage, ensure_ascii=False)
    for long, short in SHORTER.items():
        text = text.replace(long, short)
    return text if len(text) <= 100 else text[:100] + "…"


def plan_line(plan: dict[str, Any]) -> str:
    stages = []
    while plan:
        stages.append(plan["stage"] + (f" {plan['indexName']}" if plan["stage"] == "IXSCAN" else ""))
        plan = plan.get("inputStage", {})
    return " <- ".join(stages)


def explained(collection: Any, pipeline: list[dict[str, Any]]) -> str:
    answer = collection.database.command("explain", {"aggregate": collection.name, "pipeline": pipeline,
                                                     "cursor": {}}, verbosity="executionStats")
    cursor = answer["stages"][0]["$cursor"] if "stages" in answer else answer
    stats = cursor["executionStats"]
    plan = plan_line(cursor["queryPlanner"]["winningPlan"])
    return (f"{plan:<38}  keys {stats['totalKeysExamined']}, docs {stats['totalDocsExamined']}, "
            f"returned {stats['nReturned']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=200)
    args = parser.parse_args()
    print(store_label("mongodb"), f"- {args.entities} entities, half of them Car", "\n")
    with store_url("mongodb") as url, pymongo.MongoClient(url) as client:
        database = client["scifi_explain"]
        cars = [new_entity(parse_entity(car(n), TERMS), NOW) for n in range(args.entities)]
        entities = fresh_entities(database, cars)
        geometries = geometries_of(entities)
        for name, selection in SHAPES.items():
            pipeline = page_pipeline(EntityQuery(selection), entities.name, geometries.name)
            on, label = (geometries, "geometries") if selection.geo is not None else (entities, "entities")
            print(f"{name}\n    {label}: {shown(pipeline[0])}\n    {explained(on, pipeline[:1])}")
        client.drop_database("scifi_explain")


if __name__ == "__main__":
    main()

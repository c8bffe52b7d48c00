"""Linked entity retrieval (clauses 4.5.23, 4.21, 5.7.1, 5.7.2, 6.23): join=flat|inline, joinLevel,
containedBy and nested pick / omit, on Retrieve Entity, Query Entities and POST /entityOperations/query."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.broker.entity_helpers import assert_problem, create, entity_path, unique_type
from tests.conftest import unique_id

POINT = {"type": "Point", "coordinates": [4.48, 51.03]}
DATASET = "urn:ngsi-ld:dataset:second"


@dataclass(frozen=True)
class Graph:
    """A vehicle parked at a parking, owned by two people (two instances), on a route of stops, with a link to
    nothing; the parking is run by a company and links back to the vehicle."""

    vehicle_type: str
    vehicle: str
    parking: str
    company: str
    owner: str
    co_owner: str
    stops: tuple[str, str, str]
    """The second stop does not exist."""
    ghost: str


def named(entity_id: str, entity_type: str, name: str, **attributes: Any) -> dict[str, Any]:
    return {"id": entity_id, "type": entity_type, "name": {"type": "Property", "value": name}, **attributes}


def relationship(target: Any) -> dict[str, Any]:
    return {"type": "Relationship", "object": target}


@pytest.fixture(scope="module")
def graph(broker: Any) -> Graph:
    vehicle_type = unique_type()
    ids = {kind: unique_id(kind) for kind in ("Vehicle", "Parking", "Company", "Owner", "CoOwner", "Ghost")}
    stops = (unique_id("Stop"), unique_id("Stop"), unique_id("Stop"))
    with httpx.Client(base_url=broker.url + "/ngsi-ld/v1", timeout=10) as client:
        create(client, named(ids["Company"], "Company", "Acme"))
        create(client, named(ids["Owner"], "Person", "Ann"))
        create(client, named(ids["CoOwner"], "Person", "Bob"))
        for stop in (stops[0], stops[2]):
            create(client, named(stop, "Stop", stop[-4:]))
        create(client, named(ids["Parking"], "Parking", "Downtown", location={"type": "GeoProperty", "value": POINT},
                             operator=relationship(ids["Company"]), nearby=relationship(ids["Vehicle"]),
                             label={"type": "LanguageProperty", "languageMap": {"en": "Centre", "nl": "Centrum"}}))
        create(client, named(
            ids["Vehicle"], vehicle_type, "car", location={"type": "GeoProperty", "value": POINT},
            isParked=relationship(ids["Parking"]),
            owners=[relationship(ids["Owner"]), {**relationship(ids["CoOwner"]), "datasetId": DATASET}],
            route={"type": "ListRelationship", "objectList": [{"object": stop} for stop in stops]},
            ghost=relationship(ids["Ghost"]),
        ))
    return Graph(vehicle_type, ids["Vehicle"], ids["Parking"], ids["Company"], ids["Owner"], ids["CoOwner"], stops,
                 ids["Ghost"])


def get(client: httpx.Client, entity_id: str, **params: Any) -> Any:
    headers = params.pop("headers", {})
    answer = client.get(entity_path(entity_id), params=params, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def name_of(entity: dict[str, Any]) -> Any:
    return entity["name"]["value"] if isinstance(entity["name"], dict) else entity["name"]


def test_inline_puts_each_linked_entity_in_its_relationship(client: httpx.Client, graph: Graph) -> None:
    vehicle = get(client, graph.vehicle, join="inline")
    parking = vehicle["isParked"]["entity"]
    assert vehicle["isParked"]["object"] == graph.parking
    assert parking["id"] == graph.parking and parking["type"] == "Parking" and name_of(parking) == "Downtown"
    assert "entity" not in parking["operator"] and "entity" not in parking["nearby"]
    assert [name_of(instance["entity"]) for instance in vehicle["owners"]] == ["Ann", "Bob"]
    assert [stop["id"] for stop in vehicle["route"]["entityList"]] == [graph.stops[0], graph.stops[2]]
    assert vehicle["ghost"] == relationship(graph.ghost)


def test_inline_join_level_2_follows_the_links_of_linked_entities_but_not_back(
    client: httpx.Client, graph: Graph
) -> None:
    parking = get(client, graph.vehicle, join="inline", joinLevel="2")["isParked"]["entity"]
    assert name_of(parking["operator"]["entity"]) == "Acme"
    assert parking["nearby"] == relationship(graph.vehicle)


def test_flat_lists_each_entity_once_after_the_one_asked_for(client: httpx.Client, graph: Graph) -> None:
    level_1 = [entity["id"] for entity in get(client, graph.vehicle, join="flat")]
    assert level_1 == [graph.vehicle, graph.parking, graph.owner, graph.co_owner, graph.stops[0], graph.stops[2]]
    level_2 = get(client, graph.vehicle, join="flat", joinLevel="2")
    assert [entity["id"] for entity in level_2] == [*level_1, graph.company]
    assert "entity" not in level_2[0]["isParked"]


def test_a_relationship_with_several_objects_inlines_an_array(client: httpx.Client, graph: Graph) -> None:
    crew = create(client, {"id": unique_id("Crew"), "type": unique_type(),
                           "members": relationship([graph.owner, graph.ghost, graph.co_owner])})
    normalized = get(client, crew, join="inline")["members"]
    assert [name_of(entity) for entity in normalized["entity"]] == ["Ann", "Bob"]
    simplified = get(client, crew, join="inline", format="keyValues", pick="members{name}")["members"]
    assert simplified == [{"name": "Ann"}, graph.ghost, {"name": "Bob"}]


def test_join_none_is_no_join(client: httpx.Client, graph: Graph) -> None:
    assert get(client, graph.vehicle, join="@none") == get(client, graph.vehicle)


def test_inline_key_values_shows_linked_entities_in_place_of_their_ids(client: httpx.Client, graph: Graph) -> None:
    vehicle = get(client, graph.vehicle, join="inline", format="keyValues")
    assert vehicle["isParked"]["id"] == graph.parking and vehicle["isParked"]["name"] == "Downtown"
    assert vehicle["isParked"]["operator"] == graph.company
    assert vehicle["owners"]["dataset"]["@none"]["name"] == "Ann"
    assert vehicle["owners"]["dataset"][DATASET]["name"] == "Bob"
    first, missing, last = vehicle["route"]
    assert (first["id"], missing, last["id"]) == (graph.stops[0], graph.stops[1], graph.stops[2])
    assert vehicle["ghost"] == graph.ghost


def test_inline_concise_keeps_the_object_beside_the_entity(client: httpx.Client, graph: Graph) -> None:
    vehicle = get(client, graph.vehicle, join="inline", options="concise")
    assert vehicle["isParked"]["object"] == graph.parking
    assert vehicle["isParked"]["entity"]["name"] == "Downtown"
    assert vehicle["isParked"]["entity"]["operator"] == {"object": graph.company}


def test_linked_entities_share_sys_attrs_and_the_request_context(client: httpx.Client, graph: Graph) -> None:
    context = {"@context": {"Garage": "https://uri.etsi.org/ngsi-ld/default-context/Parking"}}
    answer = client.get(entity_path(graph.vehicle), params={"join": "flat", "options": "sysAttrs"},
                        headers={"Accept": "application/ld+json"})
    assert answer.status_code == 200, answer.text
    assert all("createdAt" in entity and "modifiedAt" in entity and "@context" in entity for entity in answer.json())
    answer = client.post("/entityOperations/query", json={
        "type": "Query", "entities": [{"id": graph.vehicle, "type": graph.vehicle_type}], "join": "inline", **context,
    }, headers={"Content-Type": "application/ld+json"})
    assert answer.status_code == 200, answer.text
    assert answer.json()[0]["isParked"]["entity"]["type"] == "Garage"


def test_linked_entities_are_shown_in_the_language_asked_for(client: httpx.Client, graph: Graph) -> None:
    expected = {"isParked": {"label": "Centrum"}}
    assert get(client, graph.vehicle, join="inline", lang="nl", format="keyValues", pick="isParked{label}") == expected
    answer = client.post("/entityOperations/query", params={"format": "keyValues"}, json={
        "type": "Query", "entities": [{"id": graph.vehicle, "type": graph.vehicle_type}], "lang": "nl",
        "join": "inline", "pick": ["isParked{label}"],
    })
    assert answer.status_code == 200, answer.text
    assert answer.json() == [expected]


def test_geojson_flat_is_a_feature_collection_and_inline_a_feature(client: httpx.Client, graph: Graph) -> None:
    geo = {"Accept": "application/geo+json"}
    flat = get(client, graph.vehicle, join="flat", headers=geo)
    assert flat["type"] == "FeatureCollection"
    assert [feature["id"] for feature in flat["features"]][:2] == [graph.vehicle, graph.parking]
    assert flat["features"][1]["geometry"] == POINT
    inline = get(client, graph.vehicle, join="inline", headers=geo)
    assert inline["type"] == "Feature" and inline["geometry"] == POINT
    assert inline["properties"]["isParked"]["entity"]["id"] == graph.parking


def test_nested_pick_projects_the_linked_entities(client: httpx.Client, graph: Graph) -> None:
    vehicle = get(client, graph.vehicle, join="inline", pick="id,isParked{id,name}", format="keyValues")
    assert vehicle == {"id": graph.vehicle, "isParked": {"id": graph.parking, "name": "Downtown"}}
    flat = get(client, graph.vehicle, join="flat", pick="id,isParked{id,name}", format="keyValues")
    assert flat == [{"id": graph.vehicle, "isParked": graph.parking}, {"id": graph.parking, "name": "Downtown"}]
    deep = get(client, graph.vehicle, join="inline", joinLevel="2", format="keyValues",
               pick="isParked{name|operator{name}}")
    assert deep == {"isParked": {"name": "Downtown", "operator": {"name": "Acme"}}}


def test_pick_without_braces_applies_to_linked_entities_too(client: httpx.Client, graph: Graph) -> None:
    vehicle = get(client, graph.vehicle, join="inline", pick="name,isParked", format="keyValues")
    assert vehicle == {"name": "car", "isParked": {"name": "Downtown"}}


def test_nested_omit_removes_members_of_the_linked_entities(client: httpx.Client, graph: Graph) -> None:
    vehicle = get(client, graph.vehicle, join="inline", format="keyValues",
                  omit="type,location,owners,route,ghost,isParked{type,location,operator,nearby,label}")
    assert vehicle == {"id": graph.vehicle, "name": "car",
                       "isParked": {"id": graph.parking, "name": "Downtown"}}


def test_contained_by_entities_are_not_retrieved_again(client: httpx.Client, graph: Graph) -> None:
    vehicle = get(client, graph.vehicle, join="inline", containedBy=f"{graph.parking},{graph.owner}")
    assert "entity" not in vehicle["isParked"]
    assert [("entity" in instance) for instance in vehicle["owners"]] == [False, True]
    flat = get(client, graph.vehicle, join="flat", joinLevel="2", containedBy=graph.parking)
    assert graph.parking not in [entity["id"] for entity in flat] and graph.company not in str(flat)


def test_query_flat_appends_linked_entities_after_the_page(client: httpx.Client, graph: Graph) -> None:
    answer = client.get("/entities", params={"type": graph.vehicle_type, "id": graph.vehicle, "join": "flat",
                                             "count": "true", "pick": "id,isParked"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["NGSILD-Results-Count"] == "1"
    assert [entity["id"] for entity in answer.json()] == [graph.vehicle, graph.parking]


def test_query_inline_links_every_entity_of_the_page(client: httpx.Client, graph: Graph) -> None:
    other = create(client, {"id": unique_id("Vehicle"), "type": graph.vehicle_type,
                            "isParked": relationship(graph.parking)})
    answer = client.get("/entities", params={"type": graph.vehicle_type, "join": "inline", "format": "keyValues",
                                             "pick": "id,isParked{name}"})
    assert answer.status_code == 200, answer.text
    assert sorted(answer.json(), key=lambda entity: entity["id"]) == sorted(
        [{"id": graph.vehicle, "isParked": {"name": "Downtown"}}, {"id": other, "isParked": {"name": "Downtown"}}],
        key=lambda entity: entity["id"])


def test_post_query_takes_join_join_level_and_projections(client: httpx.Client, graph: Graph) -> None:
    answer = client.post("/entityOperations/query", params={"format": "keyValues"}, json={
        "type": "Query", "entities": [{"type": graph.vehicle_type, "id": graph.vehicle}],
        "join": "inline", "joinLevel": 2, "pick": ["id", "isParked{operator{name}}"],
    })
    assert answer.status_code == 200, answer.text
    assert answer.json() == [{"id": graph.vehicle, "isParked": {"operator": {"name": "Acme"}}}]
    answer = client.post("/entityOperations/query", json={
        "type": "Query", "entities": [{"id": graph.vehicle, "type": graph.vehicle_type}], "join": "flat",
        "containedBy": [graph.owner],
        "entityMap": False, "omit": ["owners"],
    })
    assert answer.status_code == 200, answer.text
    assert [entity["id"] for entity in answer.json()] == [graph.vehicle, graph.parking, graph.stops[0],
                                                          graph.stops[2]]


@pytest.mark.parametrize("params", [
    pytest.param({"join": "deep"}, id="unknown-join"),
    pytest.param({"join": "flat", "joinLevel": "0"}, id="join-level-0"),
    pytest.param({"join": "flat", "joinLevel": "two"}, id="join-level-not-a-number"),
    pytest.param({"join": "flat", "joinLevel": "6"}, id="join-level-above-the-limit"),
    pytest.param({"pick": "id,isParked{name}"}, id="nested-pick-without-join"),
    pytest.param({"join": "inline", "pick": "isParked{operator{name}}"}, id="pick-deeper-than-join-level"),
    pytest.param({"join": "@none", "omit": "isParked{name}"}, id="nested-omit-with-join-none"),
    pytest.param({"join": "inline", "pick": "isParked{name"}, id="unclosed-brace"),
    pytest.param({"join": "inline", "pick": "isParked}"}, id="unmatched-brace"),
    pytest.param({"join": "inline", "pick": "id{name}"}, id="braces-after-id"),
    pytest.param({"join": "inline", "pick": "isParked{}"}, id="empty-braces"),
    pytest.param({"join": "inline", "containedBy": "not a uri"}, id="contained-by-not-a-uri"),
    pytest.param({"join": "inline", "entityMap": "maybe"}, id="entity-map-not-boolean"),
])
def test_bad_join_parameters_are_400(client: httpx.Client, graph: Graph, params: dict[str, str]) -> None:
    assert_problem(client.get(entity_path(graph.vehicle), params=params), 400, "BadRequestData")
    query = {"type": graph.vehicle_type, **params}
    assert_problem(client.get("/entities", params=query), 400, "BadRequestData")


@pytest.mark.parametrize("members", [
    pytest.param({"join": "sideways"}, id="unknown-join"),
    pytest.param({"join": "flat", "joinLevel": "2"}, id="join-level-string"),
    pytest.param({"join": "flat", "joinLevel": 0}, id="join-level-0"),
    pytest.param({"join": "flat", "containedBy": "urn:a:b"}, id="contained-by-not-an-array"),
    pytest.param({"join": "flat", "entityMap": "yes"}, id="entity-map-not-boolean"),
    pytest.param({"pick": ["isParked{name}"]}, id="nested-pick-without-join"),
    pytest.param({"join": "flat", "pick": ["id"], "omit": ["type"]}, id="pick-and-omit"),
])
def test_bad_join_members_of_a_query_are_400(client: httpx.Client, graph: Graph, members: dict[str, Any]) -> None:
    body = {"type": "Query", "entities": [{"type": graph.vehicle_type}], **members}
    assert_problem(client.post("/entityOperations/query", json=body), 400, "BadRequestData")

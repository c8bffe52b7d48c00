"""What every operation refuses before it starts: unknown URL parameters, empty ids in the path, bodies of
the wrong shape, unknown formats; and paths with a trailing slash, which are served without a redirect."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.broker.entity_helpers import assert_problem, create, entity_path, unique_type
from tests.conftest import unique_id

LD_JSON = {"Content-Type": "application/ld+json"}
CORE = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"
ENDPOINT = {"uri": "http://127.0.0.1:9/notify"}
MISSING = "urn:ngsi-ld:Thing:missing"
SUBSCRIPTION = f"/subscriptions/{MISSING}"


def _entity(entity_type: str, **attributes: Any) -> dict[str, Any]:
    return {"id": unique_id(entity_type), "type": entity_type, **attributes}


# --- unknown URL parameters (clause 5.5.2: InvalidRequest), checked before anything else ---

OPERATIONS = [
    pytest.param("POST", "/entities", {"id": "urn:x:1", "type": "T"}, id="create-entity"),
    pytest.param("GET", "/entities?type=T", None, id="query-entities"),
    pytest.param("DELETE", "/entities?type=T", None, id="purge"),
    pytest.param("GET", entity_path(MISSING), None, id="retrieve-entity"),
    pytest.param("DELETE", entity_path(MISSING), None, id="delete-entity"),
    pytest.param("PATCH", entity_path(MISSING), {"a": 1}, id="merge-entity"),
    pytest.param("PUT", entity_path(MISSING), {"type": "T"}, id="replace-entity"),
    pytest.param("POST", entity_path(MISSING) + "/attrs", {"a": 1}, id="append-attributes"),
    pytest.param("PATCH", entity_path(MISSING) + "/attrs", {"a": 1}, id="update-attributes"),
    pytest.param("PATCH", entity_path(MISSING) + "/attrs/a", {"value": 1}, id="partial-attribute-update"),
    pytest.param("PUT", entity_path(MISSING) + "/attrs/a", {"value": 1}, id="replace-attribute"),
    pytest.param("DELETE", entity_path(MISSING) + "/attrs/a", None, id="delete-attribute"),
    pytest.param("POST", "/entityOperations/create", [{"id": "urn:x:1", "type": "T"}], id="batch-create"),
    pytest.param("POST", "/entityOperations/upsert", [{"id": "urn:x:1", "type": "T"}], id="batch-upsert"),
    pytest.param("POST", "/entityOperations/update", [{"id": "urn:x:1", "type": "T"}], id="batch-update"),
    pytest.param("POST", "/entityOperations/merge", [{"id": "urn:x:1", "type": "T"}], id="batch-merge"),
    pytest.param("POST", "/entityOperations/delete", ["urn:x:1"], id="batch-delete"),
    pytest.param("POST", "/entityOperations/query", {"type": "Query", "entities": [{"type": "T"}]}, id="post-query"),
    pytest.param("GET", "/types", None, id="types"),
    pytest.param("GET", "/types/T", None, id="type"),
    pytest.param("GET", "/attributes", None, id="attributes"),
    pytest.param("GET", "/attributes/a", None, id="attribute"),
    pytest.param("POST", "/subscriptions", {"type": "Subscription", "entities": [{"type": "T"}],
                                            "notification": {"endpoint": ENDPOINT}}, id="create-subscription"),
    pytest.param("GET", "/subscriptions", None, id="query-subscriptions"),
    pytest.param("GET", SUBSCRIPTION, None, id="retrieve-subscription"),
    pytest.param("PATCH", SUBSCRIPTION, {"isActive": False}, id="update-subscription"),
    pytest.param("DELETE", SUBSCRIPTION, None, id="delete-subscription"),
]


@pytest.mark.parametrize(("method", "path", "body"), OPERATIONS)
def test_an_unknown_parameter_is_invalid_request_on_every_operation(
    client: httpx.Client, method: str, path: str, body: Any
) -> None:
    url = path + ("&" if "?" in path else "?") + "foo=1"
    problem = assert_problem(client.request(method, url, json=body), 400, "InvalidRequest")
    assert "foo" in problem["detail"]


@pytest.mark.parametrize(("method", "path", "body"), OPERATIONS)
def test_the_parameters_check_comes_before_media_types(
    client: httpx.Client, method: str, path: str, body: Any
) -> None:
    url = path + ("&" if "?" in path else "?") + "foo=1"
    answer = client.request(method, url, content=b"{", headers={"Content-Type": "text/plain", "Accept": "text/xml"})
    assert_problem(answer, 400, "InvalidRequest")


def test_create_with_an_unknown_parameter_creates_nothing(client: httpx.Client) -> None:
    entity = _entity(unique_type())
    assert_problem(client.post("/entities", params={"foo": "1"}, json=entity), 400, "InvalidRequest")
    assert client.get(entity_path(entity["id"])).status_code == 404


def test_a_parameter_of_another_operation_is_refused(client: httpx.Client) -> None:
    entity_id = create(client, _entity(unique_type(), speed=1))
    assert_problem(client.get(entity_path(entity_id), params={"limit": "1"}), 400, "InvalidRequest")
    assert_problem(client.delete(entity_path(entity_id), params={"attrs": "speed"}), 400, "InvalidRequest")
    assert_problem(client.get("/types", params={"type": "T"}), 400, "InvalidRequest")
    assert client.get(entity_path(entity_id)).status_code == 200


def test_purge_with_the_drop_of_v1_9_deletes_nothing(client: httpx.Client) -> None:
    entity_type = unique_type()
    entity_id = create(client, _entity(entity_type, speed=1, colour="red"))
    answer = client.delete("/entities", params={"type": entity_type, "drop": "colour"})
    assert_problem(answer, 400, "InvalidRequest")
    assert client.get(entity_path(entity_id), params={"options": "keyValues"}).json()["colour"] == "red"


def test_the_parameters_an_operation_takes_pass(client: httpx.Client) -> None:
    entity_type = unique_type()
    entity_id = create(client, _entity(entity_type, speed=1))
    params = {"type": entity_type, "local": "true", "limit": "5", "offset": "0", "count": "true",
              "options": "keyValues", "attrs": "speed"}
    answer = client.get("/entities", params=params)
    assert answer.status_code == 200, answer.text
    assert answer.json() == [{"id": entity_id, "type": entity_type, "speed": 1}]
    assert client.get(entity_path(entity_id), params={"type": entity_type, "local": "true"}).status_code == 200


@pytest.mark.parametrize("params", [{"join": "flat"}, {"join": "inline", "joinLevel": "2"},
                                    {"join": "inline", "containedBy": "urn:ngsi-ld:X:1"}, {"entityMap": "false"}])
def test_parameters_of_linked_entities_are_known_to_queries(client: httpx.Client, params: dict[str, str]) -> None:
    answer = client.get("/entities", params={"type": unique_type(), **params})
    assert answer.status_code == 200, answer.text
    assert answer.json() == []


# --- empty entity ids and attribute names in the path: BadRequestData ---

@pytest.mark.parametrize(("method", "path", "body"), [
    ("POST", "/entities//attrs", {"a": 1}),
    ("PATCH", "/entities//attrs", {"a": 1}),
    ("PATCH", "/entities//attrs/a", {"value": 1}),
    ("PUT", "/entities//attrs/a", {"value": 1}),
    ("DELETE", "/entities//attrs/a", None),
    ("PUT", "/entities/", {"type": "T"}),
    ("PATCH", "/entities/", {"a": 1}),
    ("GET", "/entities//", None),
    ("DELETE", "/entities//", None),
])
def test_an_empty_entity_id_is_bad_request_data(client: httpx.Client, method: str, path: str, body: Any) -> None:
    problem = assert_problem(client.request(method, path, json=body), 400, "BadRequestData")
    assert "id" in problem["detail"]


@pytest.mark.parametrize("method", ["PATCH", "PUT", "DELETE"])
def test_an_empty_attribute_name_is_bad_request_data(client: httpx.Client, method: str) -> None:
    entity_id = create(client, _entity(unique_type(), speed=1))
    body = None if method == "DELETE" else {"value": 2}
    assert_problem(client.request(method, entity_path(entity_id) + "/attrs//", json=body), 400, "BadRequestData")


# --- media types before existence on /subscriptions/{id} ---

def test_retrieve_of_an_unknown_subscription_checks_accept_first(client: httpx.Client) -> None:
    assert client.get(SUBSCRIPTION, headers={"Accept": "application/xml"}).status_code == 406
    assert client.get(SUBSCRIPTION).status_code == 404


def test_update_of_an_unknown_subscription_checks_the_media_types_first(client: httpx.Client) -> None:
    answer = client.patch(SUBSCRIPTION, content=b"{}", headers={"Content-Type": "application/xml"})
    assert answer.status_code == 415
    answer = client.patch(SUBSCRIPTION, json={"isActive": False}, headers={"Accept": "application/geo+json"})
    assert answer.status_code == 406
    assert client.patch(SUBSCRIPTION, json={"isActive": False}).status_code == 404


# --- bodies that are not objects, unknown formats: InvalidRequest ---

@pytest.mark.parametrize(("method", "path"), [
    ("POST", "/entities"),
    ("PATCH", entity_path(MISSING)),
    ("PUT", entity_path(MISSING)),
    ("POST", entity_path(MISSING) + "/attrs"),
    ("PATCH", entity_path(MISSING) + "/attrs"),
    ("POST", "/subscriptions"),
    ("PATCH", SUBSCRIPTION),
    ("POST", "/entityOperations/query"),
])
@pytest.mark.parametrize("ld", [False, True], ids=["json", "ld+json"])
def test_a_body_that_is_not_an_object_is_invalid_request(
    client: httpx.Client, method: str, path: str, ld: bool
) -> None:
    headers = LD_JSON if ld else {}
    for body in ([], [{"id": "urn:x:1", "type": "T", "@context": CORE}], "text", 5):
        assert_problem(client.request(method, path, json=body, headers=headers), 400, "InvalidRequest")


@pytest.mark.parametrize("params", [{"format": "invalidFormat"}, {"options": "invalidOptions"},
                                    {"options": "keyValues,invalid"}])
def test_an_unknown_format_or_option_is_invalid_request(client: httpx.Client, params: dict[str, str]) -> None:
    entity_id = create(client, _entity(unique_type(), speed=1))
    assert_problem(client.get(entity_path(entity_id), params=params), 400, "InvalidRequest")
    assert_problem(client.get("/entities", params={"type": "T", **params}), 400, "InvalidRequest")


# --- attrs names attributes only ---

@pytest.mark.parametrize("attrs", ["id", "type", "id,type", "scope", "speed,type"])
def test_attrs_naming_entity_members_is_bad_request_data(client: httpx.Client, attrs: str) -> None:
    entity_type = unique_type()
    entity_id = create(client, _entity(entity_type, speed=1))
    assert_problem(client.get("/entities", params={"type": entity_type, "attrs": attrs}), 400, "BadRequestData")
    assert_problem(client.get(entity_path(entity_id), params={"attrs": attrs}), 400, "BadRequestData")
    query = {"type": "Query", "entities": [{"type": entity_type}], "attrs": attrs.split(",")}
    assert_problem(client.post("/entityOperations/query", json=query), 400, "BadRequestData")
    assert_problem(client.delete("/entities", params={"type": entity_type, "attrs": attrs}), 400, "BadRequestData")
    assert client.get(entity_path(entity_id)).status_code == 200


# --- GeoJSON from POST /entityOperations/query ---

def test_post_query_answers_geo_json(client: httpx.Client) -> None:
    entity_type = unique_type()
    point = {"type": "Point", "coordinates": [4.47, 51.02]}
    entity_id = create(client, _entity(entity_type, speed=3, location={"type": "GeoProperty", "value": point}))
    query = {"type": "Query", "entities": [{"type": entity_type}]}
    answer = client.post("/entityOperations/query", json=query, params={"options": "keyValues"},
                         headers={"Accept": "application/geo+json"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/geo+json")
    collection = answer.json()
    assert collection["type"] == "FeatureCollection"
    [feature] = collection["features"]
    assert feature["id"] == entity_id and feature["geometry"] == point
    assert feature["properties"]["speed"] == 3
    assert collection["@context"] == CORE


def test_post_query_takes_the_geometry_property_with_geo_json(client: httpx.Client) -> None:
    entity_type = unique_type()
    area = {"type": "Point", "coordinates": [5.0, 52.0]}
    create(client, _entity(entity_type, area={"type": "GeoProperty", "value": area}))
    query = {"type": "Query", "entities": [{"type": entity_type}]}
    answer = client.post("/entityOperations/query", json=query, params={"geometryProperty": "area"},
                         headers={"Accept": "application/geo+json"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["features"][0]["geometry"] == area


# --- sysAttrs in keyValues ---

def test_key_values_with_sys_attrs_carry_them_at_entity_level(client: httpx.Client) -> None:
    entity_type = unique_type()
    entity_id = create(client, _entity(entity_type, speed=1))
    entity = client.get(entity_path(entity_id), params={"options": "keyValues,sysAttrs"}).json()
    assert set(entity) == {"id", "type", "speed", "createdAt", "modifiedAt"}
    assert entity["speed"] == 1 and entity["createdAt"] == entity["modifiedAt"]
    [queried] = client.get("/entities", params={"type": entity_type, "format": "keyValues",
                                                "options": "sysAttrs"}).json()
    assert queried == entity


# --- trailing slashes: served as without, no redirect ---

def test_create_and_upsert_with_a_trailing_slash(client: httpx.Client) -> None:
    entity_type = unique_type()
    entity = _entity(entity_type, speed=1)
    answer = client.post("/entities/", json=entity)
    assert answer.status_code == 201, answer.text
    assert answer.headers["Location"] == "/ngsi-ld/v1" + entity_path(entity["id"])
    other = _entity(entity_type, speed=2)
    assert client.post("/entityOperations/upsert/", json=[other]).status_code == 201
    listed = client.get("/entities/", params={"type": entity_type, "options": "keyValues"})
    assert listed.status_code == 200
    assert sorted(item["speed"] for item in listed.json()) == [1, 2]


def test_the_collection_with_a_trailing_slash_is_the_collection(client: httpx.Client) -> None:
    entity_type = unique_type()
    kept, purged = _entity(unique_type(), speed=1), _entity(entity_type, speed=2)
    for entity in (kept, purged):
        create(client, entity)
    assert_problem(client.get("/entities/"), 400, "BadRequestData")
    assert_problem(client.delete("/entities/"), 400, "BadRequestData")
    assert client.delete("/entities/", params={"type": entity_type}).status_code == 204
    assert client.get(entity_path(purged["id"])).status_code == 404
    assert client.get(entity_path(kept["id"])).status_code == 200


def test_entity_and_attribute_paths_with_a_trailing_slash(client: httpx.Client) -> None:
    entity_id = create(client, _entity(unique_type(), speed=1))
    path = entity_path(entity_id)
    assert client.post(path + "/attrs/", json={"brand": "Volvo"}).status_code == 204
    assert client.patch(path + "/attrs/speed/", json={"value": 5}).status_code == 204
    got = client.get(path + "/", params={"options": "keyValues"})
    assert got.status_code == 200
    assert got.json()["speed"] == 5 and got.json()["brand"] == "Volvo"
    assert client.delete(path + "/").status_code == 204
    assert client.get(path).status_code == 404


def test_subscriptions_and_discovery_with_a_trailing_slash(client: httpx.Client) -> None:
    subscription = {"type": "Subscription", "entities": [{"type": unique_type()}],
                    "notification": {"endpoint": ENDPOINT}}
    answer = client.post("/subscriptions/", json=subscription)
    assert answer.status_code == 201, answer.text
    location = answer.headers["Location"].removeprefix("/ngsi-ld/v1")
    assert client.get(location + "/").status_code == 200
    assert client.get("/subscriptions/").status_code == 200
    assert client.get("/types/").status_code == 200
    assert client.get("/attributes/").status_code == 200
    assert client.delete(location + "/").status_code == 204

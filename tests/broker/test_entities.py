"""POST, GET, DELETE, PATCH (merge) and PUT (replace) on /entities and /entities/{id} (clauses 5.6, 5.7.1, 6.4, 6.5)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.broker.entity_helpers import DEFAULT_CONTEXT, assert_problem, create, entity_path, unique_type
from tests.conftest import link, unique_id

NULL = "urn:ngsi-ld:null"


def _get(client: httpx.Client, entity_id: str, **params: str) -> dict[str, Any]:
    response = client.get(entity_path(entity_id), params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _vehicle(**attrs: Any) -> dict[str, Any]:
    return {"id": unique_id("Vehicle"), "type": "Vehicle", **attrs}


# --- Create Entity (5.6.1, 6.4.3.1) ---


def test_create_answers_201_with_location_and_no_body(client: httpx.Client) -> None:
    entity = _vehicle(speed={"type": "Property", "value": 80})
    response = client.post("/entities", json=entity)
    assert response.status_code == 201, response.text
    assert response.headers["Location"] == f"/ngsi-ld/v1/entities/{entity['id']}"
    assert response.content == b""
    assert _get(client, entity["id"]) == entity


def test_created_entity_reads_back_in_normalized_form(client: httpx.Client) -> None:
    entity = _vehicle(
        speed={"type": "Property", "value": 80.5, "unitCode": "KMH", "observedAt": "2024-01-01T10:00:00Z"},
        owner={"type": "Relationship", "object": "urn:ngsi-ld:Person:1"},
        location={"type": "GeoProperty", "value": {"type": "Point", "coordinates": [4.47, 51.02]}},
        scope="/Mechelen/Centre",
    )
    create(client, entity)
    assert _get(client, entity["id"]) == entity


def test_create_with_an_existing_id_is_already_exists(client: httpx.Client) -> None:
    entity = create(client, _vehicle(speed=1))
    again = client.post("/entities", json={"id": entity, "type": "Other", "speed": 2})
    body = assert_problem(again, 409, "AlreadyExists")
    assert entity in body["detail"]
    assert _get(client, entity, options="keyValues")["speed"] == 1


@pytest.mark.parametrize(
    "entity",
    [
        pytest.param({"type": "Vehicle"}, id="no-id"),
        pytest.param({"id": "urn:ngsi-ld:Vehicle:x"}, id="no-type"),
        pytest.param({"id": "not a uri", "type": "Vehicle"}, id="id-not-uri"),
        pytest.param({"id": 42, "type": "Vehicle"}, id="id-not-string"),
        pytest.param({"id": "urn:ngsi-ld:Vehicle:x", "type": "Bad Type"}, id="type-with-space"),
        pytest.param({"id": "urn:ngsi-ld:Vehicle:x", "type": []}, id="type-empty-array"),
        pytest.param({"id": "urn:ngsi-ld:Vehicle:x", "type": "Vehicle", "bad=name": 1}, id="attribute-name"),
        pytest.param({"id": "urn:ngsi-ld:Vehicle:x", "type": "Vehicle", "speed": None}, id="json-null"),
        pytest.param({"id": "urn:ngsi-ld:Vehicle:x", "type": "Vehicle", "speed": {"type": "Property"}}, id="no-value"),
        pytest.param(
            {"id": "urn:ngsi-ld:Vehicle:x", "type": "Vehicle", "speed": {"type": "Magic", "value": 1}},
            id="unknown-attribute-type",
        ),
        pytest.param(
            {"id": "urn:ngsi-ld:Vehicle:x", "type": "Vehicle", "owner": {"type": "Relationship", "object": "nope"}},
            id="object-not-uri",
        ),
        pytest.param(
            {"id": "urn:ngsi-ld:Vehicle:x", "type": "Vehicle",
             "speed": {"type": "Property", "value": 1, "object": "urn:a:b"}},
            id="property-with-object",
        ),
        pytest.param(
            {"id": "urn:ngsi-ld:Vehicle:x", "type": "Vehicle",
             "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [200, 0]}}},
            id="geometry-out-of-range",
        ),
        pytest.param(
            {"id": "urn:ngsi-ld:Vehicle:x", "type": "Vehicle",
             "speed": {"type": "Property", "value": 1, "observedAt": "yesterday"}},
            id="observedAt-not-datetime",
        ),
        pytest.param(
            {"id": "urn:ngsi-ld:Vehicle:x", "type": "Vehicle",
             "speed": {"type": "Property", "value": 1, "datasetId": "not a uri"}},
            id="datasetId-not-uri",
        ),
        pytest.param(
            {"id": "urn:ngsi-ld:Vehicle:x", "type": "Vehicle",
             "speed": [{"type": "Property", "value": 1}, {"type": "Property", "value": 2}]},
            id="two-default-instances",
        ),
        pytest.param(
            {"id": "urn:ngsi-ld:Vehicle:x", "type": "Vehicle",
             "name": {"type": "LanguageProperty", "languageMap": {"en": 3}}},
            id="languageMap-not-strings",
        ),
        pytest.param(
            {"id": "urn:ngsi-ld:Vehicle:x", "type": "Vehicle", "datasetId": {"type": "Property", "value": 1}},
            id="reserved-attribute-name",
        ),
        pytest.param({"id": "urn:ngsi-ld:Vehicle:x", "type": "Vehicle", "scope": "no scope"}, id="scope"),
        pytest.param({"id": "urn:ngsi-ld:Vehicle:x", "type": "Vehicle", "speed": NULL}, id="ngsi-ld-null"),
        pytest.param(
            {"id": "urn:ngsi-ld:Vehicle:x", "type": "Vehicle", "speed": {"type": "Property", "value": NULL}},
            id="ngsi-ld-null-value",
        ),
    ],
)
def test_create_rejects_bad_data(client: httpx.Client, entity: Any) -> None:
    if isinstance(entity, dict) and entity.get("id") == "urn:ngsi-ld:Vehicle:x":
        entity["id"] = unique_id("Vehicle")
    response = client.post("/entities", json=entity)
    assert_problem(response, 400, "BadRequestData")
    if isinstance(entity, dict) and isinstance(entity.get("id"), str) and entity["id"].startswith("urn:"):
        assert client.get(entity_path(entity["id"])).status_code == 404


def test_create_with_invalid_json_is_invalid_request(client: httpx.Client) -> None:
    response = client.post("/entities", content=b'{"id": "urn:a:b", ', headers={"Content-Type": "application/json"})
    assert_problem(response, 400, "InvalidRequest")


def test_create_with_unsupported_content_type_is_415(client: httpx.Client) -> None:
    entity = _vehicle(speed=1)
    response = client.post("/entities", content=httpx.Request("POST", "/", json=entity).content,
                           headers={"Content-Type": "text/plain"})
    assert response.status_code == 415
    assert client.get(entity_path(entity["id"])).status_code == 404


def test_create_with_json_ld_body_takes_the_context_from_the_body(
    client: httpx.Client, context_server: Any
) -> None:
    context_server.documents["/entities-body.jsonld"] = {"@context": {"speed": "https://example.org/vehicle#speed"}}
    context_url = context_server.url("/entities-body.jsonld")
    entity = _vehicle(speed=3)
    response = client.post("/entities", json={**entity, "@context": context_url},
                           headers={"Content-Type": "application/ld+json"})
    assert response.status_code == 201, response.text
    assert _get(client, entity["id"], options="keyValues") == {
        "id": entity["id"], "type": "Vehicle", "https://example.org/vehicle#speed": 3,
    }


@pytest.mark.parametrize(
    "body_context, content_type, with_link",
    [
        pytest.param(False, "application/ld+json", False, id="ld+json-without-context"),
        pytest.param(True, "application/ld+json", True, id="ld+json-with-link-header"),
        pytest.param(True, "application/json", False, id="json-with-context-in-body"),
    ],
)
def test_create_with_misplaced_context_is_bad_request_data(
    client: httpx.Client, context_server: Any, body_context: bool, content_type: str, with_link: bool
) -> None:
    context_server.documents["/entities-misplaced.jsonld"] = {"@context": {"speed": "https://example.org/speed"}}
    context_url = context_server.url("/entities-misplaced.jsonld")
    entity: dict[str, Any] = _vehicle(speed=1)
    if body_context:
        entity["@context"] = context_url
    headers = {"Content-Type": content_type, **(link(context_url) if with_link else {})}
    response = client.post("/entities", content=httpx.Request("POST", "/", json=entity).content, headers=headers)
    assert_problem(response, 400, "BadRequestData")


def test_create_with_a_body_over_the_limit_is_413(client: httpx.Client) -> None:
    entity = _vehicle(blob="x" * 200_000)
    response = client.post("/entities", json=entity)
    assert response.status_code == 413
    assert client.get(entity_path(entity["id"])).status_code == 404


def test_create_echoes_the_tenant_and_keeps_tenants_apart(client: httpx.Client) -> None:
    tenant = f"t{unique_type()[1:12]}"
    entity = _vehicle(speed=5)
    response = client.post("/entities", json=entity, headers={"NGSILD-Tenant": tenant})
    assert response.status_code == 201, response.text
    assert response.headers["NGSILD-Tenant"] == tenant
    in_tenant = client.get(entity_path(entity["id"]), headers={"NGSILD-Tenant": tenant})
    assert in_tenant.status_code == 200
    assert in_tenant.headers["NGSILD-Tenant"] == tenant
    assert_problem(client.get(entity_path(entity["id"])), 404, "ResourceNotFound")


# --- Entity ids with reserved characters ---


@pytest.mark.parametrize(
    "suffix",
    ["vehicles/a/1", "a#fragment", "a?query=1", "50%", "caf\u00e9", "a%2Fb"],
    ids=["slashes", "hash", "question-mark", "percent", "non-ascii", "encoded-slash"],
)
def test_entity_ids_with_reserved_characters_work_on_every_operation(client: httpx.Client, suffix: str) -> None:
    entity_id = f"https://example.org/{unique_type()}/{suffix}"
    response = client.post("/entities", json={"id": entity_id, "type": "Vehicle", "speed": 1})
    assert response.status_code == 201, response.text
    assert response.headers["Location"] == "/ngsi-ld/v1" + entity_path(entity_id)
    assert _get(client, entity_id, options="keyValues") == {"id": entity_id, "type": "Vehicle", "speed": 1}
    assert client.patch(entity_path(entity_id), json={"speed": 2}).status_code == 204
    assert client.put(entity_path(entity_id), json={"type": "Vehicle", "speed": 3}).status_code == 204
    assert _get(client, entity_id, options="keyValues")["speed"] == 3
    assert client.delete(entity_path(entity_id)).status_code == 204
    assert client.get(entity_path(entity_id)).status_code == 404


def test_location_of_an_id_with_slashes_encodes_them(client: httpx.Client) -> None:
    entity_id = f"https://example.org/{unique_type()}/1"
    response = client.post("/entities", json={"id": entity_id, "type": "Vehicle"})
    assert response.headers["Location"].endswith("https:%2F%2Fexample.org%2F" + entity_id.split("/")[3] + "%2F1")
    assert client.get(response.headers["Location"].removeprefix("/ngsi-ld/v1")).json()["id"] == entity_id


# --- Retrieve Entity (5.7.1, 6.5.3.1) ---


def test_retrieve_unknown_entity_is_resource_not_found(client: httpx.Client) -> None:
    entity_id = unique_id("Ghost")
    body = assert_problem(client.get(entity_path(entity_id)), 404, "ResourceNotFound")
    assert entity_id in body["detail"]


def test_retrieve_with_an_id_that_is_not_a_uri_is_bad_request_data(client: httpx.Client) -> None:
    assert_problem(client.get("/entities/not-a-uri"), 400, "BadRequestData")


def test_retrieve_with_a_type_selector(client: httpx.Client) -> None:
    entity = create(client, {"id": unique_id(), "type": ["Vehicle", "Asset"], "speed": 1})
    assert client.get(entity_path(entity), params={"type": "Asset"}).status_code == 200
    assert client.get(entity_path(entity), params={"type": "(Asset;Vehicle)"}).status_code == 200
    assert client.get(entity_path(entity), params={"type": "Building|Vehicle"}).status_code == 200
    assert client.get(entity_path(entity), params={"type": "*"}).status_code == 200
    assert_problem(client.get(entity_path(entity), params={"type": "Building"}), 404, "ResourceNotFound")
    assert_problem(client.get(entity_path(entity), params={"type": "(Asset;Building)"}), 404, "ResourceNotFound")


def test_retrieve_with_attrs_the_entity_lacks_is_resource_not_found(client: httpx.Client) -> None:
    entity = create(client, _vehicle(speed=1))
    assert_problem(client.get(entity_path(entity), params={"attrs": "colour"}), 404, "ResourceNotFound")
    assert _get(client, entity, attrs="colour,speed") == {
        "id": entity, "type": "Vehicle", "speed": {"type": "Property", "value": 1},
    }


def test_retrieve_json_carries_the_context_in_a_link_header(client: httpx.Client) -> None:
    entity = create(client, _vehicle(speed=1))
    response = client.get(entity_path(entity))
    assert response.headers["content-type"] == "application/json"
    assert 'rel="http://www.w3.org/ns/json-ld#context"' in response.headers["Link"]
    assert "ngsi-ld-core-context" in response.headers["Link"]
    assert "@context" not in response.json()


def test_retrieve_json_ld_carries_the_context_in_the_body(client: httpx.Client) -> None:
    entity = create(client, _vehicle(speed=1))
    response = client.get(entity_path(entity), headers={"Accept": "application/ld+json"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/ld+json"
    assert "ngsi-ld-core-context" in str(response.json()["@context"])


@pytest.mark.parametrize("accept", ["*/*", "application/*", "text/html, application/json;q=0.5"])
def test_retrieve_accept_headers_that_resolve_to_json(client: httpx.Client, accept: str) -> None:
    entity = create(client, _vehicle(speed=1))
    response = client.get(entity_path(entity), headers={"Accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"


def test_retrieve_with_an_unservable_accept_is_406(client: httpx.Client) -> None:
    entity = create(client, _vehicle(speed=1))
    assert client.get(entity_path(entity), headers={"Accept": "text/html"}).status_code == 406


# --- Delete Entity (5.6.6, 6.5.3.2) ---


def test_delete_entity(client: httpx.Client) -> None:
    entity = create(client, _vehicle(speed=1))
    response = client.delete(entity_path(entity))
    assert response.status_code == 204
    assert response.content == b""
    assert_problem(client.get(entity_path(entity)), 404, "ResourceNotFound")
    assert_problem(client.delete(entity_path(entity)), 404, "ResourceNotFound")


def test_delete_with_an_id_that_is_not_a_uri_is_bad_request_data(client: httpx.Client) -> None:
    assert_problem(client.delete("/entities/not-a-uri"), 400, "BadRequestData")


def test_a_deleted_id_can_be_created_again(client: httpx.Client) -> None:
    entity = create(client, _vehicle(speed=1))
    assert client.delete(entity_path(entity)).status_code == 204
    create(client, {"id": entity, "type": "Bicycle"})
    assert _get(client, entity) == {"id": entity, "type": "Bicycle"}


# --- Merge Entity (5.6.17, 5.5.12, 6.5.3.4) ---


def test_merge_adds_and_merges_attributes(client: httpx.Client) -> None:
    entity = create(client, _vehicle(
        temperature={"type": "Property", "value": 25, "unitCode": "CEL", "observedAt": "2022-03-14T01:59:26.535Z"},
        colour="red",
    ))
    patch = {"temperature": {"type": "Property", "value": 100, "observedAt": "2022-03-14T13:00:00.000Z"},
             "brand": "Volvo"}
    response = client.patch(entity_path(entity), json=patch)
    assert response.status_code == 204, response.text
    assert response.content == b""
    assert _get(client, entity) == {
        "id": entity, "type": "Vehicle",
        "temperature": {"type": "Property", "value": 100, "unitCode": "CEL", "observedAt": "2022-03-14T13:00:00.000Z"},
        "colour": {"type": "Property", "value": "red"},
        "brand": {"type": "Property", "value": "Volvo"},
    }


def test_merge_keeps_created_at_and_moves_modified_at(client: httpx.Client) -> None:
    entity = create(client, _vehicle(speed=1))
    before = _get(client, entity, options="sysAttrs")
    assert client.patch(entity_path(entity), json={"speed": 2}).status_code == 204
    after = _get(client, entity, options="sysAttrs")
    assert after["createdAt"] == before["createdAt"]
    assert after["modifiedAt"] > before["modifiedAt"]
    assert after["speed"]["createdAt"] == before["speed"]["createdAt"]
    assert after["speed"]["modifiedAt"] > before["speed"]["modifiedAt"]


@pytest.mark.parametrize(
    "null",
    [
        pytest.param(NULL, id="concise"),
        pytest.param({"value": NULL}, id="concise-value"),
        pytest.param({"type": "Property", "value": NULL}, id="normalized"),
    ],
)
def test_merge_with_ngsi_ld_null_deletes_the_attribute(client: httpx.Client, null: Any) -> None:
    entity = create(client, _vehicle(speed=1, colour="red"))
    assert client.patch(entity_path(entity), json={"speed": null}).status_code == 204
    assert _get(client, entity, options="keyValues") == {"id": entity, "type": "Vehicle", "colour": "red"}


def test_merge_with_ngsi_ld_null_deletes_a_relationship(client: httpx.Client) -> None:
    entity = create(client, _vehicle(owner={"type": "Relationship", "object": "urn:ngsi-ld:Person:1"}, speed=1))
    assert client.patch(entity_path(entity), json={"owner": {"object": NULL}}).status_code == 204
    assert "owner" not in _get(client, entity)


def test_merge_with_ngsi_ld_null_for_an_absent_attribute_adds_nothing(client: httpx.Client) -> None:
    entity = create(client, _vehicle(speed=1))
    assert client.patch(entity_path(entity), json={"colour": NULL}).status_code == 204
    assert _get(client, entity, options="keyValues") == {"id": entity, "type": "Vehicle", "speed": 1}


def test_merge_with_ngsi_ld_null_deletes_a_sub_attribute(client: httpx.Client) -> None:
    entity = create(client, _vehicle(speed={"type": "Property", "value": 1,
                                            "accuracy": {"type": "Property", "value": 0.1},
                                            "source": {"type": "Relationship", "object": "urn:ngsi-ld:Device:1"}}))
    assert client.patch(entity_path(entity), json={"speed": {"value": 2, "accuracy": NULL}}).status_code == 204
    assert _get(client, entity)["speed"] == {
        "type": "Property", "value": 2, "source": {"type": "Relationship", "object": "urn:ngsi-ld:Device:1"},
    }


def test_merge_with_ngsi_ld_null_and_a_dataset_id_deletes_that_instance_only(client: httpx.Client) -> None:
    entity = create(client, _vehicle(speed=[
        {"type": "Property", "value": 1},
        {"type": "Property", "value": 2, "datasetId": "urn:ngsi-ld:Dataset:gps"},
    ]))
    patch = {"speed": {"type": "Property", "value": NULL, "datasetId": "urn:ngsi-ld:Dataset:gps"}}
    assert client.patch(entity_path(entity), json=patch).status_code == 204
    assert _get(client, entity)["speed"] == {"type": "Property", "value": 1}


def test_merge_targets_instances_by_dataset_id(client: httpx.Client) -> None:
    gps = "urn:ngsi-ld:Dataset:gps"
    entity = create(client, _vehicle(speed=[
        {"type": "Property", "value": 1, "unitCode": "KMH"},
        {"type": "Property", "value": 2, "datasetId": gps, "unitCode": "KMH"},
    ]))
    patch = {"speed": [{"type": "Property", "value": 20, "datasetId": gps},
                       {"type": "Property", "value": 3, "datasetId": "urn:ngsi-ld:Dataset:radar"}]}
    assert client.patch(entity_path(entity), json=patch).status_code == 204
    instances = _get(client, entity)["speed"]
    assert sorted(instances, key=lambda i: i["value"]) == [
        {"type": "Property", "value": 1, "unitCode": "KMH"},
        {"type": "Property", "value": 3, "datasetId": "urn:ngsi-ld:Dataset:radar"},
        {"type": "Property", "value": 20, "datasetId": gps, "unitCode": "KMH"},
    ]


def test_merge_patches_json_object_values_member_by_member(client: httpx.Client) -> None:
    address = {"street": "Straße des 17. Juni", "city": "Berlin", "country": "Germany"}
    entity = create(client, _vehicle(address={"type": "Property", "value": address}))
    patch = {"address": {"type": "Property", "value": {"street": "Pariser Platz", "country": NULL}}}
    assert client.patch(entity_path(entity), json=patch).status_code == 204
    patched = {"street": "Pariser Platz", "city": "Berlin"}
    assert _get(client, entity)["address"] == {"type": "Property", "value": patched}


def test_merge_adds_entity_types_and_replaces_scope(client: httpx.Client) -> None:
    entity = create(client, _vehicle(speed=1, scope="/Mechelen"))
    assert client.patch(entity_path(entity), json={"type": "Asset", "scope": "/Delft"}).status_code == 204
    merged = _get(client, entity)
    assert sorted(merged["type"]) == ["Asset", "Vehicle"]
    assert merged["scope"] == "/Delft"


def test_merge_accepts_merge_patch_json(client: httpx.Client) -> None:
    entity = create(client, _vehicle(speed=1))
    response = client.patch(entity_path(entity), content=b'{"speed": 9}',
                            headers={"Content-Type": "application/merge-patch+json"})
    assert response.status_code == 204, response.text
    assert _get(client, entity, options="keyValues")["speed"] == 9


def test_merge_with_json_ld_body(client: httpx.Client, context_server: Any) -> None:
    context_server.documents["/merge.jsonld"] = {"@context": {"speed": "https://example.org/merge#speed"}}
    context_url = context_server.url("/merge.jsonld")
    entity = create(client, _vehicle(speed=1), headers=link(context_url))
    response = client.patch(entity_path(entity), json={"speed": 2, "@context": context_url},
                            headers={"Content-Type": "application/ld+json"})
    assert response.status_code == 204, response.text
    assert _get(client, entity, options="keyValues") == {
        "id": entity, "type": "Vehicle", "https://example.org/merge#speed": 2,
    }


def test_merge_observed_at_parameter_updates_observed_attributes(client: httpx.Client) -> None:
    entity = create(client, _vehicle(
        speed={"type": "Property", "value": 1, "observedAt": "2024-01-01T00:00:00Z"},
        heading={"type": "Property", "value": 90, "observedAt": "2024-01-01T00:00:00Z"},
        colour="red",
    ))
    patch = {"speed": 2, "heading": {"value": 180, "observedAt": "2024-05-05T05:05:05Z"}, "colour": "blue"}
    response = client.patch(entity_path(entity), json=patch, params={"observedAt": "2024-06-01T12:00:00Z"})
    assert response.status_code == 204, response.text
    merged = _get(client, entity)
    assert merged["speed"] == {"type": "Property", "value": 2, "observedAt": "2024-06-01T12:00:00Z"}
    assert merged["heading"] == {"type": "Property", "value": 180, "observedAt": "2024-05-05T05:05:05Z"}
    assert merged["colour"] == {"type": "Property", "value": "blue"}


def _typed_vehicle(client: httpx.Client) -> str:
    return create(client, _vehicle(
        owner={"type": "Relationship", "object": "urn:ngsi-ld:Person:1"},
        speed={"type": "Property", "value": 50, "unitCode": "KMH"},
        location={"type": "GeoProperty", "value": {"type": "Point", "coordinates": [1, 2]}},
        category={"type": "VocabProperty", "vocab": "Private"},
        config={"type": "JsonProperty", "json": {"a": 1}},
        stops={"type": "ListProperty", "valueList": [1, 2]},
        route={"type": "ListRelationship", "objectList": [{"object": "urn:ngsi-ld:Stop:1"}]},
        motto={"type": "LanguageProperty", "languageMap": {"nl": "Snel", "en": "Fast"}},
    ))


@pytest.mark.parametrize("params", [{"format": "simplified"}, {"format": "keyValues"}, {"options": "keyValues"}])
def test_merge_simplified_keeps_the_type_of_every_attribute(client: httpx.Client, params: dict[str, str]) -> None:
    entity = _typed_vehicle(client)
    patch = {
        "owner": "urn:ngsi-ld:Person:2", "speed": 90, "location": {"type": "Point", "coordinates": [3, 4]},
        "category": {"vocab": "Public"}, "config": {"json": {"b": 2}}, "stops": [3], "route": ["urn:ngsi-ld:Stop:9"],
        "motto": {"languageMap": {"en": "Quick"}}, "brand": "Volvo", "shape": {"type": "Point", "coordinates": [5, 6]},
    }
    response = client.patch(entity_path(entity), json=patch, params=params)
    assert response.status_code == 204, response.text
    merged = _get(client, entity)
    assert merged["owner"] == {"type": "Relationship", "object": "urn:ngsi-ld:Person:2"}
    assert merged["speed"] == {"type": "Property", "value": 90, "unitCode": "KMH"}
    assert merged["location"] == {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [3, 4]}}
    assert merged["category"] == {"type": "VocabProperty", "vocab": "Public"}
    assert merged["config"]["type"] == "JsonProperty" and merged["config"]["json"]["b"] == 2
    assert merged["stops"] == {"type": "ListProperty", "valueList": [3]}
    assert merged["route"] == {"type": "ListRelationship", "objectList": [{"object": "urn:ngsi-ld:Stop:9"}]}
    assert merged["motto"]["type"] == "LanguageProperty" and merged["motto"]["languageMap"]["en"] == "Quick"
    assert merged["brand"] == {"type": "Property", "value": "Volvo"}
    assert merged["shape"] == {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [5, 6]}}


def test_merge_simplified_dataset_form_targets_instances(client: httpx.Client) -> None:
    gps = "urn:ngsi-ld:Dataset:gps"
    entity = create(client, _vehicle(speed=[{"type": "Property", "value": 1},
                                            {"type": "Property", "value": 2, "datasetId": gps}]))
    patch = {"speed": {"dataset": {"@none": 10, gps: 20}}}
    assert client.patch(entity_path(entity), json=patch, params={"format": "simplified"}).status_code == 204
    assert _get(client, entity, format="simplified")["speed"] == {"dataset": {"@none": 10, gps: 20}}


def test_merge_simplified_null_deletes_the_attribute(client: httpx.Client) -> None:
    entity = _typed_vehicle(client)
    response = client.patch(entity_path(entity), json={"owner": NULL}, params={"format": "simplified"})
    assert response.status_code == 204, response.text
    assert "owner" not in _get(client, entity)


@pytest.mark.parametrize(
    "patch",
    [{"owner": 42}, {"location": "here"}, {"motto": "Vite"}],
    ids=["relationship-not-uri", "geoproperty-not-geometry", "language-text-without-lang"],
)
def test_merge_simplified_value_that_does_not_fit_the_type_is_bad_request_data(
    client: httpx.Client, patch: dict[str, Any]
) -> None:
    entity = _typed_vehicle(client)
    before = _get(client, entity)
    response = client.patch(entity_path(entity), json=patch, params={"format": "simplified"})
    assert_problem(response, 400, "BadRequestData")
    assert _get(client, entity) == before


@pytest.mark.parametrize("params", [{"lang": "fr"}, {"lang": "fr", "format": "simplified"}])
def test_merge_text_with_lang_sets_one_language(client: httpx.Client, params: dict[str, str]) -> None:
    entity = _typed_vehicle(client)
    assert client.patch(entity_path(entity), json={"motto": "Rapide"}, params=params).status_code == 204
    assert _get(client, entity)["motto"] == {
        "type": "LanguageProperty", "languageMap": {"nl": "Snel", "en": "Fast", "fr": "Rapide"},
    }


def test_merge_with_an_invalid_observed_at_parameter_is_bad_request_data(client: httpx.Client) -> None:
    entity = create(client, _vehicle(speed={"type": "Property", "value": 1, "observedAt": "2024-01-01T00:00:00Z"}))
    response = client.patch(entity_path(entity), json={"speed": 2}, params={"observedAt": "noon"})
    assert_problem(response, 400, "BadRequestData")
    assert _get(client, entity, options="keyValues")["speed"] == 1


def test_merge_unknown_entity_is_resource_not_found(client: httpx.Client) -> None:
    assert_problem(client.patch(entity_path(unique_id()), json={"speed": 1}), 404, "ResourceNotFound")


@pytest.mark.parametrize(
    "patch",
    [
        pytest.param({"id": "urn:ngsi-ld:Vehicle:other", "speed": 1}, id="other-id"),
        pytest.param({"bad name": 1}, id="attribute-name"),
        pytest.param({"speed": None}, id="json-null"),
        pytest.param({"owner": {"type": "Relationship", "object": "not a uri"}}, id="object-not-uri"),
    ],
)
def test_merge_with_bad_data_is_bad_request_data_and_changes_nothing(client: httpx.Client, patch: Any) -> None:
    entity = create(client, _vehicle(speed=7))
    assert_problem(client.patch(entity_path(entity), json=patch), 400, "BadRequestData")
    assert _get(client, entity, options="keyValues") == {"id": entity, "type": "Vehicle", "speed": 7}


def test_merge_with_invalid_json_is_invalid_request(client: httpx.Client) -> None:
    entity = create(client, _vehicle(speed=7))
    response = client.patch(entity_path(entity), content=b"{", headers={"Content-Type": "application/json"})
    assert_problem(response, 400, "InvalidRequest")


def test_merge_with_an_id_that_is_not_a_uri_is_bad_request_data(client: httpx.Client) -> None:
    assert_problem(client.patch("/entities/not-a-uri", json={"speed": 1}), 400, "BadRequestData")


def test_merge_with_unsupported_content_type_is_415(client: httpx.Client) -> None:
    entity = create(client, _vehicle(speed=7))
    response = client.patch(entity_path(entity), content=b'{"speed": 1}', headers={"Content-Type": "text/plain"})
    assert response.status_code == 415


# --- Replace Entity (5.6.18, 6.5.3.3) ---


def test_replace_swaps_every_attribute_and_keeps_created_at(client: httpx.Client) -> None:
    entity = create(client, _vehicle(speed=1, colour="red", scope="/Mechelen"))
    before = _get(client, entity, options="sysAttrs")
    replacement = {"type": "Vehicle", "brand": {"type": "Property", "value": "Volvo"}}
    response = client.put(entity_path(entity), json=replacement)
    assert response.status_code == 204, response.text
    assert response.content == b""
    after = _get(client, entity, options="sysAttrs")
    assert after["createdAt"] == before["createdAt"]
    assert after["modifiedAt"] > before["modifiedAt"]
    assert {key for key in after if key not in ("createdAt", "modifiedAt")} == {"id", "type", "brand"}
    assert after["brand"]["value"] == "Volvo"


def test_replace_with_other_types_replaces_the_types(client: httpx.Client) -> None:
    entity = create(client, {"id": unique_id(), "type": ["Vehicle", "Asset"], "speed": 1})
    assert client.put(entity_path(entity), json={"type": "Bicycle", "speed": 2}).status_code == 204
    assert _get(client, entity, options="keyValues") == {"id": entity, "type": "Bicycle", "speed": 2}


def test_replace_unknown_entity_is_resource_not_found(client: httpx.Client) -> None:
    assert_problem(client.put(entity_path(unique_id()), json={"type": "Vehicle"}), 404, "ResourceNotFound")


@pytest.mark.parametrize(
    "replacement",
    [
        pytest.param({"id": "urn:ngsi-ld:Vehicle:other", "type": "Vehicle"}, id="other-id"),
        pytest.param({"type": "Vehicle", "speed": NULL}, id="ngsi-ld-null"),
        pytest.param({"type": "Vehicle", "speed": {"type": "Property", "value": NULL}}, id="ngsi-ld-null-value"),
        pytest.param({"type": "Vehicle", "speed": None}, id="json-null"),
        pytest.param({"type": "Vehicle", "a;b": 1}, id="attribute-name"),
    ],
)
def test_replace_with_bad_data_is_bad_request_data_and_changes_nothing(
    client: httpx.Client, replacement: dict[str, Any]
) -> None:
    entity = create(client, _vehicle(speed=7))
    assert_problem(client.put(entity_path(entity), json=replacement), 400, "BadRequestData")
    assert _get(client, entity, options="keyValues") == {"id": entity, "type": "Vehicle", "speed": 7}


def test_replace_with_an_id_that_is_not_a_uri_is_bad_request_data(client: httpx.Client) -> None:
    assert_problem(client.put("/entities/not-a-uri", json={"type": "Vehicle"}), 400, "BadRequestData")


def test_replace_with_user_context_expands_the_new_names(client: httpx.Client, context_server: Any) -> None:
    context_server.documents["/replace.jsonld"] = {"@context": {"brand": "https://example.org/replace#brand"}}
    context_url = context_server.url("/replace.jsonld")
    entity = create(client, _vehicle(brand="Volvo"))
    response = client.put(entity_path(entity), json={"type": "Vehicle", "brand": "Saab"}, headers=link(context_url))
    assert response.status_code == 204, response.text
    assert _get(client, entity, options="keyValues") == {
        "id": entity, "type": "Vehicle", "https://example.org/replace#brand": "Saab",
    }
    assert client.get(entity_path(entity), params={"options": "keyValues", "attrs": DEFAULT_CONTEXT + "brand"}
                      ).status_code == 404


# --- the type selector of Delete, Merge and Replace (5.6.6, 5.6.17, 5.6.18) ---


def test_type_selector_guards_delete_merge_and_replace(client: httpx.Client) -> None:
    entity = create(client, _vehicle(speed=1))
    other = {"type": "Building"}
    assert_problem(client.patch(entity_path(entity), json={"speed": 2}, params=other), 404, "ResourceNotFound")
    assert_problem(client.put(entity_path(entity), json={"type": "Vehicle"}, params=other), 404, "ResourceNotFound")
    assert_problem(client.delete(entity_path(entity), params=other), 404, "ResourceNotFound")
    assert _get(client, entity, options="keyValues") == {"id": entity, "type": "Vehicle", "speed": 1}
    same = {"type": "Vehicle"}
    assert client.patch(entity_path(entity), json={"speed": 2}, params=same).status_code == 204
    assert client.put(entity_path(entity), json={"type": "Vehicle", "speed": 3}, params=same).status_code == 204
    assert _get(client, entity, options="keyValues")["speed"] == 3
    assert client.delete(entity_path(entity), params=same).status_code == 204
    assert client.get(entity_path(entity)).status_code == 404

"""The attributes API area (clauses 5.6.2-5.6.5, 5.6.19; HTTP binding 6.6, 6.7): append, update,
partial update, replace and delete of attributes, with their 204/207/400/404 answers."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import httpx
import pytest

from tests.broker.entity_helpers import DEFAULT_CONTEXT, assert_problem, create, entity_path
from tests.conftest import ContextServer, link, unique_id

NULL = "urn:ngsi-ld:null"
GPS = "urn:ngsi-ld:Dataset:gps"
RADAR = "urn:ngsi-ld:Dataset:radar"
TEMPERATURE = {"type": "Property", "value": 25, "unitCode": "CEL", "observedAt": "2022-03-14T01:59:26.535Z"}


def _sensor(**attrs: Any) -> dict[str, Any]:
    return {"id": unique_id("Sensor"), "type": "Sensor", **attrs}


def _attrs_path(entity_id: str, attribute: str | None = None) -> str:
    path = entity_path(entity_id) + "/attrs"
    return path if attribute is None else f"{path}/{attribute}"


def _get(client: httpx.Client, entity_id: str, **params: str) -> Any:
    response = client.get(entity_path(entity_id), params=params)
    assert response.status_code == 200, response.text
    return response.json()


def _assert_no_content(response: httpx.Response) -> None:
    assert response.status_code == 204, response.text
    assert response.content == b""


def _update_result(response: httpx.Response) -> dict[str, Any]:
    """The UpdateResult of a 207 answer (clause 5.2.18), which is always application/json (6.3.6)."""
    assert response.status_code == 207, response.text
    assert response.headers["content-type"].split(";")[0] == "application/json"
    assert "link" not in response.headers
    body: dict[str, Any] = response.json()
    assert set(body) == {"updated", "notUpdated"}
    for detail in body["notUpdated"]:
        assert isinstance(detail["reason"], str) and detail["reason"]
    return body


# Append Attributes (5.6.3): POST /entities/{entityId}/attrs


def test_append_adds_attributes_in_normalized_and_concise_form(client: httpx.Client) -> None:
    entity = create(client, _sensor(temperature=TEMPERATURE))
    body = {"humidity": {"type": "Property", "value": 40}, "status": "ok",
            "controlledBy": {"object": "urn:ngsi-ld:Device:1"}}
    _assert_no_content(client.post(_attrs_path(entity), json=body))
    assert _get(client, entity) == {
        "id": entity, "type": "Sensor", "temperature": TEMPERATURE,
        "humidity": {"type": "Property", "value": 40},
        "status": {"type": "Property", "value": "ok"},
        "controlledBy": {"type": "Relationship", "object": "urn:ngsi-ld:Device:1"},
    }


def test_append_overwrites_by_default_keeping_created_at(client: httpx.Client) -> None:
    entity = create(client, _sensor(temperature=TEMPERATURE))
    before = _get(client, entity, options="sysAttrs")["temperature"]
    _assert_no_content(client.post(_attrs_path(entity), json={"temperature": {"type": "Property", "value": 30}}))
    after = _get(client, entity, options="sysAttrs")["temperature"]
    assert after["value"] == 30 and "unitCode" not in after
    assert after["createdAt"] == before["createdAt"]
    assert after["modifiedAt"] > before["modifiedAt"]


def test_append_with_no_overwrite_keeps_existing_attributes_and_reports_them(client: httpx.Client) -> None:
    entity = create(client, _sensor(temperature=TEMPERATURE))
    body = {"temperature": {"type": "Property", "value": 99}, "humidity": 40}
    response = client.post(_attrs_path(entity), params={"options": "noOverwrite"}, json=body,
                           headers={"Accept": "application/ld+json"})
    result = _update_result(response)
    assert result["updated"] == [DEFAULT_CONTEXT + "humidity"]
    assert [d["attributeName"] for d in result["notUpdated"]] == [DEFAULT_CONTEXT + "temperature"]
    assert _get(client, entity, options="keyValues") == {"id": entity, "type": "Sensor", "temperature": 25,
                                                         "humidity": 40}


def test_append_with_no_overwrite_adds_an_instance_with_a_new_dataset_id(client: httpx.Client) -> None:
    entity = create(client, _sensor(speed={"type": "Property", "value": 1}))
    body = {"speed": {"type": "Property", "value": 2, "datasetId": GPS}}
    _assert_no_content(client.post(_attrs_path(entity), params={"options": "noOverwrite"}, json=body))
    assert sorted(_get(client, entity)["speed"], key=lambda i: i["value"]) == [
        {"type": "Property", "value": 1}, {"type": "Property", "value": 2, "datasetId": GPS},
    ]


def test_append_result_names_attributes_by_fully_qualified_names(
    client: httpx.Client, context_server: ContextServer
) -> None:
    context_server.documents["/attrs-fqn.jsonld"] = {"@context": {"level": "https://example.org/water#level"}}
    headers = link(context_server.url("/attrs-fqn.jsonld"))
    entity = create(client, _sensor(level=3), headers=headers)
    response = client.post(_attrs_path(entity), params={"options": "noOverwrite"}, json={"level": 4}, headers=headers)
    assert _update_result(response) == {
        "updated": [],
        "notUpdated": [{"attributeName": "https://example.org/water#level",
                        "reason": response.json()["notUpdated"][0]["reason"]}],
    }


def test_append_adds_types_and_replaces_the_scope(client: httpx.Client) -> None:
    entity = create(client, _sensor(speed=1, scope="/Mechelen"))
    _assert_no_content(client.post(_attrs_path(entity), json={"type": "Asset", "scope": "/Delft"}))
    got = _get(client, entity)
    assert sorted(got["type"]) == ["Asset", "Sensor"]
    assert got["scope"] == "/Delft"


def test_append_with_no_overwrite_adds_scopes(client: httpx.Client) -> None:
    entity = create(client, _sensor(speed=1, scope="/Mechelen"))
    response = client.post(_attrs_path(entity), params={"options": "noOverwrite"}, json={"scope": ["/Delft"]})
    _assert_no_content(response)
    assert sorted(_get(client, entity)["scope"]) == ["/Delft", "/Mechelen"]


def test_append_to_an_unknown_entity_is_resource_not_found(client: httpx.Client) -> None:
    assert_problem(client.post(_attrs_path(unique_id()), json={"speed": 1}), 404, "ResourceNotFound")


def test_append_with_an_entity_type_that_does_not_match_is_resource_not_found(client: httpx.Client) -> None:
    entity = create(client, _sensor(speed=1))
    response = client.post(_attrs_path(entity), params={"type": "Vehicle"}, json={"colour": "red"})
    assert_problem(response, 404, "ResourceNotFound")
    _assert_no_content(client.post(_attrs_path(entity), params={"type": "Sensor"}, json={"colour": "red"}))
    assert _get(client, entity, options="keyValues")["colour"] == "red"


def test_append_aimed_at_an_entity_id_that_is_not_a_uri_is_bad_request_data(client: httpx.Client) -> None:
    assert_problem(client.post("/entities/not-a-uri/attrs", json={"speed": 1}), 400, "BadRequestData")


def test_append_with_an_unknown_option_is_refused(client: httpx.Client) -> None:
    entity = create(client, _sensor(speed=1))
    response = client.post(_attrs_path(entity), params={"options": "overwriteAll"}, json={"speed": 2})
    assert response.status_code == 400
    assert _get(client, entity, options="keyValues")["speed"] == 1


# Update Attributes (5.6.2): PATCH /entities/{entityId}/attrs


def test_update_replaces_the_whole_attribute(client: httpx.Client) -> None:
    """Clause 5.5.8, Example 2: the unitCode not given again is gone."""
    entity = create(client, _sensor(temperature=TEMPERATURE, humidity=40))
    body = {"temperature": {"type": "Property", "value": 100, "observedAt": "2022-03-14T13:00:00.000Z"}}
    _assert_no_content(client.patch(_attrs_path(entity), json=body))
    got = _get(client, entity)
    assert got["temperature"] == {"type": "Property", "value": 100, "observedAt": "2022-03-14T13:00:00.000Z"}
    assert got["humidity"] == {"type": "Property", "value": 40}


def test_update_keeps_created_at_and_moves_modified_at(client: httpx.Client) -> None:
    entity = create(client, _sensor(temperature=TEMPERATURE))
    before = _get(client, entity, options="sysAttrs")
    _assert_no_content(client.patch(_attrs_path(entity), json={"temperature": 26}))
    after = _get(client, entity, options="sysAttrs")
    assert after["temperature"]["createdAt"] == before["temperature"]["createdAt"]
    assert after["temperature"]["modifiedAt"] > before["temperature"]["modifiedAt"]
    assert after["createdAt"] == before["createdAt"]
    assert after["modifiedAt"] > before["modifiedAt"]


def test_update_of_an_absent_attribute_is_a_partial_success(client: httpx.Client) -> None:
    entity = create(client, _sensor(temperature=TEMPERATURE))
    result = _update_result(client.patch(_attrs_path(entity), json={"temperature": 26, "pressure": 1013}))
    assert result["updated"] == [DEFAULT_CONTEXT + "temperature"]
    assert [d["attributeName"] for d in result["notUpdated"]] == [DEFAULT_CONTEXT + "pressure"]
    assert _get(client, entity, options="keyValues") == {"id": entity, "type": "Sensor", "temperature": 26}


def test_update_with_ngsi_ld_null_deletes_the_attribute(client: httpx.Client) -> None:
    """Clause 5.5.8, Example 3."""
    entity = create(client, _sensor(temperature=TEMPERATURE, humidity=40))
    _assert_no_content(client.patch(_attrs_path(entity), json={"temperature": {"type": "Property", "value": NULL}}))
    assert _get(client, entity, options="keyValues") == {"id": entity, "type": "Sensor", "humidity": 40}


def test_update_with_ngsi_ld_null_and_a_dataset_id_deletes_that_instance(client: httpx.Client) -> None:
    entity = create(client, _sensor(speed=[{"type": "Property", "value": 1},
                                           {"type": "Property", "value": 2, "datasetId": GPS}]))
    body = {"speed": {"type": "Property", "value": NULL, "datasetId": GPS}}
    _assert_no_content(client.patch(_attrs_path(entity), json=body))
    assert _get(client, entity)["speed"] == {"type": "Property", "value": 1}


def test_update_targets_the_instance_of_the_dataset_id(client: httpx.Client) -> None:
    entity = create(client, _sensor(speed=[{"type": "Property", "value": 1},
                                           {"type": "Property", "value": 2, "datasetId": GPS}]))
    _assert_no_content(client.patch(_attrs_path(entity), json={"speed": {"value": 20, "datasetId": GPS}}))
    assert sorted(_get(client, entity)["speed"], key=lambda i: i["value"]) == [
        {"type": "Property", "value": 1}, {"type": "Property", "value": 20, "datasetId": GPS},
    ]
    result = _update_result(client.patch(_attrs_path(entity), json={"speed": {"value": 3, "datasetId": RADAR}}))
    assert result["updated"] == []
    assert [d["attributeName"] for d in result["notUpdated"]] == [DEFAULT_CONTEXT + "speed"]


def test_update_adds_types_and_replaces_an_existing_scope(client: httpx.Client) -> None:
    scoped = create(client, _sensor(speed=1, scope="/Mechelen"))
    _assert_no_content(client.patch(_attrs_path(scoped), json={"type": "Asset", "scope": "/Delft"}))
    got = _get(client, scoped)
    assert sorted(got["type"]) == ["Asset", "Sensor"] and got["scope"] == "/Delft"
    unscoped = create(client, _sensor(speed=1))
    answer = client.patch(_attrs_path(unscoped), json={"scope": "/Delft", "speed": 2})
    assert answer.status_code == 207, answer.text
    assert answer.json()["notUpdated"] == [{"attributeName": "scope", "reason": "The entity has no scope to update"}]
    assert answer.json()["updated"] == [DEFAULT_CONTEXT + "speed"]
    got = _get(client, unscoped)
    assert "scope" not in got and got["speed"]["value"] == 2


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({}, id="empty"),
        pytest.param({"speed": None}, id="json-null"),
        pytest.param({"address": {"type": "Property", "value": {"city": NULL}}}, id="null-inside-a-value"),
        pytest.param({"speed": 2, "a b": 1}, id="bad-name"),
        pytest.param({"id": "urn:ngsi-ld:Sensor:other", "speed": 2}, id="other-id"),
    ],
)
def test_update_with_bad_data_changes_nothing(client: httpx.Client, body: dict[str, Any]) -> None:
    entity = create(client, _sensor(speed=1, address={"type": "Property", "value": {"city": "Delft"}}))
    before = _get(client, entity, options="sysAttrs")
    assert_problem(client.patch(_attrs_path(entity), json=body), 400, "BadRequestData")
    assert _get(client, entity, options="sysAttrs") == before


def test_update_of_an_unknown_entity_is_resource_not_found(client: httpx.Client) -> None:
    assert_problem(client.patch(_attrs_path(unique_id()), json={"speed": 1}), 404, "ResourceNotFound")


def test_update_accepts_merge_patch_json(client: httpx.Client) -> None:
    entity = create(client, _sensor(speed=1))
    response = client.patch(_attrs_path(entity), content=b'{"speed": 5}',
                            headers={"Content-Type": "application/merge-patch+json"})
    _assert_no_content(response)
    assert _get(client, entity, options="keyValues")["speed"] == 5


# Partial Attribute Update (5.6.4): PATCH /entities/{entityId}/attrs/{attrId}


def test_partial_update_changes_only_the_members_given(client: httpx.Client) -> None:
    """Clause 5.5.8, Example 1: unitCode stays."""
    entity = create(client, _sensor(temperature=TEMPERATURE))
    body = {"type": "Property", "value": 100, "observedAt": "2022-03-14T13:00:00.000Z"}
    _assert_no_content(client.patch(_attrs_path(entity, "temperature"), json=body))
    assert _get(client, entity)["temperature"] == {
        "type": "Property", "value": 100, "unitCode": "CEL", "observedAt": "2022-03-14T13:00:00.000Z",
    }


def test_partial_update_keeps_created_at_and_moves_modified_at(client: httpx.Client) -> None:
    entity = create(client, _sensor(temperature=TEMPERATURE))
    before = _get(client, entity, options="sysAttrs")["temperature"]
    _assert_no_content(client.patch(_attrs_path(entity, "temperature"), json={"value": 26}))
    after = _get(client, entity, options="sysAttrs")["temperature"]
    assert after["value"] == 26 and after["unitCode"] == "CEL"
    assert after["createdAt"] == before["createdAt"]
    assert after["modifiedAt"] > before["modifiedAt"]


def test_partial_update_deletes_sub_attributes_given_as_ngsi_ld_null(client: httpx.Client) -> None:
    entity = create(client, _sensor(speed={"type": "Property", "value": 1, "unitCode": "KMH",
                                           "accuracy": {"type": "Property", "value": 0.1},
                                           "source": {"type": "Relationship", "object": "urn:ngsi-ld:Device:1"}}))
    body = {"accuracy": NULL, "unitCode": NULL, "precision": {"type": "Property", "value": 2}}
    _assert_no_content(client.patch(_attrs_path(entity, "speed"), json=body))
    assert _get(client, entity)["speed"] == {
        "type": "Property", "value": 1,
        "source": {"type": "Relationship", "object": "urn:ngsi-ld:Device:1"},
        "precision": {"type": "Property", "value": 2},
    }


def test_partial_update_selects_the_instance_by_the_dataset_id_of_the_body(client: httpx.Client) -> None:
    entity = create(client, _sensor(speed=[{"type": "Property", "value": 1, "unitCode": "KMH"},
                                           {"type": "Property", "value": 2, "datasetId": GPS, "unitCode": "KMH"}]))
    _assert_no_content(client.patch(_attrs_path(entity, "speed"), json={"value": 20, "datasetId": GPS}))
    assert sorted(_get(client, entity)["speed"], key=lambda i: i["value"]) == [
        {"type": "Property", "value": 1, "unitCode": "KMH"},
        {"type": "Property", "value": 20, "datasetId": GPS, "unitCode": "KMH"},
    ]


def test_partial_update_of_a_relationship(client: httpx.Client) -> None:
    entity = create(client, _sensor(owner={"type": "Relationship", "object": "urn:ngsi-ld:Person:1"}))
    _assert_no_content(client.patch(_attrs_path(entity, "owner"), json={"object": "urn:ngsi-ld:Person:2"}))
    assert _get(client, entity)["owner"] == {"type": "Relationship", "object": "urn:ngsi-ld:Person:2"}


@pytest.mark.parametrize(
    ("attribute", "body"),
    [
        pytest.param("temperature", {"value": 1, "datasetId": RADAR}, id="no-such-instance"),
        pytest.param("pressure", {"value": 1}, id="no-such-attribute"),
    ],
)
def test_partial_update_of_what_is_not_there_is_resource_not_found(
    client: httpx.Client, attribute: str, body: dict[str, Any]
) -> None:
    entity = create(client, _sensor(temperature=TEMPERATURE))
    assert_problem(client.patch(_attrs_path(entity, attribute), json=body), 404, "ResourceNotFound")
    assert _get(client, entity)["temperature"] == TEMPERATURE


def test_partial_update_of_an_unknown_entity_is_resource_not_found(client: httpx.Client) -> None:
    assert_problem(client.patch(_attrs_path(unique_id(), "speed"), json={"value": 1}), 404, "ResourceNotFound")


@pytest.mark.parametrize(
    ("attribute", "body"),
    [
        pytest.param("temperature", {"type": "Relationship", "object": "urn:ngsi-ld:Device:1"}, id="type-change"),
        pytest.param("temperature", {"object": "urn:ngsi-ld:Device:1"}, id="implied-type-change"),
        pytest.param("temperature", {"value": NULL}, id="null-value"),
        pytest.param("temperature", {"value": None}, id="json-null"),
        pytest.param("temperature", {"type": "DateTime", "value": 1}, id="unknown-type"),
        pytest.param("temperature", {"value": 1, "observedAt": "yesterday"}, id="bad-observed-at"),
        pytest.param("scope", {"value": "/Delft"}, id="scope"),
        pytest.param("a%3Bb", {"value": 1}, id="bad-name"),
    ],
)
def test_partial_update_with_bad_data_is_bad_request_data(
    client: httpx.Client, attribute: str, body: dict[str, Any]
) -> None:
    entity = create(client, _sensor(temperature=TEMPERATURE, scope="/Mechelen"))
    before = _get(client, entity, options="sysAttrs")
    assert_problem(client.patch(_attrs_path(entity, attribute), json=body), 400, "BadRequestData")
    assert _get(client, entity, options="sysAttrs") == before


def test_partial_update_of_a_geo_property_checks_the_geometry(client: httpx.Client) -> None:
    entity = create(client, _sensor(location={"type": "Point", "coordinates": [4.48, 51.03]}))
    bad = {"value": {"type": "Point", "coordinates": [4.48, 95]}}
    assert_problem(client.patch(_attrs_path(entity, "location"), json=bad), 400, "BadRequestData")
    good = {"value": {"type": "Point", "coordinates": [4.35, 52.01]}}
    _assert_no_content(client.patch(_attrs_path(entity, "location"), json=good))
    assert _get(client, entity)["location"] == {"type": "GeoProperty", "value": good["value"]}


# Replace Attribute (5.6.19): PUT /entities/{entityId}/attrs/{attrId}


def test_replace_attribute_replaces_it_completely_keeping_created_at(client: httpx.Client) -> None:
    entity = create(client, _sensor(temperature={**TEMPERATURE, "accuracy": {"type": "Property", "value": 0.5}}))
    before = _get(client, entity, options="sysAttrs")["temperature"]
    _assert_no_content(client.put(_attrs_path(entity, "temperature"), json={"type": "Property", "value": 7}))
    after = _get(client, entity, options="sysAttrs")["temperature"]
    assert {k: v for k, v in after.items() if k not in ("createdAt", "modifiedAt")} == {"type": "Property", "value": 7}
    assert after["createdAt"] == before["createdAt"]
    assert after["modifiedAt"] > before["modifiedAt"]


def test_replace_attribute_may_change_its_type(client: httpx.Client) -> None:
    entity = create(client, _sensor(owner="Alice"))
    body = {"type": "Relationship", "object": "urn:ngsi-ld:Person:alice"}
    _assert_no_content(client.put(_attrs_path(entity, "owner"), json=body))
    assert _get(client, entity)["owner"] == body


def test_replace_attribute_replaces_the_instance_of_the_dataset_id(client: httpx.Client) -> None:
    entity = create(client, _sensor(speed=[{"type": "Property", "value": 1},
                                           {"type": "Property", "value": 2, "datasetId": GPS}]))
    _assert_no_content(client.put(_attrs_path(entity, "speed"), json={"value": 20, "datasetId": GPS}))
    assert sorted(_get(client, entity)["speed"], key=lambda i: i["value"]) == [
        {"type": "Property", "value": 1}, {"type": "Property", "value": 20, "datasetId": GPS},
    ]


@pytest.mark.parametrize(
    ("attribute", "body"),
    [
        pytest.param("speed", {"value": 3, "datasetId": RADAR}, id="no-such-instance"),
        pytest.param("pressure", {"value": 3}, id="no-such-attribute"),
    ],
)
def test_replace_attribute_of_what_is_not_there_is_resource_not_found(
    client: httpx.Client, attribute: str, body: dict[str, Any]
) -> None:
    entity = create(client, _sensor(speed=1))
    assert_problem(client.put(_attrs_path(entity, attribute), json=body), 404, "ResourceNotFound")
    assert _get(client, entity, options="keyValues") == {"id": entity, "type": "Sensor", "speed": 1}


@pytest.mark.parametrize(
    ("attribute", "body"),
    [
        pytest.param("speed", {"type": "Property", "value": NULL}, id="ngsi-ld-null"),
        pytest.param("speed", {"value": None}, id="json-null"),
        pytest.param("speed", {"type": "Relationship", "object": "not a uri"}, id="bad-object"),
        pytest.param("scope", "/Delft", id="scope"),
    ],
)
def test_replace_attribute_with_bad_data_is_bad_request_data(
    client: httpx.Client, attribute: str, body: Any
) -> None:
    entity = create(client, _sensor(speed=1, scope="/Mechelen"))
    assert_problem(client.put(_attrs_path(entity, attribute), json=body), 400, "BadRequestData")
    assert _get(client, entity, options="keyValues") == {"id": entity, "type": "Sensor", "speed": 1,
                                                         "scope": "/Mechelen"}


def test_replace_attribute_of_an_unknown_entity_is_resource_not_found(client: httpx.Client) -> None:
    assert_problem(client.put(_attrs_path(unique_id(), "speed"), json={"value": 1}), 404, "ResourceNotFound")


# Delete Attribute (5.6.5): DELETE /entities/{entityId}/attrs/{attrId}


def _speeds(client: httpx.Client) -> str:
    return create(client, _sensor(colour="red", speed=[
        {"type": "Property", "value": 1},
        {"type": "Property", "value": 2, "datasetId": GPS},
        {"type": "Property", "value": 3, "datasetId": RADAR},
    ]))


def test_delete_attribute_removes_the_default_instance(client: httpx.Client) -> None:
    entity = _speeds(client)
    _assert_no_content(client.delete(_attrs_path(entity, "speed")))
    assert sorted(i["value"] for i in _get(client, entity)["speed"]) == [2, 3]


def test_delete_attribute_removes_the_instance_of_the_dataset_id(client: httpx.Client) -> None:
    entity = _speeds(client)
    _assert_no_content(client.delete(_attrs_path(entity, "speed"), params={"datasetId": GPS}))
    assert sorted(i["value"] for i in _get(client, entity)["speed"]) == [1, 3]


def test_delete_attribute_with_delete_all_removes_every_instance(client: httpx.Client) -> None:
    entity = _speeds(client)
    _assert_no_content(client.delete(_attrs_path(entity, "speed"), params={"deleteAll": "true"}))
    assert _get(client, entity, options="keyValues") == {"id": entity, "type": "Sensor", "colour": "red"}


def test_delete_attribute_moves_the_entity_modified_at(client: httpx.Client) -> None:
    entity = _speeds(client)
    before = _get(client, entity, options="sysAttrs")
    _assert_no_content(client.delete(_attrs_path(entity, "colour")))
    after = _get(client, entity, options="sysAttrs")
    assert "colour" not in after
    assert after["createdAt"] == before["createdAt"] and after["modifiedAt"] > before["modifiedAt"]


def test_delete_attribute_named_by_its_fully_qualified_name_or_a_context_term(
    client: httpx.Client, context_server: ContextServer
) -> None:
    context_server.documents["/attrs-delete.jsonld"] = {"@context": {"depth": "https://example.org/water#depth"}}
    headers = link(context_server.url("/attrs-delete.jsonld"))
    entity = create(client, _sensor(depth=1, width=2, **{"https://example.org/water#height": 3}), headers=headers)
    _assert_no_content(client.delete(_attrs_path(entity, "depth"), headers=headers))
    _assert_no_content(client.delete(_attrs_path(entity, "https%3A%2F%2Fexample.org%2Fwater%23height")))
    assert _get(client, entity, options="keyValues") == {"id": entity, "type": "Sensor", "width": 2}


def test_delete_scope_removes_the_scope(client: httpx.Client) -> None:
    entity = create(client, _sensor(speed=1, scope=["/Mechelen", "/Delft"]))
    _assert_no_content(client.delete(_attrs_path(entity, "scope")))
    assert _get(client, entity, options="keyValues") == {"id": entity, "type": "Sensor", "speed": 1}
    assert_problem(client.delete(_attrs_path(entity, "scope")), 404, "ResourceNotFound")


@pytest.mark.parametrize(
    ("attribute", "params"),
    [
        pytest.param("pressure", {}, id="no-such-attribute"),
        pytest.param("speed", {"datasetId": "urn:ngsi-ld:Dataset:lidar"}, id="no-such-instance"),
        pytest.param("colour", {"datasetId": GPS}, id="no-instance-of-that-dataset"),
    ],
)
def test_delete_attribute_that_is_not_there_is_resource_not_found(
    client: httpx.Client, attribute: str, params: dict[str, str]
) -> None:
    entity = _speeds(client)
    before = _get(client, entity, options="sysAttrs")
    assert_problem(client.delete(_attrs_path(entity, attribute), params=params), 404, "ResourceNotFound")
    assert _get(client, entity, options="sysAttrs") == before


def test_delete_attribute_of_an_unknown_entity_is_resource_not_found(client: httpx.Client) -> None:
    assert_problem(client.delete(_attrs_path(unique_id(), "speed")), 404, "ResourceNotFound")


def test_delete_attribute_with_an_entity_type_that_does_not_match_is_resource_not_found(
    client: httpx.Client
) -> None:
    entity = _speeds(client)
    assert_problem(client.delete(_attrs_path(entity, "colour"), params={"type": "Vehicle"}), 404, "ResourceNotFound")
    _assert_no_content(client.delete(_attrs_path(entity, "colour"), params={"type": "Sensor"}))


@pytest.mark.parametrize(
    ("path", "params"),
    [
        pytest.param("speed", {"datasetId": "not a uri"}, id="dataset-id"),
        pytest.param("speed", {"deleteAll": "yes"}, id="delete-all"),
        pytest.param("a%3Bb", {}, id="attribute-name"),
    ],
)
def test_delete_attribute_with_bad_parameters_is_bad_request_data(
    client: httpx.Client, path: str, params: dict[str, str]
) -> None:
    entity = _speeds(client)
    assert_problem(client.delete(_attrs_path(entity, path), params=params), 400, "BadRequestData")
    assert len(_get(client, entity)["speed"]) == 3


def test_delete_attribute_aimed_at_an_entity_id_that_is_not_a_uri_is_bad_request_data(client: httpx.Client) -> None:
    assert_problem(client.delete("/entities/not-a-uri/attrs/speed"), 400, "BadRequestData")


# Tenants: the answers of the attribute operations carry the tenant (clause 5.5.10)


def test_attribute_operations_answer_with_the_tenant(client: httpx.Client) -> None:
    tenant = {"NGSILD-Tenant": f"t{uuid4().hex[:12]}"}
    entity = create(client, _sensor(speed=1), headers=tenant)
    answers = [
        client.post(_attrs_path(entity), json={"colour": "red"}, headers=tenant),
        client.post(_attrs_path(entity), params={"options": "noOverwrite"}, json={"colour": "blue"}, headers=tenant),
        client.patch(_attrs_path(entity), json={"speed": 2, "pressure": 1}, headers=tenant),
        client.patch(_attrs_path(entity, "speed"), json={"value": 3}, headers=tenant),
        client.put(_attrs_path(entity, "speed"), json={"value": 4}, headers=tenant),
        client.delete(_attrs_path(entity, "colour"), headers=tenant),
    ]
    assert [answer.status_code for answer in answers] == [204, 207, 207, 204, 204, 204]
    assert all(answer.headers.get("NGSILD-Tenant") == tenant["NGSILD-Tenant"] for answer in answers)
    got = client.get(entity_path(entity), params={"options": "keyValues"}, headers=tenant).json()
    assert got == {"id": entity, "type": "Sensor", "speed": 4}

"""The discovery API area (clauses 5.7.5-5.7.10; HTTP binding 6.25-6.28; representations 4.5.10-4.5.15;
data types 5.2.24-5.2.28): the available entity types and attributes, their details, and the information
about one type or one attribute. Every test works in tenants of its own, so lists and counts are exact."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote
from uuid import uuid4

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ngsi_ld.context import CORE_CONTEXT_URL
from tests.broker.entity_helpers import CORE, DEFAULT_CONTEXT, ERRORS, assert_problem, create, entity_path
from tests.conftest import API, BrokerProcess, ContextServer, link

TENANT = "NGSILD-Tenant"
CITY = "https://example.org/city#"
TYPES = ["AirQualityObserved", "Device", "OffStreetParking", "Street", "Zone"]
ATTRIBUTES = ["availableSpotNumber", "location", "name", "owner", "state", "streetName", "temperature"]


def _tenant() -> dict[str, str]:
    return {TENANT: f"d{uuid4().hex[:12]}"}


def _property(value: Any, **members: Any) -> dict[str, Any]:
    return {"type": "Property", "value": value, **members}


def _point(x: float, y: float) -> dict[str, Any]:
    return {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [x, y]}}


CITY_ENTITIES: list[dict[str, Any]] = [
    {"id": "urn:ngsi-ld:OffStreetParking:1", "type": "OffStreetParking", "name": _property("Centrum"),
     "availableSpotNumber": _property(121, observedAt="2026-11-27T08:00:00Z", reliability=_property(0.9)),
     "location": _point(4.47, 51.02), "owner": {"type": "Relationship", "object": "urn:ngsi-ld:Organization:city"}},
    {"id": "urn:ngsi-ld:OffStreetParking:2", "type": "OffStreetParking", "name": _property("Station"),
     "state": _property({"open": True, "levels": [1, 2]})},
    {"id": "urn:ngsi-ld:Device:1", "type": ["Device", "AirQualityObserved"],
     "state": {"type": "Relationship", "object": "urn:ngsi-ld:State:ok"},
     "temperature": [_property(21.5, datasetId="urn:ngsi-ld:Dataset:a"), _property(22)],
     "location": _point(4.48, 51.03)},
    {"id": "urn:ngsi-ld:Street:1", "type": "Street",
     "streetName": {"type": "LanguageProperty", "languageMap": {"nl": "Bruul", "fr": "Brul"}}},
    {"id": "urn:ngsi-ld:Zone:1", "type": "Zone"},
]
"""Five entities: a multi-typed one, attributes in several types with different attribute types, a multi-instance
attribute, a sub-attribute, metadata, a JSON value and a LanguageProperty (none of whose parts is an attribute)."""


@pytest.fixture(scope="module")
def city(broker: BrokerProcess) -> Iterator[httpx.Client]:
    """A client bound to a tenant that holds CITY_ENTITIES and nothing else (the tests only read it)."""
    with httpx.Client(base_url=broker.url + API, headers=_tenant(), timeout=10) as http:
        for entity in CITY_ENTITIES:
            create(http, entity)
        yield http


def _ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def _entity_type(name: str, attributes: list[str]) -> dict[str, Any]:
    return {"id": DEFAULT_CONTEXT + name, "type": "EntityType", "typeName": name, "attributeNames": attributes}


def _attribute(iri: str, name: str, **members: Any) -> dict[str, Any]:
    return {"id": iri, "type": "Attribute", "attributeName": name, **members}


# GET /types


def test_types_lists_the_types_that_entities_have(city: httpx.Client) -> None:
    response = city.get("/types")
    body = _ok(response)
    assert body == {"id": body["id"], "type": "EntityTypeList", "typeList": TYPES}
    assert body["id"].startswith("urn:ngsi-ld:EntityTypeList:") and len(body["id"]) > 30
    assert response.headers["content-type"] == "application/json"
    assert CORE_CONTEXT_URL in response.headers["link"]
    assert response.headers[TENANT] == city.headers[TENANT]


def test_types_with_details_lists_entity_types_with_their_attribute_names(city: httpx.Client) -> None:
    assert _ok(city.get("/types", params={"details": "true"})) == [
        _entity_type("AirQualityObserved", ["location", "state", "temperature"]),
        _entity_type("Device", ["location", "state", "temperature"]),
        _entity_type("OffStreetParking", ["availableSpotNumber", "location", "name", "owner", "state"]),
        _entity_type("Street", ["streetName"]),
        _entity_type("Zone", []),
    ]


def test_details_false_and_local_true_give_the_plain_list(city: httpx.Client) -> None:
    assert _ok(city.get("/types", params={"details": "false", "local": "true"}))["typeList"] == TYPES
    assert _ok(city.get("/attributes", params={"details": "false", "local": "true"}))["attributeList"] == ATTRIBUTES


# GET /types/{type}


def test_type_information_counts_entities_and_gives_attribute_types(city: httpx.Client) -> None:
    assert _ok(city.get("/types/OffStreetParking")) == {
        "id": DEFAULT_CONTEXT + "OffStreetParking", "type": "EntityTypeInfo", "typeName": "OffStreetParking",
        "entityCount": 2,
        "attributeDetails": [
            _attribute(DEFAULT_CONTEXT + "availableSpotNumber", "availableSpotNumber", attributeTypes=["Property"]),
            _attribute(CORE + "location", "location", attributeTypes=["GeoProperty"]),
            _attribute(DEFAULT_CONTEXT + "name", "name", attributeTypes=["Property"]),
            _attribute(DEFAULT_CONTEXT + "owner", "owner", attributeTypes=["Relationship"]),
            _attribute(DEFAULT_CONTEXT + "state", "state", attributeTypes=["Property"]),
        ],
    }


@pytest.mark.parametrize("type_name", ["Device", "AirQualityObserved"])
def test_a_multi_typed_entity_counts_in_each_of_its_types(city: httpx.Client, type_name: str) -> None:
    body = _ok(city.get(f"/types/{type_name}"))
    assert (body["id"], body["typeName"], body["entityCount"]) == (DEFAULT_CONTEXT + type_name, type_name, 1)
    assert [(a["attributeName"], a["attributeTypes"]) for a in body["attributeDetails"]] == [
        ("location", ["GeoProperty"]), ("state", ["Relationship"]), ("temperature", ["Property"])
    ]


def test_a_type_without_attributes_has_empty_attribute_details(city: httpx.Client) -> None:
    body = _ok(city.get("/types/Zone"))
    assert (body["entityCount"], body["attributeDetails"]) == (1, [])


def test_a_type_is_found_by_short_name_and_by_fully_qualified_name(city: httpx.Client) -> None:
    by_fqn = _ok(city.get(f"/types/{quote(DEFAULT_CONTEXT + 'Street', safe='')}"))
    assert by_fqn == _ok(city.get("/types/Street"))
    assert by_fqn["typeName"] == "Street" and by_fqn["entityCount"] == 1


# GET /attributes


def test_attributes_lists_the_top_level_attributes(city: httpx.Client) -> None:
    response = city.get("/attributes")
    body = _ok(response)
    assert body == {"id": body["id"], "type": "AttributeList", "attributeList": ATTRIBUTES}
    assert body["id"].startswith("urn:ngsi-ld:AttributeList:") and len(body["id"]) > 30
    assert CORE_CONTEXT_URL in response.headers["link"]


def test_attributes_with_details_gives_the_type_names_of_each(city: httpx.Client) -> None:
    # Clause 5.7.9.4: the elements are restricted to id, type, attributeName and typeNames.
    assert _ok(city.get("/attributes", params={"details": "true"})) == [
        _attribute(DEFAULT_CONTEXT + "availableSpotNumber", "availableSpotNumber", typeNames=["OffStreetParking"]),
        _attribute(CORE + "location", "location", typeNames=["AirQualityObserved", "Device", "OffStreetParking"]),
        _attribute(DEFAULT_CONTEXT + "name", "name", typeNames=["OffStreetParking"]),
        _attribute(DEFAULT_CONTEXT + "owner", "owner", typeNames=["OffStreetParking"]),
        _attribute(DEFAULT_CONTEXT + "state", "state", typeNames=["AirQualityObserved", "Device", "OffStreetParking"]),
        _attribute(DEFAULT_CONTEXT + "streetName", "streetName", typeNames=["Street"]),
        _attribute(DEFAULT_CONTEXT + "temperature", "temperature", typeNames=["AirQualityObserved", "Device"]),
    ]


# GET /attributes/{attrId}


@pytest.mark.parametrize(
    ("name", "iri", "count", "attribute_types", "type_names"),
    [
        pytest.param("state", DEFAULT_CONTEXT + "state", 2, ["Property", "Relationship"],
                     ["AirQualityObserved", "Device", "OffStreetParking"], id="types-differ"),
        pytest.param("temperature", DEFAULT_CONTEXT + "temperature", 2, ["Property"],
                     ["AirQualityObserved", "Device"], id="multi-instance"),
        pytest.param("location", CORE + "location", 2, ["GeoProperty"],
                     ["AirQualityObserved", "Device", "OffStreetParking"], id="core-term"),
        pytest.param("streetName", DEFAULT_CONTEXT + "streetName", 1, ["LanguageProperty"], ["Street"],
                     id="language-property"),
    ],
)
def test_attribute_information(
    city: httpx.Client, name: str, iri: str, count: int, attribute_types: list[str], type_names: list[str]
) -> None:
    assert _ok(city.get(f"/attributes/{name}")) == _attribute(
        iri, name, attributeCount=count, attributeTypes=attribute_types, typeNames=type_names
    )


@pytest.mark.parametrize(
    ("name", "iri", "count"), [("location", CORE + "location", 2), ("owner", DEFAULT_CONTEXT + "owner", 1)]
)
def test_an_attribute_is_found_by_short_name_and_by_fully_qualified_name(
    city: httpx.Client, name: str, iri: str, count: int
) -> None:
    by_fqn = _ok(city.get(f"/attributes/{quote(iri, safe='')}"))
    assert by_fqn == _ok(city.get(f"/attributes/{name}"))
    assert (by_fqn["id"], by_fqn["attributeName"], by_fqn["attributeCount"]) == (iri, name, count)


# Errors


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/types/Vehicle", id="type"),
        pytest.param(f"/types/{quote(CITY + 'Zone', safe='')}", id="type-fqn-other-vocabulary"),
        pytest.param("/types/name", id="attribute-is-no-type"),
        pytest.param("/attributes/speed", id="attribute"),
        pytest.param("/attributes/Zone", id="type-is-no-attribute"),
        pytest.param("/attributes/reliability", id="sub-attribute"),
        pytest.param("/attributes/observedAt", id="metadata"),
        pytest.param("/attributes/open", id="json-member"),
        pytest.param(f"/attributes/{quote(CITY + 'owner', safe='')}", id="attribute-fqn-other-vocabulary"),
    ],
)
def test_an_unknown_type_or_attribute_is_resource_not_found(city: httpx.Client, path: str) -> None:
    assert_problem(city.get(path), 404, "ResourceNotFound")


@pytest.mark.parametrize(
    ("path", "params"),
    [
        pytest.param("/types/no%20name", {}, id="type-name"),
        pytest.param("/attributes/a%3Cb%3E", {}, id="attribute-name"),
        pytest.param("/types", {"details": "yes"}, id="types-details"),
        pytest.param("/attributes", {"details": "1"}, id="attributes-details"),
        pytest.param("/types/Zone", {"local": "maybe"}, id="local"),
    ],
)
def test_invalid_names_and_parameters_are_bad_request_data(
    city: httpx.Client, path: str, params: dict[str, str]
) -> None:
    assert_problem(city.get(path, params=params), 400, "BadRequestData")


@pytest.mark.parametrize(
    ("path", "params"),
    [
        pytest.param("/types", {}, id="types"),
        pytest.param("/types", {"details": "true"}, id="types-details"),
        pytest.param("/types/Zone", {}, id="type"),
        pytest.param("/attributes", {}, id="attributes"),
        pytest.param("/attributes", {"details": "true"}, id="attributes-details"),
        pytest.param("/attributes/name", {}, id="attribute"),
    ],
)
def test_an_unknown_tenant_is_nonexistent_tenant(client: httpx.Client, path: str, params: dict[str, str]) -> None:
    assert_problem(client.get(path, params=params, headers=_tenant()), 404, "NonexistentTenant")


def test_geo_json_is_not_acceptable(city: httpx.Client) -> None:
    assert_problem(city.get("/types", headers={"Accept": "application/geo+json"}), 406, "NotAcceptable")


# Tenants and changes


def test_each_tenant_sees_only_its_own_types_and_attributes(client: httpx.Client) -> None:
    first, second = _tenant(), _tenant()
    create(client, {"id": "urn:ngsi-ld:Bin:1", "type": "WasteBin", "fillingLevel": 0.5}, headers=first)
    create(client, {"id": "urn:ngsi-ld:Bin:1", "type": "Container", "colour": "grey"}, headers=second)
    assert _ok(client.get("/types", headers=first))["typeList"] == ["WasteBin"]
    assert _ok(client.get("/types", headers=second))["typeList"] == ["Container"]
    assert _ok(client.get("/attributes", headers=first))["attributeList"] == ["fillingLevel"]
    assert _ok(client.get("/attributes", params={"details": "true"}, headers=second))[0]["typeNames"] == ["Container"]
    assert_problem(client.get("/types/Container", headers=first), 404, "ResourceNotFound")
    assert_problem(client.get("/attributes/fillingLevel", headers=second), 404, "ResourceNotFound")
    assert _ok(client.get("/types/WasteBin", headers=first))["entityCount"] == 1


def test_counts_and_lists_follow_creates_updates_and_deletes(client: httpx.Client) -> None:
    tenant = _tenant()

    def get(path: str) -> Any:
        return _ok(client.get(path, headers=tenant))

    create(client, {"id": "urn:ngsi-ld:Bin:1", "type": "WasteBin", "fillingLevel": 0.2, "colour": "grey"},
           headers=tenant)
    create(client, {"id": "urn:ngsi-ld:Bin:2", "type": "WasteBin", "fillingLevel": 0.7}, headers=tenant)
    assert get("/types/WasteBin")["entityCount"] == 2
    assert get("/attributes/fillingLevel")["attributeCount"] == 2
    assert get("/attributes/colour")["attributeCount"] == 1

    replaced = {"colour": {"type": "Relationship", "object": "urn:ngsi-ld:Colour:green"}}
    assert client.post(f"{entity_path('urn:ngsi-ld:Bin:2')}/attrs", json=replaced, headers=tenant).status_code == 204
    assert get("/attributes/colour")["attributeTypes"] == ["Property", "Relationship"]
    assert client.delete(f"{entity_path('urn:ngsi-ld:Bin:1')}/attrs/colour", headers=tenant).status_code == 204
    assert get("/attributes/colour") == _attribute(DEFAULT_CONTEXT + "colour", "colour", attributeCount=1,
                                                   attributeTypes=["Relationship"], typeNames=["WasteBin"])

    assert client.delete(entity_path("urn:ngsi-ld:Bin:1"), headers=tenant).status_code == 204
    assert get("/types/WasteBin")["entityCount"] == 1
    assert get("/attributes/fillingLevel")["attributeCount"] == 1
    assert client.delete(entity_path("urn:ngsi-ld:Bin:2"), headers=tenant).status_code == 204
    assert get("/types")["typeList"] == []
    assert get("/types?details=true") == []
    assert get("/attributes")["attributeList"] == []
    assert_problem(client.get("/types/WasteBin", headers=tenant), 404, "ResourceNotFound")
    assert_problem(client.get("/attributes/fillingLevel", headers=tenant), 404, "ResourceNotFound")


# @context


@pytest.fixture
def garages(client: httpx.Client, context_server: ContextServer) -> tuple[dict[str, str], str]:
    """A tenant with two Garages written with a user @context; returns its header and the @context URL."""
    context_server.documents["/discovery.jsonld"] = {
        "@context": {"city": CITY, "Garage": "city:Garage", "freeSpots": "city:freeSpots"}
    }
    url = context_server.url("/discovery.jsonld")
    tenant = _tenant()
    for number, spots in ((1, 7), (2, 12)):
        entity = {"id": f"urn:ngsi-ld:Garage:{number}", "type": "Garage", "freeSpots": spots}
        create(client, entity, headers={**tenant, **link(url)})
    return tenant, url


def test_names_are_compacted_with_the_request_context(
    client: httpx.Client, garages: tuple[dict[str, str], str]
) -> None:
    tenant, url = garages
    with_context = {**tenant, **link(url)}
    response = client.get("/types", headers=with_context)
    assert _ok(response)["typeList"] == ["Garage"]
    assert url in response.headers["link"]
    assert _ok(client.get("/types", headers=tenant))["typeList"] == [CITY + "Garage"]
    assert _ok(client.get("/attributes", headers=with_context))["attributeList"] == ["freeSpots"]
    assert _ok(client.get("/attributes", headers=tenant))["attributeList"] == [CITY + "freeSpots"]
    assert _ok(client.get("/types", params={"details": "true"}, headers=with_context)) == [
        {"id": CITY + "Garage", "type": "EntityType", "typeName": "Garage", "attributeNames": ["freeSpots"]}
    ]
    assert _ok(client.get("/types/Garage", headers=with_context)) == {
        "id": CITY + "Garage", "type": "EntityTypeInfo", "typeName": "Garage", "entityCount": 2,
        "attributeDetails": [_attribute(CITY + "freeSpots", "freeSpots", attributeTypes=["Property"])],
    }
    assert _ok(client.get("/attributes/freeSpots", headers=with_context)) == _attribute(
        CITY + "freeSpots", "freeSpots", attributeCount=2, attributeTypes=["Property"], typeNames=["Garage"]
    )


def test_path_names_expand_with_the_request_context(
    client: httpx.Client, garages: tuple[dict[str, str], str]
) -> None:
    tenant, url = garages
    with_context = {**tenant, **link(url)}
    # Without the user @context a short name expands into the default vocabulary, where there is no Garage.
    assert_problem(client.get("/types/Garage", headers=tenant), 404, "ResourceNotFound")
    assert_problem(client.get("/attributes/freeSpots", headers=tenant), 404, "ResourceNotFound")
    by_fqn = _ok(client.get(f"/types/{quote(CITY + 'Garage', safe='')}", headers=tenant))
    assert (by_fqn["typeName"], by_fqn["attributeDetails"][0]["attributeName"]) == (CITY + "Garage", CITY + "freeSpots")
    assert _ok(client.get("/attributes/city:freeSpots", headers=with_context))["attributeName"] == "freeSpots"


def test_ld_json_answers_carry_the_context_in_the_body(
    client: httpx.Client, garages: tuple[dict[str, str], str]
) -> None:
    tenant, url = garages
    ld_json = {**tenant, "Accept": "application/ld+json"}
    response = client.get("/types", headers={**ld_json, **link(url)})
    assert response.headers["content-type"] == "application/ld+json"
    assert "link" not in response.headers
    assert _ok(response)["@context"] == url and _ok(response)["typeList"] == ["Garage"]
    assert _ok(client.get("/attributes", headers=ld_json))["@context"] == CORE_CONTEXT_URL
    details = _ok(client.get("/types", params={"details": "true"}, headers={**ld_json, **link(url)}))
    assert [(item["typeName"], item["@context"]) for item in details] == [("Garage", url)]
    attributes = _ok(client.get("/attributes", params={"details": "true"}, headers={**ld_json, **link(url)}))
    assert [(item["attributeName"], item["@context"]) for item in attributes] == [("freeSpots", url)]
    info = _ok(client.get("/types/Garage", headers={**ld_json, **link(url)}))
    assert (info["@context"], info["entityCount"]) == (url, 2)
    attribute = _ok(client.get("/attributes/freeSpots", headers={**ld_json, **link(url)}))
    assert (attribute["@context"], attribute["attributeCount"]) == (url, 2)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.text(min_size=1, max_size=20))
@example(name=".")
@example(name="..")
def test_any_path_name_gets_an_answer_or_a_problem(city: httpx.Client, name: str) -> None:
    segment = quote(name, safe="")
    if segment in (".", ".."):  # percent-encoded, or the client would resolve it as a dot segment of the path
        segment = segment.replace(".", "%2E")
    for resource in ("types", "attributes"):
        answer = city.get(f"/{resource}/{segment}")
        assert answer.status_code in (200, 400, 404), answer.text
        if answer.status_code != 200:
            assert answer.json()["type"] in (ERRORS + "BadRequestData", ERRORS + "ResourceNotFound")

"""Entity representations on input and output (clauses 4.5, 4.15, 4.21, 5.5.7, 6.3.6, 6.3.7, 6.3.11)."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import httpx
import pytest

from tests.broker.entity_helpers import DEFAULT_CONTEXT, assert_problem, create, entity_path, unique_type
from tests.conftest import link, unique_id

POINT = {"type": "Point", "coordinates": [4.48, 51.03]}
OTHER_POINT = {"type": "Point", "coordinates": [4.35, 52.01]}
SITE = {"street": "Grote Markt", "city": "Mechelen"}
CONFIG = {"id": "not-a-uri", "value": 1, "nested": {"type": "Point"}}

NORMALIZED = {
    "type": "Building",
    "name": {"type": "Property", "value": "Town hall"},
    "height": {"type": "Property", "value": 32.5, "unitCode": "MTR", "observedAt": "2024-01-01T00:00:00Z"},
    "address": {"type": "Property", "value": SITE},
    "owner": {"type": "Relationship", "object": "urn:ngsi-ld:City:Mechelen", "objectType": "City"},
    "tenants": {"type": "Relationship", "object": ["urn:ngsi-ld:Org:1", "urn:ngsi-ld:Org:2"]},
    "location": {"type": "GeoProperty", "value": POINT},
    "motto": {"type": "LanguageProperty", "languageMap": {"nl": "Stad", "en": "City"}},
    "category": {"type": "VocabProperty", "vocab": "Civic"},
    "config": {"type": "JsonProperty", "json": CONFIG},
    "floors": {"type": "ListProperty", "valueList": [0, 1, 2]},
    "route": {"type": "ListRelationship",
              "objectList": [{"object": "urn:ngsi-ld:Stop:1"}, {"object": "urn:ngsi-ld:Stop:2"}]},
    "temperature": {"type": "Property", "value": 21,
                    "accuracy": {"type": "Property", "value": 0.5},
                    "sensor": {"type": "Relationship", "object": "urn:ngsi-ld:Device:9"}},
}

CONCISE = {
    "type": "Building",
    "name": "Town hall",
    "height": {"value": 32.5, "unitCode": "MTR", "observedAt": "2024-01-01T00:00:00Z"},
    "address": {"value": SITE},
    "owner": {"object": "urn:ngsi-ld:City:Mechelen", "objectType": "City"},
    "tenants": {"object": ["urn:ngsi-ld:Org:1", "urn:ngsi-ld:Org:2"]},
    "location": POINT,
    "motto": {"languageMap": {"nl": "Stad", "en": "City"}},
    "category": {"vocab": "Civic"},
    "config": {"json": CONFIG},
    "floors": {"valueList": [0, 1, 2]},
    "route": {"objectList": ["urn:ngsi-ld:Stop:1", "urn:ngsi-ld:Stop:2"]},
    "temperature": {"value": 21, "accuracy": 0.5, "sensor": {"object": "urn:ngsi-ld:Device:9"}},
}

SIMPLIFIED = {
    "type": "Building",
    "name": "Town hall",
    "height": 32.5,
    "address": SITE,
    "owner": "urn:ngsi-ld:City:Mechelen",
    "tenants": ["urn:ngsi-ld:Org:1", "urn:ngsi-ld:Org:2"],
    "location": POINT,
    "motto": {"languageMap": {"nl": "Stad", "en": "City"}},
    "category": {"vocab": "Civic"},
    "config": {"json": CONFIG},
    "floors": [0, 1, 2],
    "route": ["urn:ngsi-ld:Stop:1", "urn:ngsi-ld:Stop:2"],
    "temperature": 21,
}


def _get(client: httpx.Client, entity_id: str, headers: Mapping[str, str] | None = None, **params: str) -> Any:
    response = client.get(entity_path(entity_id), params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def _with_id(entity_id: str, body: dict[str, Any]) -> dict[str, Any]:
    return {"id": entity_id, **copy.deepcopy(body)}


@pytest.fixture
def building(client: httpx.Client) -> str:
    """An entity with every attribute type, created in normalized form."""
    return create(client, _with_id(unique_id("Building"), NORMALIZED))


# --- the three representations of clause 4.5 (6.3.7) ---


def test_normalized_is_the_default(client: httpx.Client, building: str) -> None:
    assert _get(client, building) == _with_id(building, NORMALIZED)


@pytest.mark.parametrize(
    "params",
    [{"options": "normalized"}, {"format": "normalized"}, {"format": "normalized", "options": "keyValues"}],
    ids=["options", "format", "format-wins"],
)
def test_normalized_on_request(client: httpx.Client, building: str, params: dict[str, Any]) -> None:
    assert _get(client, building, **params) == _with_id(building, NORMALIZED)


@pytest.mark.parametrize(
    "params",
    [{"options": "concise"}, {"format": "concise"}, {"format": "concise", "options": "keyValues"}],
    ids=["options", "format", "format-wins"],
)
def test_concise(client: httpx.Client, building: str, params: dict[str, Any]) -> None:
    assert _get(client, building, **params) == _with_id(building, CONCISE)


@pytest.mark.parametrize(
    "params",
    [
        {"options": "keyValues"}, {"options": "simplified"}, {"format": "keyValues"}, {"format": "simplified"},
        {"format": "simplified", "options": "concise"},
    ],
    ids=["options-keyValues", "options-simplified", "format-keyValues", "format-simplified", "format-wins"],
)
def test_simplified(client: httpx.Client, building: str, params: dict[str, Any]) -> None:
    assert _get(client, building, **params) == _with_id(building, SIMPLIFIED)


@pytest.mark.parametrize(
    "params",
    [{"options": "keyValues,concise"}, {"options": "fancy"}, {"format": "fancy"}, {"options": "sysAttrs,"}],
    ids=["two-formats", "unknown-option", "unknown-format", "empty-item"],
)
def test_bad_representation_parameters_are_400(client: httpx.Client, building: str, params: dict[str, str]) -> None:
    response = client.get(entity_path(building), params=params)
    assert response.status_code == 400
    assert response.json()["type"] in (
        "https://uri.etsi.org/ngsi-ld/errors/BadRequestData", "https://uri.etsi.org/ngsi-ld/errors/InvalidRequest",
    )


def test_concise_input_reads_back_normalized(client: httpx.Client) -> None:
    entity_id = create(client, _with_id(unique_id("Building"), CONCISE))
    assert _get(client, entity_id) == _with_id(entity_id, NORMALIZED)


def test_concise_output_is_lossless(client: httpx.Client, building: str) -> None:
    concise = _get(client, building, format="concise")
    copied = create(client, {**concise, "id": unique_id("Building")})
    assert _get(client, copied) == _with_id(copied, NORMALIZED)


def test_concise_keeps_the_type_of_a_property_whose_value_looks_like_a_geometry(client: httpx.Client) -> None:
    entity_id = create(client, {"id": unique_id(), "type": "Thing", "shape": {"type": "Property", "value": POINT}})
    concise = _get(client, entity_id, format="concise")
    assert concise["shape"] == {"type": "Property", "value": POINT}
    copied = create(client, {**concise, "id": unique_id()})
    assert _get(client, copied)["shape"] == {"type": "Property", "value": POINT}


def test_concise_geoproperty_with_sub_attributes(client: httpx.Client) -> None:
    location = {"type": "GeoProperty", "value": POINT, "accuracy": {"type": "Property", "value": 5}}
    entity_id = create(client, {"id": unique_id(), "type": "Thing", "location": location})
    assert _get(client, entity_id, format="concise")["location"] == {"value": POINT, "accuracy": 5}


# --- system attributes (6.3.11) ---


def test_sys_attrs_in_normalized(client: httpx.Client, building: str) -> None:
    entity = _get(client, building, options="sysAttrs")
    assert entity["createdAt"].endswith("Z") and entity["modifiedAt"] >= entity["createdAt"]
    for name in NORMALIZED:
        if name != "type":
            assert entity[name]["createdAt"] == entity["createdAt"], name
            assert entity[name]["modifiedAt"] == entity["createdAt"], name
    assert "createdAt" in entity["temperature"]["accuracy"]
    assert "modifiedAt" in entity["temperature"]["sensor"]


def test_sys_attrs_in_concise_keep_every_attribute_an_object(client: httpx.Client, building: str) -> None:
    entity = _get(client, building, options="concise,sysAttrs")
    assert set(entity["name"]) == {"value", "createdAt", "modifiedAt"}
    assert entity["name"]["value"] == "Town hall"
    assert entity["location"]["value"] == POINT
    assert "createdAt" in entity


def test_no_sys_attrs_unless_asked(client: httpx.Client, building: str) -> None:
    assert "createdAt" not in str(_get(client, building))
    assert "createdAt" not in str(_get(client, building, format="concise"))


# --- multi-typed entities and multi-instance attributes (4.5.5) ---


def test_multi_typed_entity(client: httpx.Client) -> None:
    first, second = unique_type(), unique_type()
    entity_id = create(client, {"id": unique_id(), "type": [first, second, first], "size": 1})
    assert sorted(_get(client, entity_id)["type"]) == sorted([first, second])
    assert sorted(_get(client, entity_id, options="keyValues")["type"]) == sorted([first, second])
    for selector in (first, second, f"({first};{second})"):
        response = client.get("/entities", params={"type": selector})
        assert [entity["id"] for entity in response.json()] == [entity_id]


MULTI = [
    {"type": "Property", "value": 1, "unitCode": "KMH"},
    {"type": "Property", "value": 2, "datasetId": "urn:ngsi-ld:Dataset:gps"},
    {"type": "Property", "value": 3, "datasetId": "urn:ngsi-ld:Dataset:radar"},
]


def _by_value(instances: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(instances, key=lambda instance: instance["value"])


def test_multi_instance_attribute_in_every_representation(client: httpx.Client) -> None:
    entity_id = create(client, {"id": unique_id(), "type": "Car", "speed": MULTI})
    assert _by_value(_get(client, entity_id)["speed"]) == MULTI
    concise = _get(client, entity_id, format="concise")["speed"]
    assert _by_value(concise) == [{key: value for key, value in i.items() if key != "type"} for i in MULTI]
    assert _get(client, entity_id, format="simplified")["speed"] == {
        "dataset": {"@none": 1, "urn:ngsi-ld:Dataset:gps": 2, "urn:ngsi-ld:Dataset:radar": 3},
    }


def test_multi_instance_concise_output_is_lossless(client: httpx.Client) -> None:
    plain = [{"type": "Property", "value": 1}, {"type": "Property", "value": 2, "datasetId": "urn:ngsi-ld:Dataset:a"}]
    entity_id = create(client, {"id": unique_id(), "type": "Car", "speed": plain})
    concise = _get(client, entity_id, format="concise")
    copied = create(client, {**concise, "id": unique_id()})
    assert _by_value(_get(client, copied)["speed"]) == plain


def test_dataset_id_parameter_selects_instances(client: httpx.Client) -> None:
    entity_id = create(client, {"id": unique_id(), "type": "Car", "speed": MULTI, "colour": "red",
                                "owner": {"type": "Relationship", "object": "urn:ngsi-ld:Person:1",
                                          "datasetId": "urn:ngsi-ld:Dataset:gps"}})
    gps = _get(client, entity_id, datasetId="urn:ngsi-ld:Dataset:gps")
    assert gps == {"id": entity_id, "type": "Car", "speed": MULTI[1], "owner": {
        "type": "Relationship", "object": "urn:ngsi-ld:Person:1", "datasetId": "urn:ngsi-ld:Dataset:gps"}}
    default = _get(client, entity_id, datasetId="@none", format="simplified")
    assert default == {"id": entity_id, "type": "Car", "speed": 1, "colour": "red"}
    both = _get(client, entity_id, datasetId="@none,urn:ngsi-ld:Dataset:radar", format="simplified")
    assert both["speed"] == {"dataset": {"@none": 1, "urn:ngsi-ld:Dataset:radar": 3}}


def test_dataset_id_parameter_must_hold_uris(client: httpx.Client, building: str) -> None:
    response = client.get(entity_path(building), params={"datasetId": "not a uri"})
    assert_problem(response, 400, "BadRequestData")


def test_multi_instance_relationship_simplified(client: httpx.Client) -> None:
    owners = [{"type": "Relationship", "object": "urn:ngsi-ld:Person:1"},
              {"type": "Relationship", "object": "urn:ngsi-ld:Person:2", "datasetId": "urn:ngsi-ld:Dataset:b"}]
    entity_id = create(client, {"id": unique_id(), "type": "Car", "owner": owners})
    assert _get(client, entity_id, format="simplified")["owner"] == {
        "dataset": {"@none": "urn:ngsi-ld:Person:1", "urn:ngsi-ld:Dataset:b": "urn:ngsi-ld:Person:2"},
    }


def test_only_dataset_instances_simplified(client: httpx.Client) -> None:
    speed = {"type": "Property", "value": 5, "datasetId": "urn:ngsi-ld:Dataset:gps"}
    entity_id = create(client, {"id": unique_id(), "type": "Car", "speed": speed})
    assert _get(client, entity_id)["speed"] == speed
    assert _get(client, entity_id, format="simplified")["speed"] == {"dataset": {"urn:ngsi-ld:Dataset:gps": 5}}


# --- scope (4.18) ---


def test_scope_is_a_string_for_one_and_an_array_for_several(client: httpx.Client) -> None:
    one = create(client, {"id": unique_id(), "type": "Car", "scope": "/Mechelen"})
    several = create(client, {"id": unique_id(), "type": "Car", "scope": ["/Mechelen", "/Delft/Centre"]})
    formats: list[dict[str, Any]] = [{}, {"format": "concise"}, {"format": "simplified"}]
    for params in formats:
        assert _get(client, one, **params)["scope"] == "/Mechelen"
        assert sorted(_get(client, several, **params)["scope"]) == ["/Delft/Centre", "/Mechelen"]


# --- lang (4.15) ---


@pytest.fixture
def multilingual(client: httpx.Client) -> str:
    return create(client, {
        "id": unique_id(), "type": "Street",
        "name": {"type": "LanguageProperty",
                 "languageMap": {"nl": "Grote Markt", "fr": "Grand-Place", "en": "Main Square"}},
        "note": {"type": "LanguageProperty", "languageMap": {"@none": "-", "nl": "geen"}},
        "length": 120,
    })


def test_lang_turns_language_properties_into_properties(client: httpx.Client, multilingual: str) -> None:
    entity = _get(client, multilingual, lang="fr")
    assert entity["name"] == {"type": "Property", "value": "Grand-Place", "lang": "fr"}
    assert entity["length"] == {"type": "Property", "value": 120}


def test_lang_in_concise_and_simplified(client: httpx.Client, multilingual: str) -> None:
    assert _get(client, multilingual, lang="en", format="concise")["name"] == {"value": "Main Square", "lang": "en"}
    assert _get(client, multilingual, lang="en", format="simplified")["name"] == "Main Square"


def test_lang_matches_a_more_specific_tag_by_its_language(client: httpx.Client, multilingual: str) -> None:
    assert _get(client, multilingual, lang="fr-CH")["name"]["value"] == "Grand-Place"


def test_lang_follows_quality_values(client: httpx.Client, multilingual: str) -> None:
    assert _get(client, multilingual, lang="en;q=0.5,nl;q=0.9")["name"]["lang"] == "nl"
    assert _get(client, multilingual, lang="de,en;q=0.8,*;q=0.5")["name"]["lang"] == "en"


def test_lang_without_a_match_falls_back_to_none_then_any(client: httpx.Client, multilingual: str) -> None:
    entity = _get(client, multilingual, lang="de")
    assert entity["note"] == {"type": "Property", "value": "-", "lang": "@none"}
    assert entity["name"]["type"] == "Property"
    assert (entity["name"]["lang"], entity["name"]["value"]) in {
        ("nl", "Grote Markt"), ("fr", "Grand-Place"), ("en", "Main Square"),
    }


def test_lang_wildcard_picks_any_language(client: httpx.Client, multilingual: str) -> None:
    name = _get(client, multilingual, lang="*")["name"]
    assert name["type"] == "Property" and name["lang"] in ("nl", "fr", "en")


def test_lang_on_query(client: httpx.Client, multilingual: str) -> None:
    response = client.get("/entities", params={"id": multilingual, "type": "Street", "lang": "nl",
                                               "format": "simplified"})
    assert response.json()[0]["name"] == "Grote Markt"


# --- projection: attrs, pick, omit (4.21) ---


def test_attrs_projects_attributes(client: httpx.Client, building: str) -> None:
    assert _get(client, building, attrs="name,height", format="simplified") == {
        "id": building, "type": "Building", "name": "Town hall", "height": 32.5,
    }


def test_pick_keeps_only_the_members_listed(client: httpx.Client, building: str) -> None:
    assert _get(client, building, pick="name,floors", format="simplified") == {"name": "Town hall", "floors": [0, 1, 2]}
    assert _get(client, building, pick="id,type") == {"id": building, "type": "Building"}


def test_omit_removes_the_members_listed(client: httpx.Client, building: str) -> None:
    expected = {key: value for key, value in SIMPLIFIED.items() if key not in ("type", "motto", "config")}
    assert _get(client, building, omit="type,motto,config", format="simplified") == {"id": building, **expected}


def test_pick_and_omit_together_are_bad_request_data(client: httpx.Client, building: str) -> None:
    response = client.get(entity_path(building), params={"pick": "name", "omit": "height"})
    assert_problem(response, 400, "BadRequestData")


# --- GeoJSON (4.5.16, 4.5.17) ---

GEO = {"Accept": "application/geo+json"}


def test_geojson_feature(client: httpx.Client, building: str) -> None:
    response = client.get(entity_path(building), headers=GEO)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/geo+json"
    feature = response.json()
    feature.pop("@context", None)
    assert feature == {
        "id": building, "type": "Feature", "geometry": POINT,
        "properties": {key: value for key, value in NORMALIZED.items()},
    }


def test_geojson_feature_carries_its_context_in_the_body(client: httpx.Client, building: str) -> None:
    feature = client.get(entity_path(building), headers=GEO).json()
    assert "ngsi-ld-core-context" in str(feature["@context"])


def test_geojson_with_prefer_body_json_carries_its_context_in_a_link_header(
    client: httpx.Client, building: str
) -> None:
    response = client.get(entity_path(building), headers={**GEO, "Prefer": "body=json"})
    assert response.status_code == 200
    assert "@context" not in response.json()
    assert "ngsi-ld-core-context" in response.headers["Link"]


def test_simplified_geojson(client: httpx.Client, building: str) -> None:
    feature = _get(client, building, headers=GEO, format="simplified")
    assert feature["geometry"] == POINT
    assert feature["properties"] == SIMPLIFIED


def test_geometry_property_selects_the_geometry(client: httpx.Client) -> None:
    entity_id = create(client, {"id": unique_id(), "type": "Car", "location": POINT, "parkedAt": OTHER_POINT,
                                "colour": "red"})
    assert _get(client, entity_id, headers=GEO)["geometry"] == POINT
    assert _get(client, entity_id, headers=GEO, geometryProperty="parkedAt")["geometry"] == OTHER_POINT
    assert _get(client, entity_id, headers=GEO, geometryProperty="colour")["geometry"] is None
    assert _get(client, entity_id, headers=GEO, geometryProperty="nothing")["geometry"] is None


def test_geojson_geometry_of_a_multi_instance_geoproperty_is_the_default_instance(client: httpx.Client) -> None:
    location = [{"type": "GeoProperty", "value": OTHER_POINT, "datasetId": "urn:ngsi-ld:Dataset:old"},
                {"type": "GeoProperty", "value": POINT}]
    entity_id = create(client, {"id": unique_id(), "type": "Car", "location": location})
    assert _get(client, entity_id, headers=GEO)["geometry"] == POINT


def test_geojson_geometry_of_a_dataset_id(client: httpx.Client) -> None:
    location = [{"type": "GeoProperty", "value": OTHER_POINT, "datasetId": "urn:ngsi-ld:Dataset:old"},
                {"type": "GeoProperty", "value": POINT}]
    entity_id = create(client, {"id": unique_id(), "type": "Car", "location": location})
    feature = _get(client, entity_id, headers=GEO, datasetId="urn:ngsi-ld:Dataset:old")
    assert feature["geometry"] == OTHER_POINT
    assert feature["properties"]["location"] == location[0]


def test_geometry_property_without_geojson_is_bad_request_data(client: httpx.Client, building: str) -> None:
    response = client.get(entity_path(building), params={"geometryProperty": "location"})
    assert_problem(response, 400, "BadRequestData")


# --- @context: terms expanded on input, compacted with the request's @context on output (5.5.7) ---

A = f"https://example.org/{unique_type()}/"


@pytest.fixture
def contexts(context_server: Any) -> dict[str, dict[str, str]]:
    context_server.documents["/repr-a.jsonld"] = {"@context": {
        "Car": A + "Car", "speed": A + "speed", "accuracy": A + "accuracy", "Fast": A + "Fast",
    }}
    context_server.documents["/repr-b.jsonld"] = {"@context": {"Auto": A + "Car", "velocity": A + "speed"}}
    context_server.documents["/repr-c.jsonld"] = {"@context": {"speed": "https://example.org/c/speed"}}
    return {name: link(context_server.url(f"/repr-{name}.jsonld")) for name in "abc"}


@pytest.fixture
def car(client: httpx.Client, contexts: dict[str, dict[str, str]]) -> str:
    return create(client, {
        "id": unique_id("Car"), "type": "Car",
        "speed": {"type": "Property", "value": 50, "accuracy": {"type": "Property", "value": 1}},
        "class": {"type": "VocabProperty", "vocab": "Fast"},
        "twin": {"type": "Relationship", "object": "urn:ngsi-ld:Car:twin", "objectType": "Car"},
        "colour": "red",
    }, headers=contexts["a"])


def test_read_with_the_writing_context_gives_the_same_terms(
    client: httpx.Client, car: str, contexts: dict[str, dict[str, str]]
) -> None:
    response = client.get(entity_path(car), headers=contexts["a"])
    assert response.json() == {
        "id": car, "type": "Car",
        "speed": {"type": "Property", "value": 50, "accuracy": {"type": "Property", "value": 1}},
        "class": {"type": "VocabProperty", "vocab": "Fast"},
        "twin": {"type": "Relationship", "object": "urn:ngsi-ld:Car:twin", "objectType": "Car"},
        "colour": {"type": "Property", "value": "red"},
    }
    assert contexts["a"]["Link"].split(";")[0] in response.headers["Link"]


def test_read_without_context_gives_full_iris(client: httpx.Client, car: str) -> None:
    assert _get(client, car) == {
        "id": car, "type": A + "Car",
        A + "speed": {"type": "Property", "value": 50, A + "accuracy": {"type": "Property", "value": 1}},
        "class": {"type": "VocabProperty", "vocab": A + "Fast"},
        "twin": {"type": "Relationship", "object": "urn:ngsi-ld:Car:twin", "objectType": A + "Car"},
        "colour": {"type": "Property", "value": "red"},
    }


def test_read_with_another_context_gives_its_terms(
    client: httpx.Client, car: str, contexts: dict[str, dict[str, str]]
) -> None:
    entity = _get(client, car, headers=contexts["b"], format="simplified")
    assert entity == {"id": car, "type": "Auto", "velocity": 50, "class": {"vocab": A + "Fast"},
                      "twin": "urn:ngsi-ld:Car:twin", "colour": "red"}
    response = client.get("/entities", params={"id": car, "type": "Auto", "attrs": "velocity"}, headers=contexts["b"])
    assert [entity["id"] for entity in response.json()] == [car]


def test_a_term_the_context_maps_elsewhere_shows_the_full_iri(
    client: httpx.Client, contexts: dict[str, dict[str, str]]
) -> None:
    entity_id = create(client, {"id": unique_id(), "type": "Car", "speed": 7})
    entity = _get(client, entity_id, headers=contexts["c"], format="simplified")
    # JSON-LD compaction may use the core context's 'ngsi-ld' prefix; either form expands to the same IRI.
    assert entity in (
        {"id": entity_id, "type": "Car", DEFAULT_CONTEXT + "speed": 7},
        {"id": entity_id, "type": "Car", "ngsi-ld:default-context/speed": 7},
    )
    assert client.get(entity_path(entity_id), params={"attrs": "speed"}, headers=contexts["c"]).status_code == 404


def test_json_ld_response_carries_the_request_context(
    client: httpx.Client, car: str, contexts: dict[str, dict[str, str]]
) -> None:
    response = client.get(entity_path(car), headers={**contexts["a"], "Accept": "application/ld+json"},
                          params={"format": "simplified"})
    body = response.json()
    assert body.pop("@context") in (contexts["a"]["Link"][1:].split(">")[0],
                                    [contexts["a"]["Link"][1:].split(">")[0]])
    assert body["type"] == "Car" and body["speed"] == 50


def test_inline_context_in_a_json_ld_body(client: httpx.Client, contexts: dict[str, dict[str, str]]) -> None:
    entity_id = unique_id("Car")
    inline = {"@context": {"Car": A + "Car", "speed": A + "speed"}, "id": entity_id, "type": "Car", "speed": 8}
    response = client.post("/entities", json=inline, headers={"Content-Type": "application/ld+json"})
    assert response.status_code == 201, response.text
    assert _get(client, entity_id, headers=contexts["b"], format="simplified") == {
        "id": entity_id, "type": "Auto", "velocity": 8,
    }


def test_attrs_and_pick_expand_with_the_request_context(
    client: httpx.Client, car: str, contexts: dict[str, dict[str, str]]
) -> None:
    assert _get(client, car, headers=contexts["a"], attrs="speed", format="simplified") == {
        "id": car, "type": "Car", "speed": 50,
    }
    assert _get(client, car, headers=contexts["b"], pick="velocity", format="simplified") == {"velocity": 50}
    assert client.get(entity_path(car), params={"attrs": "speed"}).status_code == 404

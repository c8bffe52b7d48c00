"""Payload rules: media types and content negotiation (clauses 6.3.4, 6.3.6), where the @context comes from
(6.3.5), JSON validity and size (5.5.4, 6.3.2), and the data representation rules of clause 4 that make input
BadRequestData. A rejected write leaves the entity exactly as it was."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.broker.entity_helpers import assert_problem, create, entity_path
from tests.conftest import CONTEXT_REL, ContextServer, free_port, link, unique_id

NULL = "urn:ngsi-ld:null"
POINT = {"type": "Point", "coordinates": [4.48, 51.03]}
JSON, JSON_LD, GEO_JSON = "application/json", "application/ld+json", "application/geo+json"


def _media_type(response: httpx.Response) -> str:
    return response.headers["content-type"].split(";")[0]


def _entity(**attrs: Any) -> dict[str, Any]:
    return {"id": unique_id("Bin"), "type": "WasteBin", **attrs}


@pytest.fixture
def entity(client: httpx.Client) -> str:
    return create(client, _entity(fillingLevel=0.5, location={"type": "GeoProperty", "value": POINT}))


# Content-Type (6.3.4): 415 without a body


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="missing"),
        pytest.param({"Content-Type": "text/plain"}, id="text-plain"),
        pytest.param({"Content-Type": "application/xml"}, id="xml"),
        pytest.param({"Content-Type": "application/merge-patch+json"}, id="merge-patch-on-post"),
    ],
)
def test_unsupported_content_type_is_415_without_body(client: httpx.Client, headers: dict[str, str]) -> None:
    entity_id = unique_id("Bin")
    response = client.post("/entities", content=b'{"id": "%s", "type": "WasteBin"}' % entity_id.encode(),
                           headers=headers)
    assert response.status_code == 415
    assert response.content == b""
    assert client.get(entity_path(entity_id)).status_code == 404


def test_content_type_parameters_are_accepted(client: httpx.Client) -> None:
    entity_id = unique_id("Bin")
    response = client.post("/entities", content=b'{"id": "%s", "type": "WasteBin"}' % entity_id.encode(),
                           headers={"Content-Type": "application/json; charset=utf-8"})
    assert response.status_code == 201, response.text


def test_unsupported_content_type_on_an_attribute_update_is_415(client: httpx.Client, entity: str) -> None:
    response = client.patch(f"{entity_path(entity)}/attrs/fillingLevel", content=b'{"value": 1}',
                            headers={"Content-Type": "text/plain"})
    assert response.status_code == 415
    assert client.get(entity_path(entity), params={"options": "keyValues"}).json()["fillingLevel"] == 0.5


# Accept (6.3.4, 6.3.6)


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        pytest.param(None, JSON, id="absent"),
        pytest.param("*/*", JSON, id="any"),
        pytest.param("application/*", JSON, id="application-any"),
        pytest.param(JSON, JSON, id="json"),
        pytest.param(JSON_LD, JSON_LD, id="json-ld"),
        pytest.param(GEO_JSON, GEO_JSON, id="geo-json"),
        pytest.param(f"{JSON_LD};q=0.5, {JSON}", JSON, id="weights"),
        pytest.param(f"text/html, {JSON_LD};q=0.8", JSON_LD, id="first-servable"),
    ],
)
def test_accept_chooses_the_response_media_type(
    client: httpx.Client, entity: str, accept: str | None, expected: str
) -> None:
    headers = {} if accept is None else {"Accept": accept}
    response = client.get(entity_path(entity), headers=headers)
    assert response.status_code == 200, response.text
    assert _media_type(response) == expected


def test_json_answer_links_the_context_and_has_none_in_the_body(client: httpx.Client, entity: str) -> None:
    response = client.get(entity_path(entity), headers={"Accept": JSON})
    assert "@context" not in response.json()
    assert CONTEXT_REL in response.headers["link"]
    assert "ngsi-ld-core-context" in response.headers["link"]


def test_json_ld_answer_carries_the_context_in_the_body_and_no_link(client: httpx.Client, entity: str) -> None:
    response = client.get(entity_path(entity), headers={"Accept": JSON_LD})
    assert "ngsi-ld-core-context" in str(response.json()["@context"])
    assert "link" not in response.headers


def test_json_ld_query_answer_carries_the_context_in_each_entity(client: httpx.Client, entity: str) -> None:
    response = client.get("/entities", params={"id": entity, "type": "WasteBin"}, headers={"Accept": JSON_LD})
    assert response.status_code == 200, response.text
    assert [item["id"] for item in response.json()] == [entity]
    assert all("@context" in item for item in response.json())


def test_geo_json_answer_is_a_feature_with_the_context(client: httpx.Client, entity: str) -> None:
    response = client.get(entity_path(entity), headers={"Accept": GEO_JSON})
    feature = response.json()
    assert feature["type"] == "Feature" and feature["id"] == entity
    assert feature["geometry"] == POINT
    assert "@context" in feature


def test_geo_json_with_prefer_body_json_links_the_context(client: httpx.Client, entity: str) -> None:
    response = client.get(entity_path(entity), headers={"Accept": GEO_JSON, "Prefer": "body=json"})
    assert response.status_code == 200, response.text
    assert "@context" not in response.json()
    assert CONTEXT_REL in response.headers["link"]


@pytest.mark.parametrize("accept", ["text/html", "application/xml, text/*", f"{JSON};q=0"])
def test_accept_that_cannot_be_served_is_406(client: httpx.Client, entity: str, accept: str) -> None:
    response = client.get(entity_path(entity), headers={"Accept": accept})
    assert response.status_code == 406
    assert all(offered in response.text for offered in (JSON, JSON_LD, GEO_JSON)), "it lists what is on offer"


def test_geo_json_on_a_write_operation_is_406(client: httpx.Client, entity: str) -> None:
    """Only Retrieve Entity and Query Entities answer GeoJSON (clause 6.3.4)."""
    response = client.post(f"{entity_path(entity)}/attrs", json={"colour": "grey"}, headers={"Accept": GEO_JSON})
    assert response.status_code == 406
    assert "colour" not in client.get(entity_path(entity)).json()


def test_errors_are_plain_json_without_link(client: httpx.Client) -> None:
    response = client.get(entity_path(unique_id()), headers={"Accept": JSON_LD})
    assert_problem(response, 404, "ResourceNotFound")
    assert "link" not in response.headers


def test_no_content_answers_have_no_content_length(client: httpx.Client, entity: str) -> None:
    response = client.post(f"{entity_path(entity)}/attrs", json={"colour": "grey"})
    assert response.status_code == 204
    assert "content-length" not in response.headers


# Where the @context comes from (6.3.5)


def test_json_with_context_in_the_body_is_bad_request_data(client: httpx.Client) -> None:
    entity_id = unique_id("Bin")
    body = {"id": entity_id, "type": "WasteBin", "@context": "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld"}
    assert_problem(client.post("/entities", json=body), 400, "BadRequestData")
    assert client.get(entity_path(entity_id)).status_code == 404


def test_json_ld_without_context_in_the_body_is_bad_request_data(client: httpx.Client) -> None:
    entity_id = unique_id("Bin")
    response = client.post("/entities", json={"id": entity_id, "type": "WasteBin"}, headers={"Content-Type": JSON_LD})
    assert_problem(response, 400, "BadRequestData")
    assert client.get(entity_path(entity_id)).status_code == 404


def test_json_ld_with_a_link_header_is_bad_request_data(client: httpx.Client, context_server: ContextServer) -> None:
    context_server.documents["/payload-mix.jsonld"] = {"@context": {"bin": "https://example.org/bin#"}}
    url = context_server.url("/payload-mix.jsonld")
    entity_id = unique_id("Bin")
    body = {"id": entity_id, "type": "WasteBin", "@context": url}
    response = client.post("/entities", json=body, headers={"Content-Type": JSON_LD, **link(url)})
    assert_problem(response, 400, "BadRequestData")
    assert client.get(entity_path(entity_id)).status_code == 404


def test_json_ld_attribute_fragment_carries_its_context(client: httpx.Client, context_server: ContextServer) -> None:
    context_server.documents["/payload-level.jsonld"] = {"@context": {"level": "https://example.org/bin#level"}}
    url = context_server.url("/payload-level.jsonld")
    entity_id = create(client, _entity(level=1), headers=link(url))
    response = client.patch(f"{entity_path(entity_id)}/attrs/level", json={"value": 2, "@context": url},
                            headers={"Content-Type": JSON_LD})
    assert response.status_code == 204, response.text
    got = client.get(entity_path(entity_id), params={"options": "keyValues"}).json()
    assert got["https://example.org/bin#level"] == 2


def test_an_unreachable_remote_context_is_ld_context_not_available(client: httpx.Client, entity: str) -> None:
    """Table 6.3.2-1 maps LdContextNotAvailable to 504 (it was 503 before v1.8.1)."""
    url = f"http://127.0.0.1:{free_port()}/gone.jsonld"
    response = client.post(f"{entity_path(entity)}/attrs", json={"colour": "grey"}, headers=link(url))
    assert_problem(response, 504, "LdContextNotAvailable")
    assert "colour" not in client.get(entity_path(entity)).json()


# JSON validity and size (5.5.4, 6.3.2)


@pytest.mark.parametrize("content", [b"{", b"", b'{"id": "urn:x:1",}', b"\xff\xfe{}", b"NaN"])
def test_invalid_json_is_invalid_request(client: httpx.Client, content: bytes) -> None:
    response = client.post("/entities", content=content, headers={"Content-Type": JSON})
    assert_problem(response, 400, "InvalidRequest")


def test_invalid_json_on_an_attribute_update_is_invalid_request(client: httpx.Client, entity: str) -> None:
    response = client.patch(f"{entity_path(entity)}/attrs", content=b'{"fillingLevel": }',
                            headers={"Content-Type": JSON})
    assert_problem(response, 400, "InvalidRequest")


def test_a_body_over_the_limit_is_413(client: httpx.Client) -> None:
    entity_id = unique_id("Bin")
    body = {"id": entity_id, "type": "WasteBin", "notes": "x" * 100_001}
    response = client.post("/entities", json=body)
    assert response.status_code == 413
    assert client.get(entity_path(entity_id)).status_code == 404


def test_a_streamed_body_over_the_limit_is_413(client: httpx.Client) -> None:
    """Without Content-Length (chunked), the broker still stops reading at the limit."""
    def chunks() -> Iterator[bytes]:
        yield b'{"id": "urn:ngsi-ld:Bin:big", "type": "WasteBin", "notes": "'
        for _ in range(30):
            yield b"x" * 10_000
        yield b'"}'

    response = client.post("/entities", content=chunks(), headers={"Content-Type": JSON})
    assert response.status_code in (411, 413)


def test_a_body_just_under_the_limit_is_accepted(client: httpx.Client) -> None:
    entity_id = unique_id("Bin")
    response = client.post("/entities", json={"id": entity_id, "type": "WasteBin", "notes": "x" * 90_000})
    assert response.status_code == 201, response.text


# Data representation rules (clauses 4.5, 4.6, 4.7, 4.18, 5.5.4): BadRequestData, never a 500


BAD_ENTITIES = [
    pytest.param({"id": "not a uri", "type": "WasteBin"}, id="id-not-a-uri"),
    pytest.param({"id": "bin-1", "type": "WasteBin"}, id="id-without-scheme"),
    pytest.param({"id": 7, "type": "WasteBin"}, id="id-not-a-string"),
    pytest.param({"type": "WasteBin"}, id="id-missing"),
    pytest.param({"id": "ID"}, id="type-missing"),
    pytest.param({"id": "ID", "type": None}, id="type-null"),
    pytest.param({"id": "ID", "type": "Waste Bin"}, id="type-not-a-name"),
    pytest.param({"id": "ID", "type": "1Bin"}, id="type-starting-with-a-digit"),
    pytest.param({"id": "ID", "type": []}, id="type-empty-list"),
    pytest.param({"id": "ID", "type": "WasteBin", "level": None}, id="attribute-null"),
    pytest.param({"id": "ID", "type": "WasteBin", "level": {"type": "Property", "value": None}}, id="value-null"),
    pytest.param({"id": "ID", "type": "WasteBin", "level": {"type": "Property"}}, id="value-missing"),
    pytest.param({"id": "ID", "type": "WasteBin", "level": {"type": "DateTime", "value": "2024-01-01T00:00:00Z"}},
                 id="unknown-attribute-type"),
    pytest.param({"id": "ID", "type": "WasteBin", "level": {"type": ["Property"], "value": 1}}, id="type-list"),
    pytest.param({"id": "ID", "type": "WasteBin", "level": {"type": None, "value": 1}}, id="attribute-type-null"),
    pytest.param({"id": "ID", "type": "WasteBin", "level": {"type": "Property", "value": 1, "object": "urn:x:1"}},
                 id="property-with-object"),
    pytest.param({"id": "ID", "type": "WasteBin", "owner": {"type": "Relationship"}}, id="relationship-no-object"),
    pytest.param({"id": "ID", "type": "WasteBin", "owner": {"type": "Relationship", "object": "not a uri"}},
                 id="relationship-object-not-a-uri"),
    pytest.param({"id": "ID", "type": "WasteBin", "owner": {"type": "Relationship", "object": 5}},
                 id="relationship-object-number"),
    pytest.param({"id": "ID", "type": "WasteBin", "owner": {"type": "Relationship", "object": "urn:x:1",
                                                             "unitCode": "KGM"}}, id="relationship-unit-code"),
    pytest.param({"id": "ID", "type": "WasteBin", "owner": {"type": "Relationship", "object": "urn:x:1",
                                                             "value": 1}}, id="relationship-with-value"),
    pytest.param({"id": "ID", "type": "WasteBin", "location": {"type": "GeoProperty", "value": {
        "type": "Point", "coordinates": [4.48]}}}, id="point-one-coordinate"),
    pytest.param({"id": "ID", "type": "WasteBin", "location": {"type": "GeoProperty", "value": {
        "type": "Point", "coordinates": ["4.48", "51.03"]}}}, id="point-strings"),
    pytest.param({"id": "ID", "type": "WasteBin", "location": {"type": "GeoProperty", "value": {
        "type": "Point", "coordinates": [4.48, 95.0]}}}, id="latitude-out-of-range"),
    pytest.param({"id": "ID", "type": "WasteBin", "location": {"type": "GeoProperty", "value": {
        "type": "Point", "coordinates": [190.0, 51.0]}}}, id="longitude-out-of-range"),
    pytest.param({"id": "ID", "type": "WasteBin", "location": {"type": "GeoProperty", "value": {
        "type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]}}}, id="polygon-not-closed"),
    pytest.param({"id": "ID", "type": "WasteBin", "location": {"type": "GeoProperty", "value": {
        "type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]}}}, id="polygon-too-short"),
    pytest.param({"id": "ID", "type": "WasteBin", "location": {"type": "GeoProperty", "value": {
        "type": "LineString", "coordinates": [[0, 0]]}}}, id="line-of-one-point"),
    pytest.param({"id": "ID", "type": "WasteBin", "location": {"type": "GeoProperty", "value": {
        "type": "GeometryCollection", "geometries": [POINT]}}}, id="geometry-collection"),
    pytest.param({"id": "ID", "type": "WasteBin", "location": {"type": "GeoProperty", "value": "POINT (4 51)"}},
                 id="wkt"),
    pytest.param({"id": "ID", "type": "WasteBin", "level": {"type": "Property", "value": 1, "observedAt": "today"}},
                 id="observed-at-not-a-date"),
    pytest.param({"id": "ID", "type": "WasteBin", "level": {"type": "Property", "value": 1,
                                                             "observedAt": "2024-01-01T12:00:00"}},
                 id="observed-at-without-z"),
    pytest.param({"id": "ID", "type": "WasteBin", "level": {"type": "Property", "value": 1,
                                                             "observedAt": "2024-01-01T12:00:00+02:00"}},
                 id="observed-at-with-offset"),
    pytest.param({"id": "ID", "type": "WasteBin", "level": {"type": "Property", "value": 1,
                                                             "observedAt": "2024-01-01"}}, id="observed-at-date-only"),
    pytest.param({"id": "ID", "type": "WasteBin", "level": {"type": "Property", "value": 1, "datasetId": "gps"}},
                 id="dataset-id-not-a-uri"),
    pytest.param({"id": "ID", "type": "WasteBin", "level": [
        {"type": "Property", "value": 1, "datasetId": "urn:ngsi-ld:Dataset:a"},
        {"type": "Property", "value": 2, "datasetId": "urn:ngsi-ld:Dataset:a"}]}, id="dataset-id-twice"),
    pytest.param({"id": "ID", "type": "WasteBin", "level": [
        {"type": "Property", "value": 1}, {"type": "Property", "value": 2}]}, id="two-default-instances"),
    pytest.param({"id": "ID", "type": "WasteBin", "level": {"type": "Property", "value": 1, "unitCode": 3}},
                 id="unit-code-not-a-string"),
    pytest.param({"id": "ID", "type": "WasteBin", "level": {"type": "Property", "value": NULL}}, id="ngsi-ld-null"),
    pytest.param({"id": "ID", "type": "WasteBin", "level": NULL}, id="concise-ngsi-ld-null"),
    pytest.param({"id": "ID", "type": "WasteBin", "site": {"type": "Property", "value": {"city": NULL}}},
                 id="ngsi-ld-null-in-a-value"),
    pytest.param({"id": "ID", "type": "WasteBin", "name": {"type": "LanguageProperty", "languageMap": {"en": 1}}},
                 id="language-map-not-strings"),
    pytest.param({"id": "ID", "type": "WasteBin", "name": {"type": "LanguageProperty", "languageMap": {"en": "x"},
                                                            "unitCode": "KGM"}}, id="language-property-unit-code"),
    pytest.param({"id": "ID", "type": "WasteBin", "route": {"type": "ListRelationship", "objectList": ["x y"]}},
                 id="object-list-not-uris"),
    pytest.param({"id": "ID", "type": "WasteBin", "level": {"type": "Property", "value": 1,
                                                             "accuracy": None}}, id="sub-attribute-null"),
    pytest.param({"id": "ID", "type": "WasteBin", "scope": "/Mechelen/"}, id="scope-trailing-slash"),
    pytest.param({"id": "ID", "type": "WasteBin", "scope": "/Mechelen/Grote Markt"}, id="scope-with-space"),
    pytest.param({"id": "ID", "type": "WasteBin", "scope": "/Mechelen#1"}, id="scope-with-hash"),
    pytest.param({"id": "ID", "type": "WasteBin", "scope": 5}, id="scope-number"),
    pytest.param({"id": "ID", "type": "WasteBin", "scope": []}, id="scope-empty-list"),
    pytest.param({"id": "ID", "type": "WasteBin", "scope": NULL}, id="scope-ngsi-ld-null"),
]

FORBIDDEN_NAMES = ["datasetId", "instanceId", "observedAt", "unitCode", "value", "object", "languageMap", "@id",
                   "@type", "level;1", "level=1", "fill level", "fill-level", "a/b", "<level>", "1level", "_level", ""]


def _with_id(body: dict[str, Any], entity_id: str) -> dict[str, Any]:
    body = copy.deepcopy(body)
    if body.get("id") == "ID":
        body["id"] = entity_id
    return body


@pytest.mark.parametrize("body", BAD_ENTITIES)
def test_bad_entity_is_bad_request_data_and_not_created(client: httpx.Client, body: dict[str, Any]) -> None:
    entity_id = unique_id("Bin")
    assert_problem(client.post("/entities", json=_with_id(body, entity_id)), 400, "BadRequestData")
    assert client.get(entity_path(entity_id)).status_code == 404


@pytest.mark.parametrize("name", FORBIDDEN_NAMES)
def test_forbidden_attribute_names_are_bad_request_data(client: httpx.Client, name: str) -> None:
    entity_id = unique_id("Bin")
    body = {"id": entity_id, "type": "WasteBin", name: {"type": "Property", "value": 1}}
    assert_problem(client.post("/entities", json=body), 400, "BadRequestData")
    assert client.get(entity_path(entity_id)).status_code == 404


@pytest.mark.parametrize(
    "name", ["fillingLevel", "température", "level2", "level_max", "schema:name", "https://example.org/bin#level"]
)
def test_valid_attribute_names_are_accepted(client: httpx.Client, name: str) -> None:
    entity_id = create(client, _entity(**{name: 1}))
    assert client.get(entity_path(entity_id)).status_code == 200


@pytest.mark.parametrize(
    "value",
    ["2024-01-01T12:00:00Z", "2024-01-01T12:00:00.123456Z", "2024-01-01T12:00:00,5Z"],
)
def test_valid_observed_at_is_accepted(client: httpx.Client, value: str) -> None:
    entity_id = create(client, _entity(level={"type": "Property", "value": 1, "observedAt": value}))
    observed = client.get(entity_path(entity_id)).json()["level"]["observedAt"]
    assert observed == value.replace(",", ".")


@pytest.mark.parametrize("scope", ["/Mechelen", "/Mechelen/Grote_Markt", ["/Mechelen", "/Delft/Centrum2"], "Madrid"])
def test_valid_scopes_are_accepted(client: httpx.Client, scope: Any) -> None:
    entity_id = create(client, _entity(scope=scope))
    assert client.get(entity_path(entity_id)).json()["scope"] == scope


@pytest.mark.parametrize("body", BAD_ENTITIES[9:])
def test_bad_attributes_appended_change_nothing(client: httpx.Client, entity: str, body: dict[str, Any]) -> None:
    """The same attributes given to Append Attributes: all or nothing, the good attribute is not kept either."""
    before = client.get(entity_path(entity), params={"options": "sysAttrs"}).json()
    fragment = {key: value for key, value in body.items() if key not in ("id", "type")}
    response = client.post(f"{entity_path(entity)}/attrs", json={"colour": "grey", **fragment})
    assert_problem(response, 400, "BadRequestData")
    assert client.get(entity_path(entity), params={"options": "sysAttrs"}).json() == before


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        pytest.param("POST", "/attrs", [1, 2], id="append-array"),
        pytest.param("POST", "/attrs", "text", id="append-string"),
        pytest.param("PATCH", "/attrs", 7, id="update-number"),
        pytest.param("PATCH", "/attrs", {"fillingLevel": 1, "colour": {"type": "Relationship"}}, id="update-mixed"),
        pytest.param("PATCH", "/attrs/fillingLevel", {"value": 1, "datasetId": "gps"}, id="partial-dataset-id"),
        pytest.param("PATCH", "/attrs/fillingLevel", {"value": 1, "sub": {"type": "Nope"}}, id="partial-sub"),
        pytest.param("PUT", "/attrs/fillingLevel", {"type": "GeoProperty", "value": {"type": "Point"}}, id="put-geo"),
        pytest.param("PUT", "/attrs/fillingLevel", {"type": "Property", "value": 2, "datasetId": 3}, id="put-ds"),
        pytest.param("PATCH", "", {"fillingLevel": {"type": "Property", "value": {"type": "Point"}}, "a b": 1},
                     id="merge-mixed"),
        pytest.param("PUT", "", {"type": "WasteBin", "fillingLevel": None}, id="replace-null"),
    ],
)
def test_bad_writes_are_4xx_and_change_nothing(
    client: httpx.Client, entity: str, method: str, suffix: str, body: Any
) -> None:
    before = client.get(entity_path(entity), params={"options": "sysAttrs"}).json()
    response = client.request(method, entity_path(entity) + suffix, json=body)
    assert 400 <= response.status_code < 500, response.text
    assert_problem(response, response.status_code, response.json()["type"].rsplit("/", 1)[-1])
    assert client.get(entity_path(entity), params={"options": "sysAttrs"}).json() == before

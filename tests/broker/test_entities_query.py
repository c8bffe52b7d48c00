"""GET /entities: Query Entities (clauses 5.7.2, 6.4.3.2), with type selection (4.17) and pagination (5.5.9)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.broker.entity_helpers import assert_problem, create, unique_type
from tests.conftest import link, unique_id


def _query(client: httpx.Client, **params: str) -> list[dict[str, Any]]:
    response = client.get("/entities", params=params)
    assert response.status_code == 200, response.text
    entities: list[dict[str, Any]] = response.json()
    return entities


def _ids(client: httpx.Client, **params: str) -> set[str]:
    return {entity["id"] for entity in _query(client, **params)}


@pytest.fixture
def typed(client: httpx.Client) -> dict[str, Any]:
    """Four entities of fresh types A, B and C: one A, one B, one both A and B, one C."""
    base = unique_type()
    names = {kind: base + kind for kind in "ABC"}
    made = {
        "a": create(client, {"id": unique_id("A"), "type": names["A"], "size": 1}),
        "b": create(client, {"id": unique_id("B"), "type": names["B"], "colour": "red"}),
        "ab": create(client, {"id": unique_id("AB"), "type": [names["A"], names["B"]], "size": 2, "colour": "blue"}),
        "c": create(client, {"id": unique_id("C"), "type": names["C"], "size": 3}),
    }
    return {"names": names, **made}


def _expr(typed: dict[str, Any], text: str) -> str:
    return "".join(typed["names"].get(char, char) for char in text)


@pytest.mark.parametrize(
    "expression, expected",
    [
        ("A", {"a", "ab"}),
        ("B", {"b", "ab"}),
        ("A,C", {"a", "ab", "c"}),
        ("A|C", {"a", "ab", "c"}),
        ("(A)", {"a", "ab"}),
        ("(A;B)", {"ab"}),
        ("(B;A)", {"ab"}),
        ("(A;B),C", {"ab", "c"}),
        ("(A;B)|C", {"ab", "c"}),
        ("(A;C)|(B;C)", set()),
    ],
)
def test_type_expressions(client: httpx.Client, typed: dict[str, Any], expression: str, expected: set[str]) -> None:
    assert _ids(client, type=_expr(typed, expression)) == {typed[key] for key in expected}


@pytest.mark.parametrize("expression", ["A;", "(A", "(A;B", "A)", "A,,B", "A;;B", "()", "A B", "A=B", ";A"])
def test_invalid_type_expressions_are_bad_request_data(
    client: httpx.Client, typed: dict[str, Any], expression: str
) -> None:
    response = client.get("/entities", params={"type": _expr(typed, expression)})
    assert_problem(response, 400, "BadRequestData")


def test_query_renders_every_entity_in_full(client: httpx.Client, typed: dict[str, Any]) -> None:
    entities = _query(client, type=typed["names"]["C"])
    assert entities == [{"id": typed["c"], "type": typed["names"]["C"], "size": {"type": "Property", "value": 3}}]


def test_query_by_id_list(client: httpx.Client, typed: dict[str, Any]) -> None:
    names = typed["names"]
    ids = f"{typed['a']},{typed['c']},{unique_id('Nobody')}"
    assert _ids(client, id=ids, type=f"{names['A']},{names['C']}") == {typed["a"], typed["c"]}
    assert _ids(client, id=ids, type=names["A"]) == {typed["a"]}


def test_query_by_id_pattern(client: httpx.Client, typed: dict[str, Any]) -> None:
    type_list = ",".join(typed["names"].values())
    assert _ids(client, idPattern="^urn:ngsi-ld:A", type=type_list) == {typed["a"], typed["ab"]}
    assert _ids(client, idPattern="AB:", type=type_list) == {typed["ab"]}
    assert _ids(client, idPattern="^nothing", type=type_list) == set()


def test_query_by_attrs_selects_and_projects(client: httpx.Client, typed: dict[str, Any]) -> None:
    type_list = ",".join(typed["names"].values())
    entities = _query(client, type=type_list, attrs="colour")
    assert {entity["id"] for entity in entities} == {typed["b"], typed["ab"]}
    for entity in entities:
        assert set(entity) == {"id", "type", "colour"}


def test_query_by_attrs_alone(client: httpx.Client) -> None:
    attribute = unique_type()
    with_it = create(client, {"id": unique_id(), "type": "Thing", attribute: 1, "other": 2})
    create(client, {"id": unique_id(), "type": "Thing", "other": 2})
    expected = {"id": with_it, "type": "Thing", attribute: {"type": "Property", "value": 1}}
    assert _query(client, attrs=attribute) == [expected]


def test_query_with_a_user_context_expands_types_and_attributes(client: httpx.Client, context_server: Any) -> None:
    name = unique_type()
    context_server.documents["/query.jsonld"] = {"@context": {
        "Car": f"https://example.org/{name}/Car", "speed": f"https://example.org/{name}/speed",
    }}
    context = link(context_server.url("/query.jsonld"))
    car = create(client, {"id": unique_id("Car"), "type": "Car", "speed": 5}, headers=context)
    response = client.get("/entities", params={"type": "Car", "attrs": "speed"}, headers=context)
    assert response.json() == [{"id": car, "type": "Car", "speed": {"type": "Property", "value": 5}}]
    assert _ids(client, type=f"https://example.org/{name}/Car") == {car}
    assert _query(client, type=f"https://example.org/{name}/Car", options="keyValues") == [
        {"id": car, "type": f"https://example.org/{name}/Car", f"https://example.org/{name}/speed": 5},
    ]


def test_query_that_matches_nothing_is_an_empty_array(client: httpx.Client) -> None:
    response = client.get("/entities", params={"type": unique_type()})
    assert response.status_code == 200
    assert response.json() == []


# --- restrictions (5.7.2.4, Table 6.4.3.2-1) ---


@pytest.mark.parametrize(
    "params",
    [
        pytest.param({}, id="nothing"),
        pytest.param({"id": "urn:ngsi-ld:Vehicle:1"}, id="id-only"),
        pytest.param({"idPattern": ".*"}, id="idPattern-only"),
        pytest.param({"options": "keyValues", "limit": "5"}, id="representation-only"),
        pytest.param({"attrs": "createdAt,modifiedAt"}, id="system-attrs-only"),
        pytest.param({"type": "*", "local": "false"}, id="all-types-not-local"),
    ],
)
def test_query_without_a_restriction_is_bad_request_data(client: httpx.Client, params: dict[str, str]) -> None:
    assert_problem(client.get("/entities", params=params), 400, "BadRequestData")


def test_query_of_local_scope_needs_no_other_restriction(client: httpx.Client) -> None:
    entity = create(client, {"id": unique_id(), "type": unique_type()})
    assert _ids(client, id=entity, local="true") == {entity}
    assert _ids(client, id=entity, type="*") == {entity}
    assert _ids(client, idPattern=f"^{entity}$", local="true") == {entity}


@pytest.mark.parametrize(
    "params",
    [
        pytest.param({"type": "Vehicle", "id": "urn:ngsi-ld:Vehicle:1,not a uri"}, id="id-not-uri"),
        pytest.param({"type": "Vehicle", "id": "urn:ngsi-ld:Vehicle:1,"}, id="id-empty-item"),
        pytest.param({"type": "Vehicle", "idPattern": "urn:(unclosed"}, id="idPattern-invalid"),
        pytest.param({"type": "Vehicle", "limit": "-1"}, id="limit-negative"),
        pytest.param({"type": "Vehicle", "limit": "ten"}, id="limit-not-number"),
        pytest.param({"type": "Vehicle", "offset": "-3"}, id="offset-negative"),
        pytest.param({"type": "Vehicle", "count": "yes"}, id="count-not-boolean"),
        pytest.param({"type": "Vehicle", "local": "yes"}, id="local-not-boolean"),
        pytest.param({"type": "Vehicle", "limit": "0"}, id="limit-zero-without-count"),
        pytest.param({"type": "Vehicle", "limit": "0", "count": "false"}, id="limit-zero-count-false"),
        pytest.param({"type": "Vehicle", "geometryProperty": "location"}, id="geometryProperty-without-geojson"),
        pytest.param({"attrs": 'speed,a"b'}, id="attrs-invalid-name"),
        pytest.param({"type": "Vehicle", "pick": "id,a b"}, id="pick-invalid-name"),
        pytest.param({"type": "Vehicle", "omit": "a=b"}, id="omit-invalid-name"),
        pytest.param({"type": "Vehicle", "pick": "id", "omit": "type"}, id="pick-and-omit"),
    ],
)
def test_query_with_bad_parameters_is_bad_request_data(client: httpx.Client, params: dict[str, str]) -> None:
    assert_problem(client.get("/entities", params=params), 400, "BadRequestData")


# --- pagination and counting (5.5.9, 6.3.10, 6.3.13) ---


@pytest.fixture
def five(client: httpx.Client) -> tuple[str, list[str]]:
    entity_type = unique_type()
    ids = [create(client, {"id": unique_id(), "type": entity_type, "n": n}) for n in range(5)]
    return entity_type, ids


def test_limit_and_offset_page_through_every_entity_once(client: httpx.Client, five: tuple[str, list[str]]) -> None:
    entity_type, ids = five
    pages = [_query(client, type=entity_type, limit="2", offset=str(offset)) for offset in (0, 2, 4)]
    assert [len(page) for page in pages] == [2, 2, 1]
    seen = [entity["id"] for page in pages for entity in page]
    assert sorted(seen) == sorted(ids)
    assert _query(client, type=entity_type, limit="2", offset="5") == []


def test_count_gives_the_total_whatever_the_page(client: httpx.Client, five: tuple[str, list[str]]) -> None:
    entity_type, _ = five
    response = client.get("/entities", params={"type": entity_type, "limit": "2", "count": "true"})
    assert response.status_code == 200
    assert len(response.json()) == 2
    assert response.headers["NGSILD-Results-Count"] == "5"
    response = client.get("/entities", params={"type": entity_type, "offset": "4", "count": "true"})
    assert len(response.json()) == 1
    assert response.headers["NGSILD-Results-Count"] == "5"


def test_no_count_header_unless_asked(client: httpx.Client, five: tuple[str, list[str]]) -> None:
    entity_type, _ = five
    assert "NGSILD-Results-Count" not in client.get("/entities", params={"type": entity_type}).headers
    response = client.get("/entities", params={"type": entity_type, "count": "false"})
    assert "NGSILD-Results-Count" not in response.headers


def test_limit_zero_with_count_gives_only_the_count(client: httpx.Client, five: tuple[str, list[str]]) -> None:
    entity_type, _ = five
    response = client.get("/entities", params={"type": entity_type, "limit": "0", "count": "true"})
    assert response.status_code == 200
    assert response.json() == []
    assert response.headers["NGSILD-Results-Count"] == "5"


def test_default_page_size_is_twenty(client: httpx.Client) -> None:
    entity_type = unique_type()
    for _ in range(21):
        create(client, {"id": unique_id(), "type": entity_type})
    assert len(_query(client, type=entity_type)) == 20


def test_limit_above_the_maximum_is_too_many_results(client: httpx.Client) -> None:
    response = client.get("/entities", params={"type": unique_type(), "limit": "1001"})
    body = assert_problem(response, 403, "TooManyResults")
    assert "1000" in body["detail"]
    assert client.get("/entities", params={"type": unique_type(), "limit": "1000"}).status_code == 200


# --- representations of the result ---


def test_query_as_json_ld_puts_a_context_in_every_entity(client: httpx.Client, typed: dict[str, Any]) -> None:
    response = client.get("/entities", params={"type": typed["names"]["A"]}, headers={"Accept": "application/ld+json"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/ld+json"
    entities = response.json()
    assert len(entities) == 2
    assert all("ngsi-ld-core-context" in str(entity["@context"]) for entity in entities)


def test_query_as_geojson_is_a_feature_collection(client: httpx.Client) -> None:
    entity_type = unique_type()
    point = {"type": "Point", "coordinates": [4.47, 51.02]}
    placed = create(client, {"id": unique_id(), "type": entity_type, "location": point, "size": 1})
    unplaced = create(client, {"id": unique_id(), "type": entity_type, "size": 2})
    response = client.get("/entities", params={"type": entity_type, "options": "keyValues"},
                          headers={"Accept": "application/geo+json"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/geo+json"
    collection = response.json()
    assert collection["type"] == "FeatureCollection"
    assert "ngsi-ld-core-context" in str(collection["@context"])
    features = {feature["id"]: feature for feature in collection["features"]}
    assert features == {
        placed: {"id": placed, "type": "Feature", "geometry": point,
                 "properties": {"type": entity_type, "location": point, "size": 1}},
        unplaced: {"id": unplaced, "type": "Feature", "geometry": None,
                   "properties": {"type": entity_type, "size": 2}},
    }
    assert all("@context" not in feature for feature in collection["features"])


def test_query_as_geojson_with_a_geometry_property(client: httpx.Client) -> None:
    entity_type = unique_type()
    parked = {"type": "Point", "coordinates": [4.35, 52.01]}
    location = {"type": "Point", "coordinates": [1, 2]}
    entity = create(client, {"id": unique_id(), "type": entity_type, "location": location, "parkedAt": parked})
    response = client.get("/entities", params={"type": entity_type, "geometryProperty": "parkedAt"},
                          headers={"Accept": "application/geo+json"})
    assert [(feature["id"], feature["geometry"]) for feature in response.json()["features"]] == [(entity, parked)]


def test_query_pick_and_omit(client: httpx.Client, typed: dict[str, Any]) -> None:
    names = typed["names"]
    picked = _query(client, type=names["C"], pick="id,size", options="keyValues")
    assert picked == [{"id": typed["c"], "size": 3}]
    omitted = _query(client, type=names["C"], omit="id,type", options="keyValues")
    assert omitted == [{"size": 3}]


def test_query_lang_picks_one_language_of_each_language_property(client: httpx.Client) -> None:
    street_type = unique_type()
    names = {"nl": "Grote Markt", "fr": "Grand-Place"}
    create(client, {"id": unique_id(), "type": street_type, "name": {"type": "LanguageProperty", "languageMap": names}})
    assert _query(client, type=street_type, lang="fr", options="keyValues")[0]["name"] == "Grand-Place"
    normalized = _query(client, type=street_type, lang="nl")[0]["name"]
    assert normalized == {"type": "Property", "value": "Grote Markt", "lang": "nl"}
    assert _query(client, type=street_type)[0]["name"]["languageMap"] == names

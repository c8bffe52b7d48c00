"""q, scopeQ and geo-queries through the HTTP API, on GET /entities and POST /entityOperations/query."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

CASES = json.loads((Path(__file__).parent.parent / "query_cases" / "q.json").read_text())
GEO_CASES = json.loads((Path(__file__).parent.parent / "query_cases" / "geo.json").read_text())
ERRORS = "https://uri.etsi.org/ngsi-ld/errors/"


def tenant_client(client: httpx.Client) -> httpx.Client:
    client.headers["NGSILD-Tenant"] = f"q{uuid.uuid4().hex[:12]}"
    return client


def tenant_holding(broker: Any, entities: list[dict[str, Any]]) -> Iterator[httpx.Client]:
    """A client of a fresh tenant in which `entities` were created, in order."""
    with httpx.Client(base_url=broker.url + "/ngsi-ld/v1", timeout=10) as http:
        tenant_client(http)
        for entity in entities:
            assert http.post("/entities", json=entity).status_code == 201
        yield http


@pytest.fixture(scope="module")
def cars(broker: Any) -> Iterator[httpx.Client]:
    """A tenant holding the entities of the shared q cases."""
    yield from tenant_holding(broker, CASES["given"])


def ids(answer: httpx.Response) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [entity["id"] for entity in answer.json()]


@pytest.mark.parametrize("case", CASES["cases"], ids=[case["q"] for case in CASES["cases"]])
def test_q_cases_on_get(cars: httpx.Client, case: dict[str, Any]) -> None:
    answer = cars.get("/entities", params={"type": "Car", "q": case["q"]})
    if "error" in case:
        assert answer.status_code == 400
        assert answer.json()["type"] == ERRORS + case["error"]
        return
    assert ids(answer) == case["result"]


def test_q_alone_is_a_restriction_and_counts(cars: httpx.Client) -> None:
    answer = cars.get("/entities", params={"q": "speed>50", "count": "true", "limit": 1})
    assert len(ids(answer)) == 1
    assert answer.headers["NGSILD-Results-Count"] == "2"


def test_q_with_a_user_context(client: httpx.Client, context_server: Any) -> None:
    tenant_client(client)
    context_server.documents["/q-context.jsonld"] = {"@context": {"speed": "https://example.org/v#speed"}}
    link = {"Link": f'<{context_server.url("/q-context.jsonld")}>; rel="http://www.w3.org/ns/json-ld#context"'}
    fast = client.post("/entities", json={"id": "urn:x:fast", "type": "T", "speed": 90}, headers=link)
    assert fast.status_code == 201
    assert client.post("/entities", json={"id": "urn:x:slow", "type": "T", "speed": 5}).status_code == 201
    assert ids(client.get("/entities", params={"q": "speed>50"}, headers=link)) == ["urn:x:fast"]
    assert ids(client.get("/entities", params={"q": "speed>1"})) == ["urn:x:slow"]


def test_scope_q(client: httpx.Client) -> None:
    tenant_client(client)
    for number, scope in enumerate([["/Mechelen/Centrum"], ["/Mechelen/Noord", "/Parking"], ["/Brugge"]]):
        body = {"id": f"urn:x:{number}", "type": "T", "scope": scope}
        assert client.post("/entities", json=body).status_code == 201
    def query(scope_q: str) -> list[str]:
        return ids(client.get("/entities", params={"type": "T", "scopeQ": scope_q}))
    assert query("/Mechelen/#") == ["urn:x:0", "urn:x:1"]
    assert query("/+/Noord") == ["urn:x:1"]
    assert query("/Mechelen/Noord;/Parking") == ["urn:x:1"]
    assert query("/Brugge|/Mechelen/Centrum") == ["urn:x:0", "urn:x:2"]
    assert query("/#") == ["urn:x:0", "urn:x:1", "urn:x:2"]
    bad = client.get("/entities", params={"type": "T", "scopeQ": "Mechelen"})
    assert bad.status_code == 400 and "position" in bad.json()["detail"]


def parking(number: int, lon: float, lat: float, **extra: Any) -> dict[str, Any]:
    return {"id": f"urn:ngsi-ld:OffStreetParking:{number}", "type": "OffStreetParking",
            "location": {"type": "Point", "coordinates": [lon, lat]}, **extra}


@pytest.fixture(scope="module")
def parkings(broker: Any) -> Iterator[httpx.Client]:
    yield from tenant_holding(broker, [
        parking(1, 4.4900, 51.0300),  # ~1.1 km from the query point
        parking(2, 4.4780, 51.0262),  # ~40 m
        parking(3, 4.4000, 51.0000),  # ~6 km
        parking(4, 3.2247, 51.2093, entrance={"type": "GeoProperty",
                                              "value": {"type": "Point", "coordinates": [4.4778, 51.0260]}}),
    ])


NEAR = {"type": "OffStreetParking", "geometry": "Point", "coordinates": "[4.4777,51.0259]"}


def test_near_max_distance_is_ordered_by_distance(parkings: httpx.Client) -> None:
    answer = parkings.get("/entities", params={**NEAR, "georel": "near;maxDistance==2000"})
    assert ids(answer) == ["urn:ngsi-ld:OffStreetParking:2", "urn:ngsi-ld:OffStreetParking:1"]


def test_near_min_distance(parkings: httpx.Client) -> None:
    answer = parkings.get("/entities", params={**NEAR, "georel": "near;minDistance==2000"})
    assert ids(answer) == ["urn:ngsi-ld:OffStreetParking:3", "urn:ngsi-ld:OffStreetParking:4"]


def test_within_a_polygon_and_geoproperty(parkings: httpx.Client) -> None:
    box = "[[[4.45,51.02],[4.50,51.02],[4.50,51.04],[4.45,51.04],[4.45,51.02]]]"
    params = {"type": "OffStreetParking", "georel": "within", "geometry": "Polygon", "coordinates": box}
    assert ids(parkings.get("/entities", params=params)) == ["urn:ngsi-ld:OffStreetParking:1",
                                                             "urn:ngsi-ld:OffStreetParking:2"]
    by_entrance = parkings.get("/entities", params={**params, "geoproperty": "entrance"})
    assert ids(by_entrance) == ["urn:ngsi-ld:OffStreetParking:4"]


def test_geo_query_alone_is_a_restriction(parkings: httpx.Client) -> None:
    answer = parkings.get("/entities", params={"georel": "near;maxDistance==100", "geometry": "Point",
                                               "coordinates": "[4.4777,51.0259]"})
    assert ids(answer) == ["urn:ngsi-ld:OffStreetParking:2"]


def test_geo_query_as_geojson(parkings: httpx.Client) -> None:
    answer = parkings.get("/entities", params={**NEAR, "georel": "near;maxDistance==100"},
                          headers={"Accept": "application/geo+json"})
    collection = answer.json()
    assert collection["type"] == "FeatureCollection"
    assert [f["geometry"]["coordinates"] for f in collection["features"]] == [[4.478, 51.0262]]


@pytest.fixture(scope="module")
def zones(broker: Any) -> Iterator[httpx.Client]:
    """A tenant holding the entities of the shared geo-query cases, one per geometry type."""
    yield from tenant_holding(broker, GEO_CASES["given"])


@pytest.mark.parametrize("case", GEO_CASES["cases"], ids=[f"{c['georel']} {c['geometry']}" for c in GEO_CASES["cases"]])
def test_geo_cases_on_get_and_post_query(zones: httpx.Client, case: dict[str, Any]) -> None:
    geo_q = {"georel": case["georel"], "geometry": case["geometry"], "coordinates": case["coordinates"]}
    on_get = zones.get("/entities", params={**geo_q, "coordinates": json.dumps(case["coordinates"])})
    assert ids(on_get) == case["result"]
    on_post = post_query(zones, {"type": "Query", "geoQ": geo_q}, count="true")
    assert ids(on_post) == case["result"]
    assert on_post.headers["NGSILD-Results-Count"] == str(len(case["result"]))


@pytest.mark.parametrize("params", [
    {"georel": "near;maxDistance==100", "geometry": "Point"},
    {"georel": "near", "geometry": "Point", "coordinates": "[4,51]"},
    {"georel": "within", "geometry": "Point", "coordinates": "[4,"},
    {"georel": "crosses", "geometry": "Point", "coordinates": "[4,51]"},
])
def test_bad_geo_queries(parkings: httpx.Client, params: dict[str, str]) -> None:
    answer = parkings.get("/entities", params={"type": "OffStreetParking", **params})
    assert answer.status_code == 400
    assert answer.json()["type"] == ERRORS + "BadRequestData"


def post_query(http: httpx.Client, body: dict[str, Any], **params: str) -> httpx.Response:
    return http.post("/entityOperations/query", json=body, params=params)


def test_post_query_with_selectors_q_and_attrs(cars: httpx.Client) -> None:
    selectors = [{"type": "Car", "idPattern": ":1$"}, {"id": "urn:ngsi-ld:Car:3", "type": "Car"}]
    body = {"type": "Query", "entities": selectors, "q": "speed>5", "attrs": ["speed"]}
    answer = post_query(cars, body, count="true", format="keyValues")
    assert answer.status_code == 200, answer.text
    assert answer.json() == [{"id": "urn:ngsi-ld:Car:1", "type": "Car", "speed": 80},
                             {"id": "urn:ngsi-ld:Car:3", "type": "Car", "speed": 10.5}]
    assert answer.headers["NGSILD-Results-Count"] == "2"


def test_post_query_with_geo_q(parkings: httpx.Client) -> None:
    body = {"type": "Query", "entities": [{"type": "OffStreetParking"}],
            "geoQ": {"georel": "near;maxDistance==2000", "geometry": "Point", "coordinates": [4.4777, 51.0259]}}
    assert ids(post_query(parkings, body)) == ["urn:ngsi-ld:OffStreetParking:2", "urn:ngsi-ld:OffStreetParking:1"]


def test_post_query_pages(cars: httpx.Client) -> None:
    body = {"type": "Query", "entities": [{"type": "Car"}]}
    first = ids(post_query(cars, body, limit="2"))
    rest = ids(post_query(cars, body, limit="2", offset="2"))
    assert first + rest == ["urn:ngsi-ld:Car:1", "urn:ngsi-ld:Car:2", "urn:ngsi-ld:Car:3"]


@pytest.mark.parametrize("body", [
    {"entities": [{"type": "Car"}]},
    {"type": "Subscription", "entities": [{"type": "Car"}]},
    {"type": "Query"},
    {"type": "Query", "entities": []},
    {"type": "Query", "entities": [{"type": "Car", "color": "red"}]},
    {"type": "Query", "entities": [{"id": "not a uri", "type": "Car"}]},
    {"type": "Query", "entities": [{"type": "Car"}], "q": "speed>"},
    {"type": "Query", "entities": [{"type": "Car"}], "q": 5},
    {"type": "Query", "entities": [{"type": "Car"}], "geoQ": {"georel": "within"}},
    {"type": "Query", "entities": [{"type": "Car"}], "attrs": "speed"},
    {"type": "Query", "entities": [{"type": "Car"}], "unknown": 1},
])
def test_post_query_bad_bodies(cars: httpx.Client, body: Any) -> None:
    answer = post_query(cars, body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["type"] == ERRORS + "BadRequestData"

"""Odd input never makes the broker fail: random payloads and parameters get a 2xx or a 4xx ProblemDetails."""

from __future__ import annotations

from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import unique_id

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
attribute_names = st.sampled_from(["speed", "location", "type", "id", "@context", "scope", "value", "a b", "x"])
attribute_bodies = st.dictionaries(
    st.sampled_from(["type", "value", "object", "languageMap", "vocab", "json", "valueList", "objectList",
                     "datasetId", "observedAt", "unitCode", "objectType", "sub"]),
    json_values | st.sampled_from(["Property", "Relationship", "GeoProperty", "urn:ngsi-ld:null", "urn:x:1",
                                   {"type": "Point", "coordinates": [1, 2]}]),
    max_size=4,
)
entity_bodies = st.fixed_dictionaries(
    {"id": st.sampled_from(["urn:ngsi-ld:T:fuzz", "not a uri", 7, None]),
     "type": st.sampled_from(["T", ["T", "U"], "", 3, "a;b"])},
    optional={"scope": json_values, "@context": json_values},
).flatmap(lambda base: st.dictionaries(attribute_names, attribute_bodies | json_values, max_size=3).map(
    lambda attrs: {**attrs, **base}))

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def assert_clean(answer: httpx.Response) -> None:
    assert answer.status_code < 500, answer.text
    if answer.status_code >= 400 and answer.status_code != 415:
        problem = answer.json()
        assert problem["type"].startswith("https://uri.etsi.org/ngsi-ld/errors/")
        assert problem["detail"]


@SETTINGS
@given(body=entity_bodies | json_values)
def test_create_with_random_bodies(client: httpx.Client, body: Any) -> None:
    answer = client.post("/entities", json=body)
    assert_clean(answer)
    if answer.status_code == 201:
        assert client.delete(f"/entities/{body['id']}").status_code == 204


@SETTINGS
@given(fragment=st.dictionaries(attribute_names, attribute_bodies | json_values, max_size=3) | json_values,
       method=st.sampled_from(
           ["POST /attrs", "PATCH /attrs", "PATCH", "PUT", "PATCH /attrs/speed", "PUT /attrs/speed"]))
def test_updates_with_random_fragments(client: httpx.Client, fragment: Any, method: str) -> None:
    entity_id = unique_id("Fuzz")
    body = {"id": entity_id, "type": "Fuzz", "speed": {"type": "Property", "value": 1}}
    created = client.post("/entities", json=body)
    assert created.status_code == 201
    before = client.get(f"/entities/{entity_id}").json()
    verb, _, suffix = method.partition(" ")
    answer = client.request(verb, f"/entities/{entity_id}{suffix}", json=fragment)
    assert_clean(answer)
    if answer.status_code >= 400:
        assert client.get(f"/entities/{entity_id}").json() == before, "a rejected write changed the entity"


@SETTINGS
@given(params=st.dictionaries(
    st.sampled_from(["type", "id", "idPattern", "attrs", "pick", "omit", "limit", "offset", "count", "options",
                     "format", "lang", "geometryProperty", "local"]),
    st.text(max_size=10) | st.sampled_from(["T", "*", "(A;B)|C", "keyValues", "true", "0", "-1", "1001", "[",
                                            "urn:x:1,urn:x:2"]),
    max_size=4,
), accept=st.sampled_from(["application/json", "application/ld+json", "application/geo+json", "*/*", "text/html"]))
def test_queries_with_random_parameters(client: httpx.Client, params: dict[str, str], accept: str) -> None:
    assert_clean(client.get("/entities", params=params, headers={"Accept": accept}))
    assert_clean(client.get("/entities/urn:ngsi-ld:T:nothing", params=params, headers={"Accept": accept}))


@SETTINGS
@given(bodies=st.lists(entity_bodies | json_values, max_size=4) | json_values,
       operation=st.sampled_from(["create", "upsert", "update", "merge", "delete"]),
       options=st.sampled_from([None, "update", "replace", "noOverwrite", "x"]))
def test_batches_with_random_bodies(client: httpx.Client, bodies: Any, operation: str, options: str | None) -> None:
    params = {} if options is None else {"options": options}
    answer = client.post(f"/entityOperations/{operation}", json=bodies, params=params)
    assert_clean(answer)
    if answer.status_code == 207:
        result = answer.json()
        assert set(result) == {"success", "errors"} and result["errors"]
    client.post("/entityOperations/delete", json=["urn:ngsi-ld:T:fuzz"])


@SETTINGS
@given(params=st.dictionaries(
    st.sampled_from(["type", "id", "idPattern", "attrs", "q", "scopeQ", "georel", "geometry", "coordinates", "local"]),
    st.text(max_size=10) | st.sampled_from(["Nothing", "(A;B)|C", "speed>1", "true", "near;maxDistance==1", "["]),
    max_size=4,
))
def test_purges_with_random_parameters(client: httpx.Client, params: dict[str, str]) -> None:
    tenant = {"NGSILD-Tenant": "fuzz-purge"}  # a purge must not reach the entities of other tests
    fuzz = {"id": "urn:ngsi-ld:T:fuzz", "type": "T", "speed": 2}
    assert client.post("/entityOperations/upsert", json=[fuzz], headers=tenant).status_code in (201, 204)
    assert_clean(client.delete("/entities", params=params, headers=tenant))

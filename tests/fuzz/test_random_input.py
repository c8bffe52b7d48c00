"""Random input to a broker process: random strings to every parser that a request reaches (q, scopeQ, the
geo-query, type expressions, attrs/pick/omit/orderBy, datetimes, the @context Link header, the tenant, entity
ids and the other path segments, the entity, attribute, query and subscription readers) and random JSON to
every endpoint that reads a body. Only a success or a 4xx ProblemDetails (application/json) may come out:
never a 5xx, never an error body that is not JSON (411 and 415 have none, clause 6.3.4).

Bounded and derandomized, so that a run is fast and repeatable. On SQLite only: what is tested is how the
broker reads requests, before any store sees them (the stores' own handling of odd values is
tests/store/test_differential.py's).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broker.openapi import OPERATIONS
from tests.conftest import API, CONTEXT_REL, BrokerProcess

ERRORS = "https://uri.etsi.org/ngsi-ld/errors/"
ENTITY = "urn:ngsi-ld:Fuzz:1"
SUBSCRIPTION = "urn:ngsi-ld:Subscription:fuzz"
CORE = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"

SETTINGS = settings(max_examples=50, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

_TOKENS = [*"()|;,=!<>~.\"'[]{}:/*@#%&+-^$\\ 0123456789aZ_", "==", "!=", ">=", "<=", "~=", "!~=", "..", "speed",
           "name", "type", "urn:x:1", "2024-01-01T00:00:00Z", "true", "null", "near", "maxDistance", "within",
           "Point", "location", "[1,2]", "[[0,0],[1,1]]", "asc", "desc", "\x00", "\n", "é", "\U0001f600"]
texts = st.one_of(st.text(max_size=40), st.lists(st.sampled_from(_TOKENS), max_size=25).map("".join))
"""Strings that are random, or made of the pieces of the query languages so that parsers go deep."""

header_texts = st.one_of(
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=60),
    st.lists(st.sampled_from(["<", ">", ";", ",", " ", '"', "=", "rel", "type", "urn:x", CONTEXT_REL, CORE,
                              "application/ld+json", "http://www.w3.org/ns/json-ld#context"]),
             max_size=12).map("".join),
).map(str.strip)
"""Header values that an HTTP client can send (no control characters)."""

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | texts,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(texts, children, max_size=4),
    max_leaves=15,
)

_ATTRIBUTE_MEMBERS = ["type", "value", "object", "languageMap", "vocab", "json", "valueList", "objectList",
                      "datasetId", "observedAt", "unitCode", "objectType", "createdAt", "speed"]
attributes = st.dictionaries(st.sampled_from(_ATTRIBUTE_MEMBERS), json_values | st.sampled_from(
    ["Property", "Relationship", "GeoProperty", "LanguageProperty", "VocabProperty", "JsonProperty",
     "ListProperty", "ListRelationship", "urn:ngsi-ld:null", "2024-01-01T00:00:00Z",
     {"type": "Point", "coordinates": [1, 2]}]), max_size=4)
entities = st.fixed_dictionaries(
    {"id": st.sampled_from([ENTITY, "urn:ngsi-ld:Fuzz:2", "not a uri", 7, None]) | texts,
     "type": st.sampled_from(["Fuzz", ["Fuzz", "Other"], "", 3]) | texts},
    optional={"scope": json_values, "speed": attributes, "location": attributes, "@context": json_values},
)
_SUBSCRIPTION_MEMBERS = ["entities", "watchedAttributes", "q", "geoQ", "scopeQ", "expiresAt", "throttling",
                         "timeInterval", "isActive", "notification", "lang", "notificationTrigger", "csf",
                         "subscriptionName", "description", "jsonldContext", "datasetId", "temporalQ"]
subscriptions = st.fixed_dictionaries(
    {"type": st.just("Subscription") | texts, "id": st.just(SUBSCRIPTION) | texts},
    optional={name: json_values | texts for name in _SUBSCRIPTION_MEMBERS},
).map(lambda body: {**body, "notification": body.get("notification", {"endpoint": {"uri": "http://127.0.0.1:9"}})})
_QUERY_MEMBERS = ["entities", "attrs", "pick", "omit", "q", "geoQ", "csf", "scopeQ", "lang", "temporalQ"]
queries = st.fixed_dictionaries({"type": st.just("Query") | texts},
                                optional={name: json_values | texts for name in _QUERY_MEMBERS})


def assert_clean(response: httpx.Response) -> None:
    """A success, or a 4xx whose body is a ProblemDetails in application/json (411 and 415: no body)."""
    assert response.status_code < 500, response.text
    if response.status_code < 400:
        return
    if response.status_code in (411, 415):
        assert not response.content
        return
    assert response.headers["content-type"] == "application/json", response.text
    problem = response.json()
    assert problem["type"].startswith(ERRORS), problem
    assert problem["status"] == response.status_code
    assert isinstance(problem["title"], str) and isinstance(problem["detail"], str) and problem["detail"]


@pytest.fixture(scope="module")
def client(fuzzed_broker: BrokerProcess) -> Iterator[httpx.Client]:
    """A client of the module's broker, which holds the entity ENTITY (with an attribute `speed`) and the
    subscription SUBSCRIPTION, for the operations that change an existing one."""
    with httpx.Client(base_url=fuzzed_broker.url + API, timeout=10) as http:
        yield http


@pytest.fixture
def existing(client: httpx.Client) -> None:
    """ENTITY and SUBSCRIPTION exist (a random request may have deleted them)."""
    entity = {"id": ENTITY, "type": "Fuzz", "speed": {"type": "Property", "value": 1}}
    client.post("/entities", json=entity)
    subscription = {"id": SUBSCRIPTION, "type": "Subscription", "entities": [{"type": "Fuzz"}], "isActive": False,
                    "notification": {"endpoint": {"uri": "http://127.0.0.1:9/"}}}
    client.post("/subscriptions", json=subscription)


_ENTITY_QUERY_PARAMETERS = ["q", "scopeQ", "type", "id", "idPattern", "attrs", "pick", "omit", "orderBy", "lang",
                            "datasetId", "geometryProperty", "join", "joinLevel", "containedBy", "entityMap",
                            "limit", "offset", "count", "options", "format", "csf", "local", "georel", "geometry",
                            "coordinates", "geoproperty"]


@SETTINGS
@given(parameters=st.dictionaries(st.sampled_from(_ENTITY_QUERY_PARAMETERS), texts, min_size=1, max_size=3),
       with_type=st.booleans())
def test_random_query_parameters(client: httpx.Client, parameters: dict[str, str], with_type: bool) -> None:
    """The parsers of q, scopeQ, type expressions, attrs/pick/omit, orderBy and the others of Query Entities."""
    if with_type:
        parameters.setdefault("type", "Fuzz")
    assert_clean(client.get("/entities", params=parameters))


@SETTINGS
@given(georel=texts | st.sampled_from(["near;maxDistance==10", "near;minDistance==-1", "within", "intersects",
                                       "near;maxDistance==1e999", "equals", "disjoint", "overlaps", "contains"]),
       geometry=st.sampled_from(["Point", "LineString", "Polygon", "MultiPoint", "MultiPolygon",
                                 "MultiLineString"]) | texts,
       coordinates=texts | json_values.map(json.dumps),
       purge=st.booleans())
def test_random_geo_queries(client: httpx.Client, georel: str, geometry: str, coordinates: str, purge: bool) -> None:
    """The geo-query parser: georel, geometry and coordinates (as Query and as Purge Entities read them)."""
    parameters = {"georel": georel, "geometry": geometry, "coordinates": coordinates, "type": "NoSuchType"}
    assert_clean(client.request("DELETE" if purge else "GET", "/entities", params=parameters))


@SETTINGS
@given(body=queries | json_values, media_type=st.sampled_from(["application/json", "application/ld+json"]))
def test_random_query_bodies(client: httpx.Client, body: Any, media_type: str) -> None:
    """The reader of the Query body of POST /entityOperations/query."""
    if media_type == "application/ld+json" and isinstance(body, dict):
        body.setdefault("@context", CORE)
    assert_clean(client.post("/entityOperations/query", json=body, headers={"Content-Type": media_type}))


@SETTINGS
@given(observed_at=texts, deleted=st.sampled_from(["true", "false"]) | texts)
def test_random_datetimes_and_flags(client: httpx.Client, existing: None, observed_at: str, deleted: str) -> None:
    """The datetime parser (observedAt) and the boolean parameters."""
    fragment = {"speed": {"type": "Property", "value": 2, "observedAt": observed_at}}
    assert_clean(client.patch(f"/entities/{ENTITY}", json=fragment))
    assert_clean(client.patch(f"/entities/{ENTITY}", params={"observedAt": observed_at}, json={"speed": 3}))
    assert_clean(client.delete(f"/entities/{ENTITY}/attrs/nothing", params={"deleteAll": deleted}))


@settings(SETTINGS, max_examples=40)
@given(link=header_texts, tenant=st.none() | header_texts)
def test_random_link_and_tenant_headers(client: httpx.Client, link: str, tenant: str | None) -> None:
    """The readers of the @context Link header and of the NGSILD-Tenant header."""
    headers = {"Link": link.encode("latin-1")}
    if tenant is not None:
        headers["NGSILD-Tenant"] = tenant.encode("latin-1")
    assert_clean(client.get("/entities", params={"type": "Fuzz"}, headers=headers))
    assert_clean(client.post("/entities", json={"id": "urn:ngsi-ld:Fuzz:link", "type": "Fuzz"}, headers=headers))
    assert_clean(client.delete("/entities/urn:ngsi-ld:Fuzz:link", headers=headers))


_PATHS = ["/entities/{}", "/entities/{}/attrs", "/entities/urn:x:1/attrs/{}", "/types/{}", "/attributes/{}",
          "/subscriptions/{}", "/jsonldContexts/{}"]


@SETTINGS
@given(segment=texts, path=st.sampled_from(_PATHS), method=st.sampled_from(["GET", "DELETE", "PATCH", "PUT"]))
def test_random_ids_in_paths(client: httpx.Client, segment: str, path: str, method: str) -> None:
    """Entity ids, attribute names, types, subscription ids and @context ids, as path segments."""
    body = None if method in ("GET", "DELETE") else b"{}"
    headers = {"Content-Type": "application/json"}
    url = API + path.format(quote(segment, safe=""))
    assert_clean(client.request(method, client.base_url.copy_with(raw_path=url.encode()), content=body,
                                headers=headers))


_BODY_OPERATIONS = sorted((method, shape) for (method, shape), operation in OPERATIONS.items() if operation.body)
"""Every operation that reads a body, from the OpenAPI document's table of operations."""


def _path(shape: str) -> str:
    return shape.replace("/entities/{}/attrs/{}", f"/entities/{ENTITY}/attrs/speed").replace(
        "/entities/{}", f"/entities/{ENTITY}").replace("/subscriptions/{}", f"/subscriptions/{SUBSCRIPTION}")


@SETTINGS
@given(operation=st.sampled_from(_BODY_OPERATIONS),
       body=json_values | entities | subscriptions | st.lists(entities, min_size=1, max_size=3) | attributes,
       media_type=st.sampled_from(["application/json", "application/ld+json", "application/merge-patch+json"]))
def test_random_json_to_every_endpoint(client: httpx.Client, existing: None, operation: tuple[str, str], body: Any,
                                       media_type: str) -> None:
    """The entity, attribute, batch, query, subscription and @context readers, each with random JSON."""
    method, shape = operation
    assert_clean(client.request(method, _path(shape), json=body, headers={"Content-Type": media_type}))


@settings(SETTINGS, max_examples=30)
@given(operation=st.sampled_from(_BODY_OPERATIONS), body=st.binary(max_size=60))
def test_random_bytes_to_every_endpoint(client: httpx.Client, existing: None, operation: tuple[str, str],
                                        body: bytes) -> None:
    """A body that is not JSON (or is, by chance) never gets more than a 400."""
    method, shape = operation
    assert_clean(client.request(method, _path(shape), content=body, headers={"Content-Type": "application/json"}))


@settings(SETTINGS, max_examples=40)
@given(path=st.lists(st.sampled_from(["entities", "attrs", "types", "attributes", "subscriptions", "jsonldContexts",
                                      "entityOperations", "query", "temporal", "csourceRegistrations", "urn:x:1",
                                      "", "..", "%2F", "%00"]) | texts.map(lambda text: quote(text, safe="")),
                     max_size=4),
       method=st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]))
def test_random_paths_and_methods(client: httpx.Client, path: list[str], method: str) -> None:
    """A path or a method that the API does not have is a 404 or 405 ProblemDetails, as any other error."""
    url = API + "/" + "/".join(path)
    assert_clean(client.request(method, client.base_url.copy_with(raw_path=url.encode()), content=b"{}",
                                headers={"Content-Type": "application/json"}))

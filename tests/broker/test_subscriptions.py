"""The subscriptions API (clauses 5.8, 6.10, 6.11): create, query, retrieve, update, delete, and the checks
of clause 5.2.12 on what a subscription may hold."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.broker.entity_helpers import assert_problem
from tests.conftest import ContextServer, link

CORE_CONTEXT = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"
EXAMPLE = "https://example.org/vocab/"


def subscription(**members: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "Subscription", "entities": [{"type": "Car"}],
        "notification": {"endpoint": {"uri": "http://127.0.0.1:9/notify"}},
    }
    body.update(members)
    return body


def path(subscription_id: str) -> str:
    return f"/subscriptions/{quote(subscription_id, safe=':')}"


def create(client: httpx.Client, body: dict[str, Any], **kwargs: Any) -> str:
    answer = client.post("/subscriptions", json=body, **kwargs)
    assert answer.status_code == 201, answer.text
    location = answer.headers["location"]
    assert location.startswith("/ngsi-ld/v1/subscriptions/")
    return location.removeprefix("/ngsi-ld/v1/subscriptions/")


@pytest.fixture
def tenant(client: httpx.Client) -> httpx.Client:
    client.headers["NGSILD-Tenant"] = f"s{uuid.uuid4().hex[:12]}"
    return client


@pytest.fixture
def vocab(context_server: ContextServer) -> str:
    """An @context that maps Car, speed and location-like names into another vocabulary."""
    context_server.documents["/subscription-vocab.jsonld"] = {"@context": {
        "Car": f"{EXAMPLE}Car", "speed": f"{EXAMPLE}speed", "where": f"{EXAMPLE}where",
    }}
    return context_server.url("/subscription-vocab.jsonld")


def test_create_then_retrieve(client: httpx.Client) -> None:
    body = subscription(watchedAttributes=["speed"], q="speed>50", subscriptionName="fast cars",
                        description="Cars over 50", notification={
                            "attributes": ["speed"], "format": "keyValues",
                            "endpoint": {"uri": "http://127.0.0.1:9/notify", "accept": "application/json",
                                         "receiverInfo": [{"key": "X-Pilot", "value": "parking"}]}})
    subscription_id = create(client, body)
    assert subscription_id.startswith("urn:ngsi-ld:Subscription:")
    got = client.get(path(subscription_id))
    assert got.status_code == 200, got.text
    assert "ngsi-ld-core-context" in got.headers["link"]
    answer = got.json()
    assert answer["id"] == subscription_id and answer["type"] == "Subscription"
    assert answer["entities"] == [{"type": "Car"}]
    assert answer["watchedAttributes"] == ["speed"] and answer["q"] == "speed>50"
    assert answer["subscriptionName"] == "fast cars" and answer["description"] == "Cars over 50"
    assert answer["status"] == "active" and answer["isActive"] is True
    assert answer["notification"]["format"] == "keyValues"
    assert answer["notification"]["endpoint"]["receiverInfo"] == [{"key": "X-Pilot", "value": "parking"}]
    assert "createdAt" not in answer
    with_sys_attrs = client.get(path(subscription_id), params={"options": "sysAttrs"}).json()
    assert with_sys_attrs["createdAt"] <= with_sys_attrs["modifiedAt"]


def test_create_with_a_given_id_and_again_is_409(client: httpx.Client) -> None:
    subscription_id = f"urn:ngsi-ld:Subscription:{uuid.uuid4()}"
    assert create(client, subscription(id=subscription_id)) == subscription_id
    assert_problem(client.post("/subscriptions", json=subscription(id=subscription_id)), 409, "AlreadyExists")


def test_json_ld_body_keeps_its_context_but_answers_use_the_request_one(client: httpx.Client, vocab: str) -> None:
    body = {**subscription(watchedAttributes=["speed"]), "@context": [vocab, CORE_CONTEXT]}
    subscription_id = create(client, body, headers={"Content-Type": "application/ld+json"})
    answer = client.get(path(subscription_id), headers={"Accept": "application/ld+json", **link(vocab)}).json()
    assert answer["@context"] == vocab
    assert answer["watchedAttributes"] == ["speed"]
    core = client.get(path(subscription_id), headers={"Accept": "application/ld+json"}).json()
    assert core["@context"] == CORE_CONTEXT
    assert core["watchedAttributes"] == [f"{EXAMPLE}speed"]


def test_names_are_compacted_with_the_request_context(client: httpx.Client, vocab: str) -> None:
    """Clause 5.5.7: the @context of each request compacts (the core @context when it has none), not the one
    the subscription was written with: entity types, watched attributes, q, geoproperty, notification
    attributes, pick and omit."""
    members = dict(
        entities=[{"type": "Car"}, {"type": "(Car,Bus);Car"}], watchedAttributes=["speed", "colour"],
        q='speed>50;(where.observedAt>2024-01-01T00:00:00Z|colour=="speed");speed[a.b]==1',
        geoQ={"georel": "near;maxDistance==10", "geometry": "Point", "coordinates": [1, 2], "geoproperty": "where"},
        notification={"attributes": ["speed", "colour"], "pick": ["id", "speed"],
                      "endpoint": {"uri": "http://127.0.0.1:9/notify"}})
    subscription_id = create(client, subscription(**members), headers=link(vocab))
    same = client.get(path(subscription_id), headers=link(vocab)).json()
    assert {name: same[name] for name in ("entities", "watchedAttributes", "q", "geoQ")} == {
        **{name: members[name] for name in ("entities", "watchedAttributes", "q")},
        "geoQ": {**members["geoQ"], "coordinates": [1, 2]}}  # type: ignore[dict-item]
    assert same["notification"]["attributes"] == ["speed", "colour"] and same["notification"]["pick"] == [
        "id", "speed"]
    core = client.get(path(subscription_id)).json()
    assert core["entities"] == [{"type": f"{EXAMPLE}Car"}, {"type": f"({EXAMPLE}Car,Bus);{EXAMPLE}Car"}]
    assert core["watchedAttributes"] == [f"{EXAMPLE}speed", "colour"]
    assert core["q"] == (f'{EXAMPLE}speed>50;({EXAMPLE}where.observedAt>2024-01-01T00:00:00Z|colour=="speed");'
                         f"{EXAMPLE}speed[a.b]==1")
    assert core["geoQ"]["geoproperty"] == f"{EXAMPLE}where"
    assert core["notification"]["attributes"] == [f"{EXAMPLE}speed", "colour"]
    assert core["notification"]["pick"] == ["id", f"{EXAMPLE}speed"]
    assert "ngsi-ld-core-context" in client.get(path(subscription_id)).headers["link"]
    [listed] = [item for item in client.get("/subscriptions", params={"limit": 1000}).json()
                if item["id"] == subscription_id]
    assert listed["watchedAttributes"] == core["watchedAttributes"] and listed["q"] == core["q"]


def test_names_of_the_core_vocabulary_read_with_another_context_are_compact_iris(
        client: httpx.Client, vocab: str) -> None:
    """Written without @context, `speed` is the core @vocab's; read with an @context that gives `speed`
    another meaning, it is `ngsi-ld:default-context/speed` (JSON-LD IRI compaction), which expands back."""
    subscription_id = create(client, subscription(watchedAttributes=["speed"], q="speed>1"))
    answer = client.get(path(subscription_id), headers=link(vocab)).json()
    assert answer["watchedAttributes"] == ["ngsi-ld:default-context/speed"]
    assert answer["q"] == "ngsi-ld:default-context/speed>1"
    assert answer["entities"] == [{"type": "ngsi-ld:default-context/Car"}]
    other = create(client, subscription(watchedAttributes=answer["watchedAttributes"], q=answer["q"],
                                        entities=answer["entities"]), headers=link(vocab))
    assert client.get(path(other)).json()["watchedAttributes"] == ["speed"]


def test_query_pages_and_counts(tenant: httpx.Client) -> None:
    ids = [create(tenant, subscription(subscriptionName=f"s{index}")) for index in range(5)]
    page = tenant.get("/subscriptions", params={"limit": 2, "offset": 1, "count": "true"})
    assert page.status_code == 200, page.text
    assert page.headers["NGSILD-Results-Count"] == "5"
    assert [item["id"] for item in page.json()] == ids[1:3]
    assert [item["id"] for item in tenant.get("/subscriptions").json()] == ids


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
def test_an_unknown_tenant_is_nonexistent_tenant(client: httpx.Client, method: str) -> None:
    unknown = {"NGSILD-Tenant": f"none{uuid.uuid4().hex[:8]}"}
    assert_problem(client.get("/subscriptions", headers=unknown), 404, "NonexistentTenant")
    answer = client.request(method, path("urn:ngsi-ld:Subscription:x"), headers=unknown,
                            json={"q": "a==1"} if method == "PATCH" else None)
    assert_problem(answer, 404, "NonexistentTenant")


def test_update_replaces_members_whole_and_keeps_the_others(client: httpx.Client) -> None:
    """Clause 5.8.2 by the rules of 5.5.8: a member of the fragment replaces the stored one, `notification`
    included (its members that the fragment leaves out are gone)."""
    subscription_id = create(client, subscription(q="speed>50", description="d", notification={
        "format": "concise", "endpoint": {"uri": "http://127.0.0.1:9/a", "accept": "application/ld+json"}}))
    before = client.get(path(subscription_id), params={"options": "sysAttrs"}).json()
    answer = client.patch(path(subscription_id), json={
        "q": "speed>80", "isActive": False, "notification": {"endpoint": {"uri": "http://127.0.0.1:9/b"}}})
    assert answer.status_code == 204, answer.text
    after = client.get(path(subscription_id), params={"options": "sysAttrs"}).json()
    assert after["q"] == "speed>80" and after["status"] == "paused" and after["isActive"] is False
    assert after["description"] == "d"
    assert "format" not in after["notification"]
    assert after["notification"]["endpoint"] == {"uri": "http://127.0.0.1:9/b"}
    assert after["createdAt"] == before["createdAt"] and after["modifiedAt"] > before["modifiedAt"]


def test_update_with_another_context_keeps_the_meaning_of_the_other_members(
        client: httpx.Client, vocab: str) -> None:
    subscription_id = create(client, subscription(watchedAttributes=["speed"], q="colour>1"), headers=link(vocab))
    answer = client.patch(path(subscription_id), json={"notification": {
        "attributes": ["speed"], "endpoint": {"uri": "http://127.0.0.1:9/notify"}}}, headers=link(CORE_CONTEXT))
    assert answer.status_code == 204, answer.text
    mine = client.get(path(subscription_id), headers=link(vocab)).json()
    assert mine["watchedAttributes"] == ["speed"] and mine["entities"] == [{"type": "Car"}]
    assert mine["q"] == "colour>1"
    assert mine["notification"]["attributes"] == ["ngsi-ld:default-context/speed"]
    core = client.get(path(subscription_id)).json()
    assert core["notification"]["attributes"] == ["speed"]


def test_update_with_a_context_that_cannot_write_the_q_asks_for_the_q(client: httpx.Client, vocab: str) -> None:
    """With the core @context, `speed` of the vocab is only its URL, whose dots q would read as a path."""
    subscription_id = create(client, subscription(q="speed>1"), headers=link(vocab))
    before = client.get(path(subscription_id), headers=link(vocab)).json()
    problem = assert_problem(client.patch(path(subscription_id), json={"description": "d"},
                                          headers=link(CORE_CONTEXT)), 400, "BadRequestData")
    assert "'q'" in problem["detail"]
    assert client.get(path(subscription_id), headers=link(vocab)).json() == before
    answer = client.patch(path(subscription_id), json={"description": "d", "q": "speed>2"}, headers=link(CORE_CONTEXT))
    assert answer.status_code == 204, answer.text
    assert client.get(path(subscription_id)).json()["q"] == "speed>2"


def test_update_with_null_removes_a_member(client: httpx.Client) -> None:
    subscription_id = create(client, subscription(q="speed>50"))
    assert client.patch(path(subscription_id), json={"q": None}).status_code == 204
    assert "q" not in client.get(path(subscription_id)).json()


@pytest.mark.parametrize("fragment", [
    {"throttling": 0}, {"q": "speed>>"}, {"id": "urn:ngsi-ld:Subscription:other"}, {"unknown": 1},
    {"notification": {"format": "xml"}}, {"entities": []}, {"timeInterval": 10, "watchedAttributes": ["speed"]},
    {"notification": {"format": "keyValues"}}, {"notification": {"endpoint": {"accept": "application/ld+json"}}},
    {"notification": None}, {"entities": None}, {"subscriptionName": "a", "name": "b"},
])
def test_update_that_breaks_the_subscription_is_400_and_changes_nothing(
        client: httpx.Client, fragment: dict[str, Any]) -> None:
    subscription_id = create(client, subscription(q="speed>50"))
    before = client.get(path(subscription_id)).json()
    assert_problem(client.patch(path(subscription_id), json=fragment), 400, "BadRequestData")
    assert client.get(path(subscription_id)).json() == before


def test_the_former_member_name_is_subscription_name_given_back_as_written(client: httpx.Client) -> None:
    """`name` (before v1.5; Orion-LD and many clients still send it) is accepted as subscriptionName."""
    subscription_id = create(client, subscription(name="fast cars"))
    answer = client.get(path(subscription_id)).json()
    assert answer["name"] == "fast cars" and "subscriptionName" not in answer
    assert client.patch(path(subscription_id), json={"name": "slow cars"}).status_code == 204
    assert client.get(path(subscription_id)).json()["name"] == "slow cars"
    assert client.patch(path(subscription_id), json={"subscriptionName": "all cars"}).status_code == 204
    answer = client.get(path(subscription_id)).json()
    assert answer["subscriptionName"] == "all cars" and "name" not in answer
    assert_problem(client.post("/subscriptions", json=subscription(name=42)), 400, "BadRequestData")
    assert_problem(client.post("/subscriptions", json=subscription(name="a", subscriptionName="b")), 400,
                   "BadRequestData")


@pytest.mark.parametrize(("sent", "kept"), [
    ("name==%22Eiffel%20Tower%22", 'name=="Eiffel Tower"'),
    ("speed%3E50%3Bbrand==%22M%C3%BCller%22", 'speed>50;brand=="Müller"'),
    ('code=="A%20B"', 'code=="A%20B"'),  # inside a quoted string, an escape is text
    ("speed>50", "speed>50"),
])
def test_a_percent_encoded_q_is_decoded(client: httpx.Client, sent: str, kept: str) -> None:
    subscription_id = create(client, subscription(q=sent))
    assert client.get(path(subscription_id)).json()["q"] == kept
    assert client.patch(path(subscription_id), json={"q": sent}).status_code == 204
    assert client.get(path(subscription_id)).json()["q"] == kept


def test_delete_then_404(client: httpx.Client) -> None:
    subscription_id = create(client, subscription())
    assert client.delete(path(subscription_id)).status_code == 204
    assert_problem(client.get(path(subscription_id)), 404, "ResourceNotFound")
    assert_problem(client.delete(path(subscription_id)), 404, "ResourceNotFound")
    assert_problem(client.patch(path(subscription_id), json={"q": "a==1"}), 404, "ResourceNotFound")


def test_an_id_that_is_not_a_uri_is_400(client: httpx.Client) -> None:
    assert_problem(client.get("/subscriptions/not-a-uri"), 400, "BadRequestData")


def test_subscriptions_are_kept_per_tenant(tenant: httpx.Client) -> None:
    subscription_id = create(tenant, subscription())
    other = {"NGSILD-Tenant": f"o{uuid.uuid4().hex[:12]}"}
    create(tenant, subscription(), headers=other)
    assert_problem(tenant.get(path(subscription_id), headers=other), 404, "ResourceNotFound")
    assert len(tenant.get("/subscriptions", headers=other).json()) == 1
    assert tenant.get(path(subscription_id)).status_code == 200


def test_expired_subscription_shows_expired(client: httpx.Client) -> None:
    subscription_id = create(client, subscription(expiresAt="2999-01-01T00:00:00Z"))
    assert client.get(path(subscription_id)).json()["status"] == "active"
    assert_problem(client.patch(path(subscription_id), json={"expiresAt": "2001-01-01T00:00:00Z"}), 400,
                   "BadRequestData")


ENDPOINT = {"uri": "http://127.0.0.1:9/notify"}


@pytest.mark.parametrize(("body", "says"), [
    ({"type": "Subscription", "entities": [{"type": "Car"}]}, "notification"),
    (subscription(type="Registration"), "type"),
    (subscription(id="not a uri"), "URI"),
    (subscription(entities=None, notification={"endpoint": ENDPOINT}), "entities"),
    (subscription(entities=[{"id": "urn:ngsi-ld:Car:1"}]), "type"),
    (subscription(entities=[{"type": "Car", "idPattern": "(["}]), "idPattern"),
    (subscription(entities=[{"type": "Car", "id": "no uri"}]), "URI"),
    (subscription(entities={"type": "Car"}), "entities"),
    (subscription(watchedAttributes=[]), "watchedAttributes"),
    (subscription(watchedAttributes=["bad name!"]), "watchedAttributes"),
    (subscription(notificationTrigger=["entityExploded"]), "notificationTrigger"),
    (subscription(q="speed>"), "q"),
    (subscription(scopeQ="//"), "scope"),
    (subscription(geoQ={"georel": "near;maxDistance==10", "geometry": "Point"}), "coordinates"),
    (subscription(geoQ={"georel": "nearby", "geometry": "Point", "coordinates": [1, 2]}), "georel"),
    (subscription(geoQ={"georel": "within", "geometry": "Polygon", "coordinates": [[1, 2]]}), "Polygon"),
    (subscription(throttling=0.5), "throttling"),
    (subscription(timeInterval=0), "timeInterval"),
    (subscription(timeInterval=5, throttling=5), "throttling"),
    (subscription(timeInterval=5, watchedAttributes=["speed"]), "watchedAttributes"),
    (subscription(expiresAt="tomorrow"), "expiresAt"),
    (subscription(expiresAt="2001-01-01T00:00:00Z"), "past"),
    (subscription(isActive="yes"), "isActive"),
    (subscription(csf="a==b"), "csf"),
    (subscription(unknown=1), "unknown"),
    (subscription(notification={}), "endpoint"),
    (subscription(notification={"endpoint": {"uri": "not a uri"}}), "uri"),
    (subscription(notification={"endpoint": {"uri": "ftp://host/x"}}), "uri"),
    (subscription(notification={"endpoint": {**ENDPOINT, "accept": "text/xml"}}), "accept"),
    (subscription(notification={"endpoint": {**ENDPOINT, "timeout": 0}}), "timeout"),
    (subscription(notification={"endpoint": {**ENDPOINT, "receiverInfo": [{"key": "X"}]}}), "receiverInfo"),
    (subscription(notification={"endpoint": {**ENDPOINT, "receiverInfo": [{"key": "a b", "value": "1"}]}}),
     "header"),
    (subscription(notification={"endpoint": {"uri": "mqtt://127.0.0.1/t", "notifierInfo": [
        {"key": "MQTT-QoS", "value": "3"}]}}), "MQTT-QoS"),
    (subscription(notification={"endpoint": {"uri": "mqtt://127.0.0.1/t", "notifierInfo": [
        {"key": "MQTT-Version", "value": "mqtt4"}]}}), "MQTT-Version"),
    (subscription(notification={"endpoint": ENDPOINT, "format": "xml"}), "format"),
    (subscription(notification={"endpoint": ENDPOINT, "format": "keyValues", "showChanges": True}), "showChanges"),
    (subscription(notification={"endpoint": ENDPOINT, "attributes": []}), "attributes"),
    (subscription(notification={"endpoint": ENDPOINT, "pick": ["a"], "omit": ["b"]}), "pick"),
    (subscription(notification={"endpoint": ENDPOINT, "join": "deep"}), "join"),
    (subscription(notification={"endpoint": ENDPOINT, "join": "flat", "joinLevel": 0}), "joinLevel"),
    (subscription(notification={"endpoint": ENDPOINT, "join": "flat", "joinLevel": 6}), "joinLevel"),
    (subscription(notification={"endpoint": ENDPOINT, "pick": ["a{b}"]}), "join"),
    (subscription(notification={"endpoint": ENDPOINT, "sysAttrs": "yes"}), "sysAttrs"),
    (subscription(datasetId=["not a uri"]), "datasetId"),
])
def test_invalid_subscription_is_400_saying_why(client: httpx.Client, body: Any, says: str) -> None:
    problem = assert_problem(client.post("/subscriptions", json=body), 400, "BadRequestData")
    assert says.lower() in (problem.get("detail", "") + problem["title"]).lower(), problem


def test_body_that_is_not_json_is_400(client: httpx.Client) -> None:
    answer = client.post("/subscriptions", content=b"{", headers={"Content-Type": "application/json"})
    assert_problem(answer, 400, "InvalidRequest")


def test_unsupported_content_type_is_415(client: httpx.Client) -> None:
    answer = client.post("/subscriptions", content=b"{}", headers={"Content-Type": "text/plain"})
    assert answer.status_code == 415

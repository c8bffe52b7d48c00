"""Notifications over HTTP, through a real broker process and a real receiver process: content, triggers,
filters, throttling, periodic notifications, expiry, failures and retries."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx

from tests.broker.entity_helpers import entity_path, unique_type
from tests.conftest import ContextServer, link, unique_id
from tests.notifications.conftest import ReceiverProcess, bodies, subscribe, unique_path, wait_until

CORE_CONTEXT = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"


def create(client: httpx.Client, entity_type: str, **attributes: Any) -> str:
    entity_id = unique_id(entity_type)
    entity = {"id": entity_id, "type": entity_type,
              **{name: {"type": "Property", "value": value} for name, value in attributes.items()}}
    answer = client.post("/entities", json=entity)
    assert answer.status_code == 201, answer.text
    return entity_id


def update(client: httpx.Client, entity_id: str, **attributes: Any) -> None:
    fragment = {name: {"type": "Property", "value": value} for name, value in attributes.items()}
    answer = client.post(f"{entity_path(entity_id)}/attrs", json=fragment)
    assert answer.status_code == 204, answer.text


def data(received: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [entity for body in bodies(received) for entity in body["data"]]


def subscription_of(client: httpx.Client, subscription_id: str) -> dict[str, Any]:
    answer = client.get(f"/subscriptions/{quote(subscription_id, safe=':')}")
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_create_and_update_notify_normalized_entities(client: httpx.Client, receiver: ReceiverProcess) -> None:
    path, car = unique_path(), unique_type()
    subscription_id = subscribe(client, receiver.url(path), entities=[{"type": car}])
    entity_id = create(client, car, speed=10)
    receiver.wait_for(path, 1)
    update(client, entity_id, speed=20)
    received = receiver.wait_for(path, 2)
    first, second = bodies(received)
    for body in (first, second):
        assert body["id"].startswith("urn:ngsi-ld:Notification:") and body["type"] == "Notification"
        assert body["subscriptionId"] == subscription_id
        assert datetime.fromisoformat(body["notifiedAt"].replace("Z", "+00:00"))
    assert first["id"] != second["id"]
    assert first["data"] == [{"id": entity_id, "type": car, "speed": {"type": "Property", "value": 10}}]
    assert second["data"][0]["speed"]["value"] == 20
    headers = received[0]["headers"]
    assert headers["Content-Type"] == "application/json"
    assert f"<{CORE_CONTEXT}>" in headers["Link"] and "json-ld#context" in headers["Link"]
    status = subscription_of(client, subscription_id)["notification"]
    assert status["timesSent"] == 2 and status["status"] == "ok" and status["lastSuccess"]


def test_key_values_with_chosen_attributes_and_sys_attrs(client: httpx.Client, receiver: ReceiverProcess) -> None:
    path, car = unique_path(), unique_type()
    subscribe(client, receiver.url(path), entities=[{"type": car}],
              notification={"attributes": ["speed"], "format": "keyValues", "sysAttrs": True})
    entity_id = create(client, car, speed=10, colour="red")
    [entity] = data(receiver.wait_for_entities(path, 1))
    assert entity == {"id": entity_id, "type": car, "speed": 10,
                      "createdAt": entity["createdAt"], "modifiedAt": entity["modifiedAt"]}
    assert entity["createdAt"] == entity["modifiedAt"] and entity["createdAt"].endswith("Z")


def test_concise_with_sys_attrs(client: httpx.Client, receiver: ReceiverProcess) -> None:
    path, car = unique_path(), unique_type()
    subscribe(client, receiver.url(path), entities=[{"type": car}],
              notification={"format": "concise", "sysAttrs": True})
    create(client, car, speed=10)
    [entity] = data(receiver.wait_for_entities(path, 1))
    assert entity["speed"]["value"] == 10 and entity["speed"]["createdAt"] and entity["createdAt"]


def test_json_ld_carries_the_context_in_the_body(client: httpx.Client, receiver: ReceiverProcess) -> None:
    path, car = unique_path(), unique_type()
    subscribe(client, receiver.url(path), entities=[{"type": car}],
              notification={"endpoint": {"uri": receiver.url(path), "accept": "application/ld+json"}})
    create(client, car, speed=1)
    [received] = receiver.wait_for(path, 1)
    assert received["headers"]["Content-Type"] == "application/ld+json"
    assert "Link" not in received["headers"]
    assert received["body"]["@context"] == CORE_CONTEXT


def test_geo_json_sends_a_feature_collection(client: httpx.Client, receiver: ReceiverProcess) -> None:
    path, car = unique_path(), unique_type()
    subscribe(client, receiver.url(path), entities=[{"type": car}],
              notification={"endpoint": {"uri": receiver.url(path), "accept": "application/geo+json"}})
    entity_id = unique_id(car)
    answer = client.post("/entities", json={"id": entity_id, "type": car, "location": {
        "type": "GeoProperty", "value": {"type": "Point", "coordinates": [4.48, 51.03]}}})
    assert answer.status_code == 201, answer.text
    [received] = receiver.wait_for(path, 1)
    assert received["headers"]["Content-Type"] == "application/geo+json"
    collection = received["body"]["data"]
    assert collection["type"] == "FeatureCollection"
    [feature] = collection["features"]
    assert feature["id"] == entity_id and feature["type"] == "Feature"
    assert feature["geometry"] == {"type": "Point", "coordinates": [4.48, 51.03]}


def test_receiver_info_and_tenant_are_sent_as_headers(client: httpx.Client, receiver: ReceiverProcess) -> None:
    path, car = unique_path(), unique_type()
    tenant = {"NGSILD-Tenant": "mechelen"}
    answer = client.post("/subscriptions", headers=tenant, json={
        "type": "Subscription", "entities": [{"type": car}], "notification": {"endpoint": {
            "uri": receiver.url(path), "receiverInfo": [{"key": "X-Pilot", "value": "parking"}]}}})
    assert answer.status_code == 201, answer.text
    assert client.post("/entities", headers=tenant, json={"id": unique_id(car), "type": car}).status_code == 201
    [received] = receiver.wait_for(path, 1)
    assert received["headers"]["X-Pilot"] == "parking"
    assert received["headers"]["NGSILD-Tenant"] == "mechelen"


def test_watched_attributes_and_q_choose_the_changes(client: httpx.Client, receiver: ReceiverProcess) -> None:
    path, car = unique_path(), unique_type()
    subscribe(client, receiver.url(path), entities=[{"type": car}], watchedAttributes=["speed"], q="speed>50")
    entity_id = create(client, car, speed=10, colour="red")  # speed is not > 50
    update(client, entity_id, speed=60)
    update(client, entity_id, colour="blue")  # not watched
    update(client, entity_id, speed=40)  # not > 50
    update(client, entity_id, speed=70)
    receiver.wait_for_entities(path, 2)
    time.sleep(0.3)
    assert [entity["speed"]["value"] for entity in data(receiver.received(path))] == [60, 70]


def test_subscription_by_watched_attribute_only(client: httpx.Client, receiver: ReceiverProcess) -> None:
    path, attribute = unique_path(), unique_type()
    answer = client.post("/subscriptions", json={"type": "Subscription", "watchedAttributes": [attribute],
                                              "notification": {"endpoint": {"uri": receiver.url(path)}}})
    assert answer.status_code == 201, answer.text
    entity_id = create(client, unique_type(), **{attribute: 1})
    [entity] = data(receiver.wait_for_entities(path, 1))
    assert entity["id"] == entity_id


def test_entity_selector_by_id_and_id_pattern(client: httpx.Client, receiver: ReceiverProcess) -> None:
    by_id, by_pattern, car = unique_path(), unique_path(), unique_type()
    first, second = unique_id(car), unique_id(car)
    subscribe(client, receiver.url(by_id), entities=[{"type": car, "id": second}])
    subscribe(client, receiver.url(by_pattern), entities=[{"type": car, "idPattern": f"{first}$"}])
    for entity_id in (first, second):
        assert client.post("/entities", json={"id": entity_id, "type": car}).status_code == 201
    assert [entity["id"] for entity in data(receiver.wait_for_entities(by_id, 1))] == [second]
    assert [entity["id"] for entity in data(receiver.wait_for_entities(by_pattern, 1))] == [first]


def test_deletion_triggers(client: httpx.Client, receiver: ReceiverProcess) -> None:
    path, car = unique_path(), unique_type()
    subscribe(client, receiver.url(path), entities=[{"type": car}],
              notificationTrigger=["attributeDeleted", "entityDeleted"])
    entity_id = create(client, car, speed=10, colour="red")
    assert client.delete(f"{entity_path(entity_id)}/attrs/colour").status_code == 204
    assert client.delete(entity_path(entity_id)).status_code == 204
    attribute_deleted, entity_deleted = data(receiver.wait_for_entities(path, 2))
    assert attribute_deleted["colour"]["value"] == "urn:ngsi-ld:null"
    assert attribute_deleted["colour"]["deletedAt"]
    assert attribute_deleted["speed"]["value"] == 10
    assert entity_deleted["id"] == entity_id and entity_deleted["deletedAt"]
    assert entity_deleted["speed"] == {"type": "Property", "value": "urn:ngsi-ld:null",
                                       "deletedAt": entity_deleted["deletedAt"]}


def test_deletions_with_show_changes_carry_the_previous_values(client: httpx.Client, receiver: ReceiverProcess) -> None:
    path, car = unique_path(), unique_type()
    subscribe(client, receiver.url(path), entities=[{"type": car}], notification={"showChanges": True},
              notificationTrigger=["attributeDeleted", "entityDeleted"])
    entity_id = unique_id(car)
    answer = client.post("/entities", json={
        "id": entity_id, "type": car, "speed": {"type": "Property", "value": 10},
        "street": {"type": "LanguageProperty", "languageMap": {"nl": "Grote Markt", "fr": "Grand Place"}},
        "owner": {"type": "Relationship", "object": "urn:ngsi-ld:Person:1"},
        "category": {"type": "VocabProperty", "vocab": "public"}})
    assert answer.status_code == 201, answer.text
    assert client.delete(f"{entity_path(entity_id)}/attrs/street").status_code == 204
    assert client.delete(entity_path(entity_id)).status_code == 204
    attribute_deleted, entity_deleted = data(receiver.wait_for_entities(path, 2))
    assert attribute_deleted["street"] == {
        "type": "LanguageProperty", "languageMap": {"@none": "urn:ngsi-ld:null"},
        "previousLanguageMap": {"nl": "Grote Markt", "fr": "Grand Place"},
        "deletedAt": attribute_deleted["street"]["deletedAt"]}
    at = entity_deleted["deletedAt"]
    assert entity_deleted == {
        "id": entity_id, "type": car, "deletedAt": at,
        "speed": {"type": "Property", "value": "urn:ngsi-ld:null", "previousValue": 10, "deletedAt": at},
        "owner": {"type": "Relationship", "object": "urn:ngsi-ld:null", "previousObject": "urn:ngsi-ld:Person:1",
                  "deletedAt": at},
        "category": {"type": "VocabProperty", "vocab": "urn:ngsi-ld:null", "previousVocab": "public",
                     "deletedAt": at}}


def test_deleting_one_instance_or_the_entity_notifies_attribute_deleted(
        client: httpx.Client, receiver: ReceiverProcess) -> None:
    path, car = unique_path(), unique_type()
    subscribe(client, receiver.url(path), entities=[{"type": car}], watchedAttributes=["speed"],
              notificationTrigger=["attributeDeleted"])
    entity_id, dataset = unique_id(car), "urn:ngsi-ld:Dataset:gps"
    answer = client.post("/entities", json={"id": entity_id, "type": car, "speed": [
        {"type": "Property", "value": 10}, {"type": "Property", "value": 11, "datasetId": dataset}]})
    assert answer.status_code == 201, answer.text
    deleted = client.delete(f"{entity_path(entity_id)}/attrs/speed", params={"datasetId": dataset})
    assert deleted.status_code == 204, deleted.text
    assert client.delete(entity_path(entity_id)).status_code == 204
    instance_deleted, entity_deleted = data(receiver.wait_for_entities(path, 2))
    default, gone = instance_deleted["speed"]
    assert default == {"type": "Property", "value": 10}
    assert gone == {"type": "Property", "value": "urn:ngsi-ld:null", "datasetId": dataset,
                    "deletedAt": gone["deletedAt"]}
    assert entity_deleted["speed"]["value"] == "urn:ngsi-ld:null" and entity_deleted["deletedAt"]


def test_show_changes_compacts_the_previous_vocab(client: httpx.Client, receiver: ReceiverProcess) -> None:
    path, car = unique_path(), unique_type()
    subscribe(client, receiver.url(path), entities=[{"type": car}], notification={"showChanges": True})
    entity_id = unique_id(car)
    assert client.post("/entities", json={
        "id": entity_id, "type": car, "category": {"type": "VocabProperty", "vocab": "public"}}).status_code == 201
    answer = client.patch(f"{entity_path(entity_id)}/attrs", json={
        "category": {"type": "VocabProperty", "vocab": "private"}})
    assert answer.status_code == 204, answer.text
    _, updated = data(receiver.wait_for_entities(path, 2))
    assert updated["category"] == {"type": "VocabProperty", "vocab": "private", "previousVocab": "public"}


def test_a_percent_encoded_q_selects_as_decoded(client: httpx.Client, receiver: ReceiverProcess) -> None:
    path, car = unique_path(), unique_type()
    subscribe(client, receiver.url(path), entities=[{"type": car}], q="name==%22Eiffel%20Tower%22")
    create(client, car, name="Atomium")
    wanted = create(client, car, name="Eiffel Tower")
    [entity] = data(receiver.wait_for_entities(path, 1))
    time.sleep(0.2)
    assert entity["id"] == wanted and len(data(receiver.received(path))) == 1


def test_names_without_a_term_are_compact_iris_in_notifications(
        client: httpx.Client, receiver: ReceiverProcess, context_server: ContextServer) -> None:
    """An attribute written without @context (the core @vocab) is notified to a subscription whose @context
    gives its short name another meaning as `ngsi-ld:default-context/...` (JSON-LD IRI compaction)."""
    path, car = unique_path(), unique_type()
    context_server.documents["/shadowing.jsonld"] = {"@context": {
        car: f"https://uri.etsi.org/ngsi-ld/default-context/{car}", "almostFull": "https://example.org/almostFull"}}
    answer = client.post("/subscriptions", headers=link(context_server.url("/shadowing.jsonld")), json={
        "type": "Subscription", "entities": [{"type": car}], "notification": {"endpoint": {"uri": receiver.url(path)}}})
    assert answer.status_code == 201, answer.text
    create(client, car, almostFull=True)
    [entity] = data(receiver.wait_for_entities(path, 1))
    assert entity["ngsi-ld:default-context/almostFull"] == {"type": "Property", "value": True}


def test_entity_created_trigger_ignores_updates(client: httpx.Client, receiver: ReceiverProcess) -> None:
    path, car = unique_path(), unique_type()
    subscribe(client, receiver.url(path), entities=[{"type": car}], notificationTrigger=["entityCreated"])
    first = create(client, car, speed=1)
    update(client, first, speed=2)
    second = create(client, car, speed=3)
    receiver.wait_for_entities(path, 2)
    time.sleep(0.3)
    assert [entity["id"] for entity in data(receiver.received(path))] == [first, second]


def test_show_changes_gives_the_previous_value(client: httpx.Client, receiver: ReceiverProcess) -> None:
    path, car = unique_path(), unique_type()
    subscribe(client, receiver.url(path), entities=[{"type": car}], notification={"showChanges": True})
    entity_id = create(client, car, speed=10)
    update(client, entity_id, speed=20)
    created, updated = data(receiver.wait_for_entities(path, 2))
    assert "previousValue" not in created["speed"]
    assert updated["speed"] == {"type": "Property", "value": 20, "previousValue": 10}


def test_batch_upsert_notifies_every_entity(client: httpx.Client, receiver: ReceiverProcess) -> None:
    path, car = unique_path(), unique_type()
    subscribe(client, receiver.url(path), entities=[{"type": car}])
    ids = [unique_id(car) for _ in range(3)]
    answer = client.post("/entityOperations/upsert", json=[{"id": entity_id, "type": car} for entity_id in ids])
    assert answer.status_code == 201, answer.text
    assert sorted(entity["id"] for entity in data(receiver.wait_for_entities(path, 3))) == sorted(ids)


def test_paused_then_resumed(client: httpx.Client, receiver: ReceiverProcess) -> None:
    path, car = unique_path(), unique_type()
    subscription_id = subscribe(client, receiver.url(path), entities=[{"type": car}], isActive=False)
    entity_id = create(client, car, speed=1)
    answer = client.patch(f"/subscriptions/{quote(subscription_id, safe=':')}", json={"isActive": True})
    assert answer.status_code == 204
    update(client, entity_id, speed=2)
    receiver.wait_for(path, 1)
    time.sleep(0.3)
    assert [entity["speed"]["value"] for entity in data(receiver.received(path))] == [2]


def test_deleted_subscription_notifies_no_more(client: httpx.Client, receiver: ReceiverProcess) -> None:
    gone, kept, car = unique_path(), unique_path(), unique_type()
    subscription_id = subscribe(client, receiver.url(gone), entities=[{"type": car}])
    subscribe(client, receiver.url(kept), entities=[{"type": car}])
    assert client.delete(f"/subscriptions/{quote(subscription_id, safe=':')}").status_code == 204
    create(client, car, speed=1)
    receiver.wait_for(kept, 1)
    time.sleep(0.2)
    assert receiver.received(gone) == []


def test_expired_subscription_stops(client: httpx.Client, receiver: ReceiverProcess) -> None:
    expiring, barrier, car = unique_path(), unique_path(), unique_type()
    expires_at = (datetime.now(UTC) + timedelta(seconds=1.5)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    subscription_id = subscribe(client, receiver.url(expiring), entities=[{"type": car}], expiresAt=expires_at)
    subscribe(client, receiver.url(barrier), entities=[{"type": car}])
    entity_id = create(client, car, speed=1)
    receiver.wait_for(expiring, 1)
    wait_until(lambda: subscription_of(client, subscription_id)["status"] == "expired", timeout=5)
    update(client, entity_id, speed=2)
    receiver.wait_for_entities(barrier, 2)
    time.sleep(0.2)
    assert [entity["speed"]["value"] for entity in data(receiver.received(expiring))] == [1]


def test_throttling_spaces_notifications_and_keeps_the_latest(client: httpx.Client, receiver: ReceiverProcess) -> None:
    path, car = unique_path(), unique_type()
    subscribe(client, receiver.url(path), entities=[{"type": car}], throttling=1)
    entity_id = create(client, car, speed=0)
    receiver.wait_for(path, 1)
    for speed in (1, 2, 3):
        update(client, entity_id, speed=speed)
    first, second = receiver.wait_for(path, 2, timeout=5)
    time.sleep(1.3)
    assert len(receiver.received(path)) == 2
    assert second["at"] - first["at"] >= 0.95
    assert [entity["speed"]["value"] for entity in second["body"]["data"]] == [3]


def test_time_interval_notifies_periodically(client: httpx.Client, receiver: ReceiverProcess) -> None:
    path, car = unique_path(), unique_type()
    entity_id = create(client, car, speed=5)
    subscribe(client, receiver.url(path), entities=[{"type": car}], timeInterval=1)
    received = receiver.wait_for(path, 3, timeout=6)
    gaps = [later["at"] - earlier["at"] for earlier, later in zip(received, received[1:], strict=False)]
    assert all(0.8 <= gap <= 1.6 for gap in gaps), gaps
    assert all(body["data"] == [{"id": entity_id, "type": car, "speed": {"type": "Property", "value": 5}}]
               for body in bodies(received))


def test_failing_receiver_is_retried_in_order_with_the_same_id(client: httpx.Client, receiver: ReceiverProcess) -> None:
    path, car = unique_path(), unique_type()
    receiver.answer(path, status=500)
    subscription_id = subscribe(client, receiver.url(path), entities=[{"type": car}])
    entity_id = create(client, car, speed=1)
    update(client, entity_id, speed=2)
    update(client, entity_id, speed=3)
    wait_until(lambda: len(receiver.received(path, failed=True)) >= 3)
    failing = subscription_of(client, subscription_id)["notification"]
    assert failing["status"] == "failed" and failing["timesFailed"] >= 2 and failing["consecutiveErrors"] >= 2
    assert failing["lastFailure"] and "lastSuccess" not in failing
    receiver.answer(path, status=200)
    delivered = receiver.wait_for_entities(path, 3)
    assert [entity["speed"]["value"] for entity in data(delivered)] == [1, 2, 3]
    attempts = receiver.received(path, failed=True)
    failed_ids = {item["body"]["id"] for item in attempts if item["status"] == 500}
    assert failed_ids == {delivered[0]["body"]["id"]}  # only the head was tried while it failed, with one id
    recovered = wait_until(lambda: (lambda n: n if n.get("status") == "ok" else None)(
        subscription_of(client, subscription_id)["notification"]))
    assert "consecutiveErrors" not in recovered and recovered["lastSuccess"] > recovered["lastFailure"]


def test_slow_receiver_slows_neither_the_api_nor_other_subscriptions(
        client: httpx.Client, receiver: ReceiverProcess) -> None:
    slow, fast, car = unique_path(), unique_path(), unique_type()
    receiver.answer(slow, delay=2.0)
    subscribe(client, receiver.url(slow), entities=[{"type": car}])
    subscribe(client, receiver.url(fast), entities=[{"type": car}])
    entity_id = create(client, car, speed=0)
    started = time.monotonic()
    for speed in range(1, 6):
        update(client, entity_id, speed=speed)
    assert time.monotonic() - started < 1.0
    received = receiver.wait_for_entities(fast, 6, timeout=3)
    assert received[-1]["at"] - received[0]["at"] < 1.5
    assert [entity["speed"]["value"] for entity in data(received)] == [0, 1, 2, 3, 4, 5]


def test_entities_are_compacted_with_the_subscription_context(
        client: httpx.Client, receiver: ReceiverProcess, context_server: ContextServer) -> None:
    path, car = unique_path(), unique_type()
    context_server.documents["/notification-vocab.jsonld"] = {"@context": {
        car: f"https://example.org/vocab/{car}", "speed": "https://example.org/vocab/speed"}}
    vocab = context_server.url("/notification-vocab.jsonld")
    answer = client.post("/subscriptions", headers=link(vocab), json={
        "type": "Subscription", "entities": [{"type": car}], "watchedAttributes": ["speed"],
        "notification": {"endpoint": {"uri": receiver.url(path)}}})
    assert answer.status_code == 201, answer.text
    entity_id = unique_id(car)
    created = client.post("/entities", headers=link(vocab),
                       json={"id": entity_id, "type": car, "speed": {"type": "Property", "value": 3}})
    assert created.status_code == 201, created.text
    [received] = receiver.wait_for(path, 1)
    assert f"<{vocab}>" in received["headers"]["Link"]
    assert received["body"]["data"] == [{"id": entity_id, "type": car, "speed": {"type": "Property", "value": 3}}]


def test_https_endpoint(client: httpx.Client, https_receiver: ReceiverProcess) -> None:
    path, car = unique_path(), unique_type()
    subscribe(client, https_receiver.url(path), entities=[{"type": car}])
    entity_id = create(client, car, speed=1)
    assert [entity["id"] for entity in data(https_receiver.wait_for(path, 1))] == [entity_id]


def test_https_endpoint_whose_certificate_does_not_match_fails(
        client: httpx.Client, https_receiver: ReceiverProcess) -> None:
    path, car = unique_path(), unique_type()
    subscription_id = subscribe(client, https_receiver.url(path, host="localhost"), entities=[{"type": car}])
    create(client, car, speed=1)  # the certificate names 127.0.0.1, not localhost
    status = wait_until(lambda: (lambda n: n if n.get("timesFailed") else None)(
        subscription_of(client, subscription_id)["notification"]))
    assert status["status"] == "failed"
    assert https_receiver.received(path, failed=True) == []

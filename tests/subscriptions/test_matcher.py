"""The matcher: which subscriptions a change notifies, by triggers, watched attributes, selectors and queries;
and its index, which only looks at subscriptions that could match."""

from __future__ import annotations

import time
from typing import Any

import pytest

from ngsi_ld.context import build_term_map
from ngsi_ld.entity import parse_entity
from ngsi_ld.updates import new_entity
from subscriptions.matcher import Event, Matcher, event_of
from subscriptions.model import Subscription, parse_subscription
from subscriptions.notification import event_data

TERMS = build_term_map(None, lambda url: None)
NOW = "2026-11-27T10:00:00.000000Z"


def subscription(number: int = 1, **members: Any) -> Subscription:
    payload = {"id": f"urn:ngsi-ld:Subscription:{number}", "type": "Subscription",
               "notification": {"endpoint": {"uri": "http://127.0.0.1:9/n"}}, **members}
    if "watchedAttributes" not in members:
        payload.setdefault("entities", [{"type": "Car"}])
    return parse_subscription(payload, TERMS, None)


def car(entity_id: str = "urn:ngsi-ld:Car:1", entity_type: str = "Car", **attributes: Any) -> dict[str, Any]:
    raw = {"id": entity_id, "type": entity_type,
           **{name: {"type": "Property", "value": value} for name, value in attributes.items()}}
    return new_entity(parse_entity(raw, TERMS), NOW)


def matched(subscriptions: list[Subscription], event: Event) -> list[str]:
    return sorted((s.id.rsplit(":", 1)[1] for s in Matcher(subscriptions).matching(event, time.time())), key=int)


CREATED = event_of(None, car(speed=1))
UPDATED = event_of(car(speed=1, colour="red"), car(speed=2, colour="red"))
APPENDED = event_of(car(speed=1), car(speed=1, colour="red"))
ATTRIBUTE_DELETED = event_of(car(speed=1, colour="red"), car(speed=1))
DELETED = event_of(car(speed=1), None)


@pytest.mark.parametrize(("triggers", "fired"), [
    (None, {"created", "updated", "appended"}),
    (["entityCreated"], {"created"}),
    # = the three attribute ones; deleting an entity deletes its attributes
    (["entityUpdated"], {"created", "updated", "appended", "attribute deleted", "deleted"}),
    (["entityDeleted"], {"deleted"}),
    (["attributeCreated"], {"created", "appended"}),
    (["attributeUpdated"], {"updated"}),
    (["attributeDeleted"], {"attribute deleted", "deleted"}),
])
def test_notification_triggers(triggers: list[str] | None, fired: set[str]) -> None:
    members = {} if triggers is None else {"notificationTrigger": triggers}
    events = {"created": CREATED, "updated": UPDATED, "appended": APPENDED,
              "attribute deleted": ATTRIBUTE_DELETED, "deleted": DELETED}
    assert {name for name, event in events.items() if matched([subscription(**members)], event)} == fired


def test_watched_attributes_must_be_touched() -> None:
    speed = subscription(watchedAttributes=["speed"], entities=[{"type": "Car"}])
    colour = subscription(2, watchedAttributes=["colour"], entities=[{"type": "Car"}])
    assert matched([speed, colour], UPDATED) == ["1"]
    assert matched([speed, colour], APPENDED) == ["2"]
    assert matched([speed, colour], CREATED) == ["1"]


def test_selectors_q_scope_and_geo_are_evaluated_on_the_new_state() -> None:
    subscriptions = [
        subscription(1, q="speed>1"), subscription(2, q="speed<2"),
        subscription(3, entities=[{"type": "Car", "id": "urn:ngsi-ld:Car:1"}]),
        subscription(4, entities=[{"type": "Car", "id": "urn:ngsi-ld:Car:2"}]),
        subscription(5, entities=[{"type": "Car", "idPattern": "Car:[0-9]$"}]),
        subscription(6, entities=[{"type": "Bus"}]),
        subscription(7, entities=[{"type": "Car,Bus"}]),
        subscription(8, entities=[{"type": "Car;Bus"}]),
        subscription(9, scopeQ="/Mechelen"),
        subscription(10, geoQ={"georel": "near;maxDistance==1000", "geometry": "Point", "coordinates": [4.4, 51.0]}),
    ]
    assert matched(subscriptions, UPDATED) == ["1", "3", "5", "7"]


def test_deletions_are_matched_on_the_state_before() -> None:
    gone = subscription(notificationTrigger=["entityDeleted"], q="speed==1")
    assert matched([gone], DELETED) == ["1"]
    assert matched([subscription(notificationTrigger=["entityDeleted"], q="speed==2")], DELETED) == []


def test_paused_expired_and_periodic_subscriptions_match_nothing() -> None:
    subscriptions = [subscription(1, isActive=False), subscription(2, expiresAt="2001-01-01T00:00:00Z"),
                     subscription(3, timeInterval=10), subscription(4, expiresAt="2999-01-01T00:00:00Z")]
    assert matched(subscriptions, UPDATED) == ["4"]


def test_watched_attribute_only_subscriptions_are_found_by_attribute() -> None:
    by_attribute = subscription(watchedAttributes=["speed"])
    assert matched([by_attribute], event_of(car(entity_type="Bus", speed=1), car(entity_type="Bus", speed=2))) == ["1"]
    assert matched([by_attribute], APPENDED) == []


def test_the_index_only_visits_subscriptions_that_could_match() -> None:
    evaluated: list[str] = []
    others = [subscription(n, entities=[{"type": f"Bus{n}"}]) for n in range(2, 2000)]
    mine = subscription(1)
    matcher = Matcher([mine, *others])
    original = Event.fires

    def counting_fires(event: Event, candidate: Subscription) -> bool:
        evaluated.append(candidate.id)
        return original(event, candidate)
    Event.fires = counting_fires  # type: ignore[method-assign]
    try:
        assert [s.id for s in matcher.matching(UPDATED, time.time())] == [mine.id]
    finally:
        Event.fires = original  # type: ignore[method-assign]
    assert evaluated == [mine.id]


def test_show_changes_and_deleted_attributes_in_the_data() -> None:
    shown = subscription(notification={"endpoint": {"uri": "http://127.0.0.1:9/n"}, "showChanges": True},
                         notificationTrigger=["attributeUpdated", "attributeDeleted"])
    [entity] = event_data(shown, UPDATED, NOW)
    assert entity["speed"] == {"type": "Property", "value": 2, "previousValue": 1}
    assert "previousValue" not in entity["colour"]
    [entity] = event_data(shown, ATTRIBUTE_DELETED, NOW)
    assert entity["colour"] == {"type": "Property", "value": "urn:ngsi-ld:null", "deletedAt": NOW,
                                "previousValue": "red"}
    [deleted] = event_data(shown, DELETED, NOW)
    assert deleted == {"id": "urn:ngsi-ld:Car:1", "type": "Car", "deletedAt": NOW, "speed": {
        "type": "Property", "value": "urn:ngsi-ld:null", "deletedAt": NOW, "previousValue": 1}}


def entity_with(**attributes: Any) -> dict[str, Any]:
    return new_entity(parse_entity({"id": "urn:ngsi-ld:Car:1", "type": "Car", **attributes}, TERMS), NOW)


def test_losing_one_instance_is_an_attribute_deletion_not_an_update() -> None:
    default = {"type": "Property", "value": 1}
    other = {"type": "Property", "value": 2, "datasetId": "urn:ngsi-ld:Dataset:b"}
    event = event_of(entity_with(speed=[default, other]), entity_with(speed=[default]))
    speed = TERMS.expand("speed")
    assert (event.created, event.updated, event.deleted) == (frozenset(), frozenset(), {speed})
    assert matched([subscription(notificationTrigger=["attributeDeleted"], watchedAttributes=["speed"])], event)
    assert not matched([subscription(notificationTrigger=["attributeUpdated"])], event)
    shown = subscription(notificationTrigger=["attributeDeleted"], notification={
        "endpoint": {"uri": "http://127.0.0.1:9/n"}, "showChanges": True})
    [entity] = event_data(shown, event, NOW)
    assert entity["speed"] == [default, {"type": "Property", "value": "urn:ngsi-ld:null", "deletedAt": NOW,
                                         "datasetId": "urn:ngsi-ld:Dataset:b", "previousValue": 2}]


@pytest.mark.parametrize(("attribute", "null", "previous"), [
    ({"type": "LanguageProperty", "languageMap": {"nl": "rood"}}, {"languageMap": {"@none": "urn:ngsi-ld:null"}},
     {"previousLanguageMap": {"nl": "rood"}}),
    ({"type": "Relationship", "object": "urn:ngsi-ld:X:1"}, {"object": "urn:ngsi-ld:null"},
     {"previousObject": "urn:ngsi-ld:X:1"}),
    ({"type": "ListProperty", "valueList": [1, 2]}, {"valueList": ["urn:ngsi-ld:null"]},
     {"previousValueList": [1, 2]}),
    ({"type": "JsonProperty", "json": {"a": 1}}, {"json": "urn:ngsi-ld:null"}, {"previousJson": {"a": 1}}),
    ({"type": "VocabProperty", "vocab": "red"}, {"vocab": "urn:ngsi-ld:null"}, {"previousVocab": "red"}),
])
def test_a_deleted_entity_shows_each_attribute_as_null_of_its_type(
        attribute: dict[str, Any], null: dict[str, Any], previous: dict[str, Any]) -> None:
    shown = subscription(notificationTrigger=["entityDeleted"], notification={
        "endpoint": {"uri": "http://127.0.0.1:9/n"}, "showChanges": True, "format": "concise"})
    [deleted] = event_data(shown, event_of(entity_with(colour=attribute), None), NOW)
    assert deleted["colour"] == {**null, "deletedAt": NOW, **previous}


def test_previous_vocab_is_compacted() -> None:
    shown = subscription(notification={"endpoint": {"uri": "http://127.0.0.1:9/n"}, "showChanges": True})
    event = event_of(entity_with(colour={"type": "VocabProperty", "vocab": "red"}),
                     entity_with(colour={"type": "VocabProperty", "vocab": "blue"}))
    [entity] = event_data(shown, event, NOW)
    assert entity["colour"] == {"type": "VocabProperty", "vocab": "blue", "previousVocab": "red"}


def test_a_deleted_location_leaves_a_geo_json_feature_without_geometry() -> None:
    located = entity_with(location={"type": "GeoProperty", "value": {"type": "Point", "coordinates": [4.4, 51.0]}},
                          speed={"type": "Property", "value": 1})
    shown = subscription(notificationTrigger=["attributeDeleted", "entityDeleted"], notification={
        "endpoint": {"uri": "http://127.0.0.1:9/n", "accept": "application/geo+json"}})
    [feature] = event_data(shown, event_of(located, entity_with(speed={"type": "Property", "value": 1})), NOW)
    assert feature["geometry"] is None
    assert feature["properties"]["location"] == {"type": "GeoProperty", "value": "urn:ngsi-ld:null",
                                                 "deletedAt": NOW}
    [feature] = event_data(shown, event_of(located, None), NOW)
    assert feature["geometry"] is None and feature["properties"]["deletedAt"] == NOW
    assert feature["properties"]["speed"]["value"] == "urn:ngsi-ld:null"

"""The rewrite rules, on entities and subscriptions, without a broker."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from replication.errors import RuleError
from replication.rules import parse_rules, relationship_objects

COPY = {"urn:ngsi-ld:OffStreetParking:mechelen:centrum", "urn:ngsi-ld:ParkingSpot:mechelen:1",
        "urn:ngsi-ld:ParkingSpot:mechelen:2", "urn:ngsi-ld:ParkingGroup:mechelen:g"}


def inside(entity_id: str) -> bool:
    return entity_id in COPY


def group() -> dict[str, Any]:
    return {
        "id": "urn:ngsi-ld:ParkingGroup:mechelen:g", "type": "ParkingGroup",
        "refParkingSite": {"type": "Relationship", "object": "urn:ngsi-ld:OffStreetParking:mechelen:centrum",
                           "observedBy": {"type": "Relationship", "object": "urn:ngsi-ld:Device:mechelen:cam"}},
        "refParkingSpot": {"type": "ListRelationship",
                           "objectList": [{"object": "urn:ngsi-ld:ParkingSpot:mechelen:1"},
                                          "urn:ngsi-ld:ParkingSpot:mechelen:2"]},
        "occupancy": [
            {"type": "Property", "value": 3, "datasetId": "urn:ngsi-ld:Dataset:a",
             "source": {"type": "Property", "value": "x",
                        "from": {"type": "Relationship", "object": ["urn:ngsi-ld:ParkingSpot:mechelen:1"]}}},
            {"type": "Property", "value": 4, "datasetId": "urn:ngsi-ld:Dataset:b"}],
        "location": {"type": "GeoProperty", "value": {"type": "Polygon", "coordinates": [[[4.0, 51.0], [4.1, 51.0],
                                                                                          [4.1, 51.1], [4.0, 51.0]]]}},
        "address": {"type": "Property", "value": {"addressLocality": "Mechelen", "postalCode": "2800"}},
        "description": {"type": "Property", "value": "a description"},
    }


def test_city_token_rewrites_ids_and_relationships_at_every_level() -> None:
    original = group()
    result = parse_rules(["mechelen=delft"]).entity(original, inside)
    entity = result.entity
    assert entity["id"] == "urn:ngsi-ld:ParkingGroup:delft:g"
    assert entity["refParkingSite"]["object"] == "urn:ngsi-ld:OffStreetParking:delft:centrum"
    assert entity["refParkingSpot"]["objectList"] == [{"object": "urn:ngsi-ld:ParkingSpot:delft:1"},
                                                      "urn:ngsi-ld:ParkingSpot:delft:2"]
    assert entity["occupancy"][0]["source"]["from"]["object"] == ["urn:ngsi-ld:ParkingSpot:delft:1"]
    assert original == group(), "the entity given is left as it was"
    assert sorted(path for path, _, _ in result.relationships) == [
        "occupancy.source.from", "refParkingSite", "refParkingSpot", "refParkingSpot"]


def test_relationships_outside_the_copy_are_kept_and_reported() -> None:
    result = parse_rules(["mechelen=delft"]).entity(group(), inside)
    assert result.entity["refParkingSite"]["observedBy"]["object"] == "urn:ngsi-ld:Device:mechelen:cam"
    assert result.outside == [("refParkingSite.observedBy", "urn:ngsi-ld:Device:mechelen:cam")]


def test_city_token_is_the_city_segment_only() -> None:
    rules = parse_rules(["mechelen=delft"])
    assert rules.new_id("urn:ngsi-ld:Spot:mechelen:mechelen-1") == "urn:ngsi-ld:Spot:delft:mechelen-1"
    assert rules.new_id("urn:ngsi-ld:Spot:mechelenx:1") == "urn:ngsi-ld:Spot:mechelenx:1"
    assert rules.new_id("urn:ngsi-ld:mechelen:1") == "urn:ngsi-ld:mechelen:1"
    assert rules.new_id("https://mechelen.be/mechelen:1") == "https://mechelen.be/mechelen:1"


def test_regular_expression_rules_apply_in_order() -> None:
    rules = parse_rules([r"id:^urn:ngsi-ld:(\w+):MEC-(\d+)$=>urn:ngsi-ld:\1:DLF-\2", "id:DLF=>DELFT"])
    assert rules.new_id("urn:ngsi-ld:ParkingSpot:MEC-12") == "urn:ngsi-ld:ParkingSpot:DELFT-12"
    assert rules.new_id("urn:ngsi-ld:ParkingSpot:AMS-12") == "urn:ngsi-ld:ParkingSpot:AMS-12"


def test_attribute_rules() -> None:
    rules = parse_rules(["drop:description", "drop:address.postalCode", "set:address.addressLocality=Delft",
                         "set:capacity=120", 'set:name="Level 1"', "set:occupancy=7", "set:address.country.code=NL",
                         "shift:location=-0.1,1"])
    entity = rules.entity(group(), inside).entity
    assert "description" not in entity
    assert entity["address"]["value"] == {"addressLocality": "Delft", "country": {"code": "NL"}}
    assert "capacity" not in entity and "name" not in entity, "set changes attributes, it adds none"
    assert entity["occupancy"][1]["value"] == 7, "every instance of the attribute"
    assert entity["location"]["value"]["coordinates"][0][:2] == [[3.9, 52.0], [4.0, 52.0]]


def test_shift_leaves_other_attributes_and_keeps_altitude() -> None:
    rules = parse_rules(["shift:location=1,1"])
    entity = {"id": "urn:ngsi-ld:X:1", "type": "X",
              "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [4.0, 51.0, 12]}},
              "other": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [4.0, 51.0]}}}
    copied = rules.entity(entity, inside).entity
    assert copied["location"]["value"]["coordinates"] == [5.0, 52.0, 12]
    assert copied["other"]["value"]["coordinates"] == [4.0, 51.0]


def test_subscription_rules() -> None:
    rules = parse_rules(["mechelen=delft", "endpoint:http://mechelen.example/=>https://delft.example/app/"])
    subscription = {"id": "urn:ngsi-ld:Subscription:mechelen:s", "type": "Subscription",
                    "entities": [{"id": "urn:ngsi-ld:ParkingSpot:mechelen:1", "type": "ParkingSpot"},
                                 {"id": "urn:ngsi-ld:ParkingSpot:mechelen:99", "type": "ParkingSpot"}],
                    "notification": {"endpoint": {"uri": "http://mechelen.example/alerts?x=1"}}}
    copied = rules.subscription(subscription, inside)
    assert copied["id"] == "urn:ngsi-ld:Subscription:delft:s"
    assert [item["id"] for item in copied["entities"]] == ["urn:ngsi-ld:ParkingSpot:delft:1",
                                                          "urn:ngsi-ld:ParkingSpot:mechelen:99"]
    assert copied["notification"]["endpoint"]["uri"] == "https://delft.example/app/alerts?x=1"


def test_relationship_objects_of_every_level() -> None:
    assert sorted(relationship_objects(group())) == sorted([
        "urn:ngsi-ld:OffStreetParking:mechelen:centrum", "urn:ngsi-ld:Device:mechelen:cam",
        "urn:ngsi-ld:ParkingSpot:mechelen:1", "urn:ngsi-ld:ParkingSpot:mechelen:2",
        "urn:ngsi-ld:ParkingSpot:mechelen:1"])


def test_rules_from_a_file(tmp_path: Path) -> None:
    rules_file = tmp_path / "delft.rules"
    rules_file.write_text("# Mechelen -> Delft\nmechelen=delft\n\nset:address.addressLocality=Delft  # city\n")
    rules = parse_rules([f"@{rules_file}"])
    assert rules.text == ("mechelen=delft", "set:address.addressLocality=Delft")


@pytest.mark.parametrize(("text", "message"), [
    ("mechelen", "not a rule"),
    ("mechelen=", "not a rule"),
    ("http://a=http://b", "not a rule"),
    ("id:([a-z]=>x", "missing ), unterminated subpattern"),
    (r"id:(a)=>\2", "invalid group reference"),
    ("id:abc", "id:REGEX=>REPLACEMENT"),
    ("set:address", "set:ATTR[.member]=VALUE"),
    ("drop:a..b", "not an attribute name"),
    ("shift:location=1", "DLON,DLAT"),
    ("shift:location=a,b", "could not convert"),
    ("endpoint:http://a", "endpoint:OLD=>NEW"),
    ("@/no/such/file", "cannot read the file"),
])
def test_bad_rules_say_why(text: str, message: str) -> None:
    with pytest.raises(RuleError) as raised:
        parse_rules([text])
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)

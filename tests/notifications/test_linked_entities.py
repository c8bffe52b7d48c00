"""Notifications with linked entities (notification.join, joinLevel; clause 4.5.23): the linked entities are
read from the store when the notification is made, and shown inline or flat as the subscription asks."""

from __future__ import annotations

from typing import Any

import httpx

from tests.broker.entity_helpers import create, entity_path, unique_type
from tests.conftest import unique_id
from tests.notifications.conftest import ReceiverProcess, bodies, subscribe, unique_path


def _named(entity_id: str, entity_type: str, name: str, **attributes: Any) -> dict[str, Any]:
    return {"id": entity_id, "type": entity_type, "name": {"type": "Property", "value": name}, **attributes}


def _linked_pair(client: httpx.Client) -> tuple[str, str, str, str]:
    """A company and a parking it runs: their ids, the parking's type, and a new type for vehicles."""
    company, parking, parking_type = unique_id("Company"), unique_id("Parking"), unique_type()
    create(client, _named(company, "Company", "Acme"))
    create(client, _named(parking, parking_type, "Downtown",
                          operator={"type": "Relationship", "object": company}))
    return company, parking, parking_type, unique_type()


def test_inline_notification_carries_the_linked_entities_as_they_are_now(
    client: httpx.Client, receiver: ReceiverProcess
) -> None:
    company, parking, _, car = _linked_pair(client)
    path = unique_path()
    subscribe(client, receiver.url(path), entities=[{"type": car}],
              notification={"join": "inline", "joinLevel": 2, "format": "keyValues",
                            "pick": ["id", "isParked{name,operator{name}}"]})
    vehicle = create(client, {"id": unique_id("Vehicle"), "type": car,
                              "isParked": {"type": "Relationship", "object": parking}})
    [first] = bodies(receiver.wait_for(path, 1))
    assert first["data"] == [{"id": vehicle, "isParked": {"name": "Downtown", "operator": {"name": "Acme"}}}]
    answer = client.patch(entity_path(company), json={"name": {"type": "Property", "value": "Acme Parking"}})
    assert answer.status_code == 204, answer.text
    answer = client.patch(entity_path(vehicle), json={"speed": {"type": "Property", "value": 30}})
    assert answer.status_code == 204, answer.text
    second = bodies(receiver.wait_for(path, 2))[1]
    assert second["data"][0]["isParked"]["operator"] == {"name": "Acme Parking"}


def test_flat_notification_appends_the_linked_entities(client: httpx.Client, receiver: ReceiverProcess) -> None:
    company, parking, parking_type, car = _linked_pair(client)
    path = unique_path()
    subscribe(client, receiver.url(path), entities=[{"type": car}], notification={"join": "flat", "joinLevel": 2})
    vehicle = create(client, {"id": unique_id("Vehicle"), "type": car,
                              "isParked": {"type": "Relationship", "object": parking},
                              "owner": {"type": "Relationship", "object": unique_id("Nobody")}})
    [body] = bodies(receiver.wait_for(path, 1))
    assert [(entity["id"], entity["type"]) for entity in body["data"]] == [
        (vehicle, car), (parking, parking_type), (company, "Company")]
    assert body["data"][2]["name"] == {"type": "Property", "value": "Acme"}


def test_periodic_notification_links_the_entities_it_finds(client: httpx.Client, receiver: ReceiverProcess) -> None:
    _, parking, _, car = _linked_pair(client)
    create(client, {"id": unique_id("Vehicle"), "type": car, "isParked": {"type": "Relationship", "object": parking}})
    path = unique_path()
    subscribe(client, receiver.url(path), entities=[{"type": car}], timeInterval=1,
              notification={"join": "inline", "format": "keyValues", "pick": ["isParked{name}"]})
    [body] = bodies(receiver.wait_for(path, 1))[:1]
    assert body["data"] == [{"isParked": {"name": "Downtown"}}]

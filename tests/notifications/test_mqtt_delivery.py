"""Notifications over MQTT (MQTT 3.1.1 and 5.0, QoS 0-2), through a real broker and a real Mosquitto."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import paho.mqtt.client as mqtt
import pytest

from tests.broker.entity_helpers import unique_type
from tests.conftest import free_port, unique_id
from tests.notifications.conftest import Mosquitto, decoded, wait_until

CORE_CONTEXT = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"


class Listener:
    """An MQTT client subscribed to one topic, keeping what it receives."""

    def __init__(self, port: int, topic: str, version: int) -> None:
        self.messages: list[mqtt.MQTTMessage] = []
        self._subscribed = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=version)
        self.client.on_message = lambda client, userdata, message: self.messages.append(message)
        self.client.on_subscribe = lambda *args: self._subscribed.set()
        self.client.connect("127.0.0.1", port)
        self.client.subscribe(topic, qos=2)
        self.client.loop_start()
        assert self._subscribed.wait(5)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


@pytest.fixture
def listen(mosquitto: Mosquitto) -> Iterator[Any]:
    listeners: list[Listener] = []

    def start(topic: str, version: int = mqtt.MQTTv311) -> Listener:
        listeners.append(Listener(mosquitto.port, topic, version))
        return listeners[-1]
    yield start
    for listener in listeners:
        listener.close()


def subscribe_mqtt(client: httpx.Client, uri: str, entity_type: str, notifier_info: list[dict[str, str]]) -> str:
    answer = client.post("/subscriptions", json={
        "type": "Subscription", "entities": [{"type": entity_type}],
        "notification": {"endpoint": {"uri": uri, "notifierInfo": notifier_info,
                                      "receiverInfo": [{"key": "X-Pilot", "value": "air"}]}}})
    assert answer.status_code == 201, answer.text
    return answer.headers["location"].removeprefix("/ngsi-ld/v1/subscriptions/")


def test_mqtt_311_carries_metadata_and_body(client: httpx.Client, mosquitto: Mosquitto, listen: Any) -> None:
    topic, sensor = f"city/{uuid.uuid4().hex}", unique_type()
    listener = listen(topic)
    subscription_id = subscribe_mqtt(client, f"mqtt://127.0.0.1:{mosquitto.port}/{topic}", sensor, [])
    entity_id = unique_id(sensor)
    assert client.post("/entities", json={"id": entity_id, "type": sensor,
                                       "no2": {"type": "Property", "value": 41}}).status_code == 201
    [message] = wait_until(lambda: listener.messages)
    assert message.topic == topic and message.qos == 0
    payload = decoded(message.payload)
    assert payload["metadata"]["Content-Type"] == "application/json"
    assert f"<{CORE_CONTEXT}>" in payload["metadata"]["Link"]
    assert payload["metadata"]["X-Pilot"] == "air"
    body = payload["body"]
    assert body["type"] == "Notification" and body["subscriptionId"] == subscription_id
    assert body["data"] == [{"id": entity_id, "type": sensor, "no2": {"type": "Property", "value": 41}}]


@pytest.mark.parametrize("qos", ["1", "2"])
def test_mqtt_5_with_qos_and_user_properties(client: httpx.Client, mosquitto: Mosquitto, listen: Any,
                                             qos: str) -> None:
    topic, sensor = f"city/{uuid.uuid4().hex}", unique_type()
    listener = listen(topic, mqtt.MQTTv5)
    subscribe_mqtt(client, f"mqtt://127.0.0.1:{mosquitto.port}/{topic}", sensor,
                   [{"key": "MQTT-Version", "value": "mqtt5.0"}, {"key": "MQTT-QoS", "value": qos}])
    entity_ids = [unique_id(sensor) for _ in range(3)]
    for entity_id in entity_ids:
        assert client.post("/entities", json={"id": entity_id, "type": sensor}).status_code == 201
    def entities() -> list[str]:
        return [entity["id"] for m in listener.messages for entity in decoded(m.payload)["body"]["data"]]
    wait_until(lambda: len(entities()) >= 3)
    assert entities() == entity_ids
    messages = listener.messages
    assert all(m.qos == int(qos) for m in messages)
    properties = messages[0].properties
    assert properties is not None and properties.ContentType == "application/json"
    assert ("X-Pilot", "air") in properties.UserProperty


def test_mqtts_endpoint(client: httpx.Client, mosquitto: Mosquitto, listen: Any) -> None:
    topic, sensor = f"city/{uuid.uuid4().hex}", unique_type()
    listener = listen(topic)
    subscribe_mqtt(client, f"mqtts://127.0.0.1:{mosquitto.tls_port}/{topic}", sensor, [])
    entity_id = unique_id(sensor)
    assert client.post("/entities", json={"id": entity_id, "type": sensor}).status_code == 201
    [message] = wait_until(lambda: listener.messages)
    assert decoded(message.payload)["body"]["data"] == [{"id": entity_id, "type": sensor}]


def test_unreachable_mqtt_broker_counts_failures(client: httpx.Client) -> None:
    sensor = unique_type()
    subscription_id = subscribe_mqtt(client, f"mqtt://127.0.0.1:{free_port()}/nowhere", sensor, [])
    assert client.post("/entities", json={"id": unique_id(sensor), "type": sensor}).status_code == 201

    def failed() -> dict[str, Any] | None:
        notification = client.get(f"/subscriptions/{quote(subscription_id, safe=':')}").json()["notification"]
        return notification if notification.get("timesFailed", 0) >= 2 else None
    notification = wait_until(failed)
    assert notification["status"] == "failed" and notification["lastFailure"]

"""Server-side request forgery: the URLs that the broker calls (notification endpoints, remote @contexts) are checked
when given (400) and on the address connected to when used, through a real broker process, a real DNS server that
the broker resolves names with (`--resolver`) and real receivers."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import httpx
import paho.mqtt.client as mqtt
import pytest

from tests.broker.entity_helpers import unique_type
from tests.broker.test_startup import assert_one_line, serve
from tests.conftest import API, FAST_RETRIES, ROOT, BrokerProcess, ContextServer, free_port, link, unique_id
from tests.dns_server import DnsServer
from tests.notifications.conftest import Mosquitto, ReceiverProcess, subscribe, unique_path, wait_until
from tests.notifications.test_mqtt_delivery import Listener

METADATA = "169.254.169.254"
DENIED = "127.0.0.2"
"""A loopback address that the `guarded` broker's deny list names: a receiver listens there, which must get nothing."""


def subscription_body(uri: str) -> dict[str, Any]:
    return {"type": "Subscription", "entities": [{"type": "Car"}], "notification": {"endpoint": {"uri": uri}}}


def refused(answer: httpx.Response, *words: str) -> None:
    assert answer.status_code == 400, answer.text
    problem = answer.json()
    assert problem["type"] == "https://uri.etsi.org/ngsi-ld/errors/BadRequestData"
    assert "may not be" in problem["detail"] and all(word in problem["detail"] for word in words), problem


def start_broker(directory: Path, env: dict[str, str], request: pytest.FixtureRequest, store_kind: str
                 ) -> BrokerProcess:
    """A broker of the test's settings, with a store of its own (on MongoDB, databases of its own: the broker that
    leads the notifiers of a database delivers its notifications, with its own settings)."""
    env = {**FAST_RETRIES, **env}
    if store_kind == "mongodb":
        parts = urlsplit(request.getfixturevalue("mongodb_url"))
        env["SCIFI_STORE"] = urlunsplit(parts._replace(path=f"/scifi{directory.name.replace('-', '')}"))
    return BrokerProcess(directory, env=env).start()


@pytest.fixture(scope="module")
def dns() -> Iterator[DnsServer]:
    server = DnsServer()
    yield server
    server.close()


@pytest.fixture(scope="module")
def guarded(store_kind: str, dns: DnsServer, tmp_path_factory: pytest.TempPathFactory,
            request: pytest.FixtureRequest) -> Iterator[httpx.Client]:
    """A broker that resolves names with the test's DNS server and denies a network, a host, a loopback address
    and a scheme besides the metadata addresses."""
    env = {"SCIFI_RESOLVER": dns.address, "SCIFI_OUTBOUND_DENY": f"10.0.0.0/8, {DENIED}, *.blocked.test, mqtts:",
           "SCIFI_CONTEXT_TIMEOUT": "2"}
    broker = start_broker(tmp_path_factory.mktemp("guarded"), env, request, store_kind)
    with httpx.Client(base_url=broker.url + API, timeout=10) as client:
        yield client
    broker.stop()


@pytest.fixture(scope="module")
def allowing(store_kind: str, tmp_path_factory: pytest.TempPathFactory,
             request: pytest.FixtureRequest) -> Iterator[httpx.Client]:
    """A broker that may call only http URLs on 127.0.0.1."""
    env = {"SCIFI_OUTBOUND_ALLOW": "127.0.0.1/32, http:"}
    broker = start_broker(tmp_path_factory.mktemp("allowing"), env, request, store_kind)
    with httpx.Client(base_url=broker.url + API, timeout=10) as client:
        yield client
    broker.stop()


@pytest.fixture(scope="module")
def denied_receiver() -> Iterator[ReceiverProcess]:
    """A receiver on the denied loopback address."""
    process = ReceiverProcess()
    process.process = subprocess.Popen([sys.executable, "-m", "tests.receiver", "--port", str(process.port),
                                        "--host", DENIED], cwd=ROOT, stdout=subprocess.PIPE)
    assert process.process.stdout is not None and process.process.stdout.readline().strip() == b"ready"
    yield process
    process.stop()


def status_of(client: httpx.Client, subscription_id: str) -> dict[str, Any]:
    answer = client.get(f"/subscriptions/{quote(subscription_id, safe=':')}")
    assert answer.status_code == 200, answer.text
    notification: dict[str, Any] = answer.json()["notification"]
    return notification


def failed_status(client: httpx.Client, subscription_id: str) -> dict[str, Any]:
    """The notification status of the subscription once a notification failed."""
    return wait_until(lambda: (lambda state: state if state.get("timesFailed") else None)(  # type: ignore[no-any-return]
        status_of(client, subscription_id)))


def create_car(client: httpx.Client, car_type: str) -> None:
    answer = client.post("/entities", json={"id": unique_id(car_type), "type": car_type,
                                            "speed": {"type": "Property", "value": 1}})
    assert answer.status_code == 201, answer.text


@pytest.mark.parametrize("uri", [
    f"http://{METADATA}/latest/meta-data/iam/security-credentials/",
    "http://169.254.0.1:8080/notify",
    f"http://[::ffff:{METADATA}]/latest/meta-data/",
    "http://[::ffff:a9fe:a9fe]/",
    "http://[fd00:ec2::254]/latest/meta-data/",
    "http://[fe80::1]:80/",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://METADATA.google.internal./computeMetadata/v1/",
    "https://2852039166/latest/meta-data/",
    f"mqtt://{METADATA}:1883/topic",
])
def test_metadata_endpoint_is_refused_at_subscription(client: httpx.Client, uri: str) -> None:
    refused(client.post("/subscriptions", json=subscription_body(uri)), "notification.endpoint.uri")


def test_update_to_metadata_endpoint_is_refused_and_changes_nothing(client: httpx.Client,
                                                                    receiver: ReceiverProcess) -> None:
    subscription_id = subscribe(client, receiver.url(unique_path()))
    path = f"/subscriptions/{quote(subscription_id, safe=':')}"
    answer = client.patch(path, json={"notification": {"endpoint": {"uri": f"http://{METADATA}/"}}})
    refused(answer, METADATA)
    assert client.get(path).json()["notification"]["endpoint"]["uri"].startswith("http://127.0.0.1:")


@pytest.mark.parametrize("url", [f"http://{METADATA}/context.jsonld", "http://metadata.google.internal/c.jsonld"])
def test_metadata_context_is_refused(client: httpx.Client, url: str) -> None:
    refused(client.post("/jsonldContexts", json={"@context": url}), url.split("/")[2])
    entity = {"id": unique_id(), "type": "Thing"}
    refused(client.post("/entities", json=entity, headers=link(url)))


@pytest.mark.parametrize(("uri", "words"), [
    ("http://10.1.2.3:8080/notify", ["10.1.2.3"]),
    (f"http://{DENIED}:9999/notify", [DENIED]),
    ("http://receiver.blocked.test/notify", ["receiver.blocked.test"]),
    ("mqtts://127.0.0.1:8883/topic", ["mqtts"]),
])
def test_deny_list_refuses_at_subscription(guarded: httpx.Client, uri: str, words: list[str]) -> None:
    refused(guarded.post("/subscriptions", json=subscription_body(uri)), *words)


def test_deny_list_leaves_the_rest_allowed(guarded: httpx.Client) -> None:
    answer = guarded.post("/subscriptions", json=subscription_body("mqtt://127.0.0.1:1883/topic"))
    assert answer.status_code == 201, answer.text


@pytest.mark.parametrize(("uri", "words"), [
    ("http://127.0.0.3:8080/notify", ["127.0.0.3", "allowed destinations"]),
    ("https://127.0.0.1:8443/notify", ["https"]),
    ("mqtt://127.0.0.1:1883/topic", ["mqtt"]),
    (f"http://{METADATA}/", [METADATA]),
])
def test_allow_list_refuses_the_others(allowing: httpx.Client, uri: str, words: list[str]) -> None:
    refused(allowing.post("/subscriptions", json=subscription_body(uri)), *words)


def test_allow_list_lets_its_own_through(allowing: httpx.Client, receiver: ReceiverProcess) -> None:
    path, car = unique_path(), unique_type()
    subscribe(allowing, receiver.url(path), entities=[{"type": car}])
    create_car(allowing, car)
    assert receiver.wait_for(path, 1)


def test_name_resolving_to_metadata_is_refused_at_subscription(guarded: httpx.Client, dns: DnsServer) -> None:
    dns.answer("hooks.pilot.test", METADATA)
    refused(guarded.post("/subscriptions", json=subscription_body("http://hooks.pilot.test:8080/notify")),
            "hooks.pilot.test", METADATA)


def test_name_resolving_to_a_fine_address_notifies(guarded: httpx.Client, dns: DnsServer,
                                                   receiver: ReceiverProcess) -> None:
    dns.answer("fine.pilot.test", "127.0.0.1")
    path, car = unique_path(), unique_type()
    subscribe(guarded, f"http://fine.pilot.test:{receiver.port}{path}", entities=[{"type": car}])
    create_car(guarded, car)
    assert receiver.wait_for(path, 1)


def test_rebinding_to_metadata_after_subscription_fails_the_notification(
        guarded: httpx.Client, dns: DnsServer, receiver: ReceiverProcess) -> None:
    dns.answer("rebind.pilot.test", "127.0.0.1", METADATA)
    path, car = unique_path(), unique_type()
    subscription_id = subscribe(guarded, f"http://rebind.pilot.test:{receiver.port}{path}",
                                entities=[{"type": car}])
    create_car(guarded, car)
    status = failed_status(guarded, subscription_id)
    assert status["status"] == "failed" and "lastFailure" in status and "lastSuccess" not in status
    assert receiver.received(path, failed=True) == []


def test_rebinding_to_a_denied_address_never_reaches_it(
        guarded: httpx.Client, dns: DnsServer, receiver: ReceiverProcess, denied_receiver: ReceiverProcess) -> None:
    """The denied address has a receiver listening: the notification must not get there."""
    dns.answer("swap.pilot.test", "127.0.0.1", DENIED)
    path, car = unique_path(), unique_type()
    subscription_id = subscribe(guarded, f"http://swap.pilot.test:{denied_receiver.port}{path}",
                                entities=[{"type": car}])
    create_car(guarded, car)
    assert failed_status(guarded, subscription_id)["status"] == "failed"
    received = httpx.get(f"http://{DENIED}:{denied_receiver.port}/received", timeout=5).json()
    assert [item for item in received if item["path"] == path] == []


def test_context_name_resolving_to_metadata_is_refused(guarded: httpx.Client, dns: DnsServer) -> None:
    dns.answer("contexts.pilot.test", METADATA)
    url = "http://contexts.pilot.test/context.jsonld"
    refused(guarded.post("/jsonldContexts", json={"@context": url}), "contexts.pilot.test", METADATA)


def test_context_rebinding_between_check_and_fetch_is_refused(guarded: httpx.Client, dns: DnsServer,
                                                              context_server: ContextServer) -> None:
    """The name resolves to the context server when checked, to the metadata address when connected to."""
    context_path = f"/rebind-{free_port()}.jsonld"
    context_server.documents[context_path] = {"@context": {"speed": "https://example.org/speed"}}
    port = context_server.http.server_address[1]
    dns.answer("ctx.pilot.test", "127.0.0.1", METADATA)
    url = f"http://ctx.pilot.test:{port}{context_path}"
    refused(guarded.post("/entities", json={"id": unique_id(), "type": "Thing"}, headers=link(url)), METADATA)
    assert context_server.hits.get(context_path) is None
    dns.answer("ctx.pilot.test", "127.0.0.1")
    answer = guarded.post("/entities", json={"id": unique_id(), "type": "Thing"}, headers=link(url))
    assert answer.status_code == 201, answer.text
    assert context_server.hits[context_path] == 1


@pytest.mark.parametrize(("arguments", "env", "expected"), [
    (["--outbound-deny", "10.0.0.0/8, not a host!"], {}, ["--outbound-deny", "'not a host!' is not a host name"]),
    (["--resolver", "dns.example.org"], {}, ["--resolver dns.example.org", "<IPv4 address>[:<port>]"]),
    ([], {"SCIFI_OUTBOUND_DENY": "*"}, ["SCIFI_OUTBOUND_DENY=*", "not a host name"]),
])
def test_a_wrong_outbound_setting_is_one_line(tmp_path: Path, arguments: list[str], env: dict[str, str],
                                              expected: list[str]) -> None:
    assert_one_line(serve("--data-dir", str(tmp_path / "data"), *arguments, env=env), *expected)


def test_mqtt_broker_name_is_resolved_and_checked_when_connecting(guarded: httpx.Client, dns: DnsServer,
                                                                   mosquitto: Mosquitto) -> None:
    """A name that resolves to the MQTT broker notifies through it; one that turns to the metadata address after
    the subscription fails its notification."""
    topic, car = f"cars/{unique_path()[1:]}", unique_type()
    listener = Listener(mosquitto.port, topic, mqtt.MQTTv311)
    try:
        dns.answer("mq.pilot.test", "127.0.0.1")
        subscribe(guarded, f"mqtt://mq.pilot.test:{mosquitto.port}/{topic}", entities=[{"type": car}])
        create_car(guarded, car)
        wait_until(lambda: listener.messages)
    finally:
        listener.close()
    dns.answer("mq-rebind.pilot.test", "127.0.0.1", METADATA)
    car = unique_type()
    subscription_id = subscribe(guarded, f"mqtt://mq-rebind.pilot.test:{mosquitto.port}/{topic}-2",
                                entities=[{"type": car}])
    create_car(guarded, car)
    assert failed_status(guarded, subscription_id)["status"] == "failed"

"""Notifications are neither lost nor duplicated: across a crash, a restart, and two worker processes."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from broker.store import open_store
from broker.store.base import Change, StoredSubscription
from broker.store.mongo import LEASE_SECONDS
from ngsi_ld.values import utc_now
from tests.broker.entity_helpers import unique_type
from tests.conftest import API, FAST_RETRIES, BrokerProcess, unique_id
from tests.notifications.conftest import ReceiverProcess, subscribe, unique_path, wait_until

TRANSACTION_LIFETIME = 60.0
"""Seconds a MongoDB server (and SecantusDB) keeps the transaction of a killed client open."""


def speeds(received: list[dict[str, Any]]) -> list[int]:
    return [entity["speed"]["value"] for item in received for entity in item["body"]["data"]]


def set_speed(base_url: str, entity_id: str, speed: int) -> None:
    """One update, on a connection of its own (so that the workers of a broker share the updates)."""
    answer = httpx.post(f"{base_url}{API}/entities/{quote(entity_id, safe=':')}/attrs",
                        json={"speed": {"type": "Property", "value": speed}}, timeout=10)
    assert answer.status_code == 204, answer.text


@pytest.mark.parametrize("stop_signal", [signal.SIGKILL, signal.SIGTERM])
def test_pending_notifications_are_delivered_after_a_restart(
        tmp_path: Path, store_url: str, receiver: ReceiverProcess, stop_signal: int) -> None:
    path, car = unique_path(), unique_type()
    receiver.answer(path, status=503)
    broker = BrokerProcess(tmp_path, env={**FAST_RETRIES, "SCIFI_STORE": store_url}).start()
    try:
        with httpx.Client(base_url=broker.url + API, timeout=10) as api:
            subscription_id = subscribe(api, receiver.url(path), entities=[{"type": car}])
            entity_id = unique_id(car)
            assert api.post("/entities", json={"id": entity_id, "type": car,
                                               "speed": {"type": "Property", "value": 1}}).status_code == 201
            for speed in (2, 3):
                set_speed(broker.url, entity_id, speed)
            wait_until(lambda: len(receiver.received(path, failed=True)) >= 2)
        broker.stop(stop_signal)
        receiver.answer(path, status=200)
        broker.start()
        # On MongoDB the killed broker's lease of the notifier runs out first (SQLite's lock goes with the process),
        # and a transaction it was killed in stays open until the server drops it (docs/deployment.md).
        delivered = receiver.wait_for_entities(path, 3, timeout=LEASE_SECONDS + TRANSACTION_LIFETIME + 15)
        time.sleep(0.3)
        assert speeds(receiver.received(path)) == [1, 2, 3]
        assert len({item["body"]["id"] for item in delivered}) == len(delivered)
        with httpx.Client(base_url=broker.url + API, timeout=10) as api:
            status = api.get(f"/subscriptions/{quote(subscription_id, safe=':')}").json()["notification"]
        assert status["timesFailed"] >= 2 and status["timesSent"] > status["timesFailed"] and status["status"] == "ok"
    finally:
        broker.stop()


def test_changes_recorded_while_no_broker_runs_are_notified_when_it_starts(
        tmp_path: Path, store_url: str, receiver: ReceiverProcess) -> None:
    """A change is recorded for notification in the transaction that writes it: whatever happens to the
    process afterwards, the next broker on the same store notifies it."""
    path, car = unique_path(), unique_type()
    entity_id = unique_id(car)

    async def write_without_a_notifier() -> None:
        async with open_store(store_url) as store:
            payload = {"type": "Subscription", "entities": [{"type": car}],
                       "notification": {"endpoint": {"uri": receiver.url(path)}}}
            now = utc_now()
            await store.create_subscription("", StoredSubscription(
                "urn:ngsi-ld:Subscription:offline", payload, None, now, now, {}))
            entity = {"id": entity_id, "type": [f"https://uri.etsi.org/ngsi-ld/default-context/{car}"],
                      "createdAt": now, "modifiedAt": now, "attrs": {}}
            await store.create("", entity)
    asyncio.run(write_without_a_notifier())
    broker = BrokerProcess(tmp_path, env={"SCIFI_STORE": store_url}).start()
    try:
        [received] = receiver.wait_for(path, 1)
        assert received["body"]["data"] == [{"id": entity_id, "type": car}]
    finally:
        broker.stop()


def test_two_workers_notify_each_change_exactly_once(
        tmp_path: Path, store_url: str, receiver: ReceiverProcess) -> None:
    path, car = unique_path(), unique_type()
    broker = BrokerProcess(tmp_path, workers=2, env={"SCIFI_STORE": store_url}).start()
    try:
        workers = wait_until(lambda: _workers_seen(broker.url, 2), timeout=20)
        assert sorted(workers.values()) == ["leading", "standby"]
        with httpx.Client(base_url=broker.url + API, timeout=10) as api:
            subscribe(api, receiver.url(path), entities=[{"type": car}])
            entity_id = unique_id(car)
            assert api.post("/entities", json={"id": entity_id, "type": car,
                                               "speed": {"type": "Property", "value": 0}}).status_code == 201
        for speed in range(1, 41):
            set_speed(broker.url, entity_id, speed)
        receiver.wait_for_entities(path, 41)
        time.sleep(0.5)
        received = receiver.received(path)
        assert speeds(received) == list(range(41))
        assert len({item["body"]["id"] for item in received}) == len(received)
    finally:
        broker.stop()


def _workers_seen(base_url: str, count: int) -> dict[int, str] | None:
    seen: dict[int, str] = {}
    for _ in range(20):
        health = httpx.get(f"{base_url}/health", timeout=5).json()
        seen[health["worker"]] = health["notifier"]
    return seen if len(seen) >= count else None


def test_each_change_meets_the_subscriptions_as_they_were_when_it_was_committed(
        tmp_path: Path, store_url: str, receiver: ReceiverProcess) -> None:
    """Written while no broker runs, then notified when one starts: a change made while a subscription was
    paused, or before it existed, is not notified to it, even though it is delivered later."""
    paused_path, later_path, car = unique_path(), unique_path(), unique_type()
    entity_id = unique_id(car)
    car_iri = f"https://uri.etsi.org/ngsi-ld/default-context/{car}"

    def payload(path: str, **members: Any) -> dict[str, Any]:
        return {"type": "Subscription", "entities": [{"type": car}],
                "notification": {"endpoint": {"uri": receiver.url(path)}}, **members}

    def with_speed(speed: int) -> dict[str, Any]:
        now = utc_now()
        return {"id": entity_id, "type": [car_iri], "createdAt": now, "modifiedAt": now,
                "attrs": {"https://uri.etsi.org/ngsi-ld/default-context/speed": [{"type": "Property", "value": speed}]}}

    async def write_without_a_notifier() -> None:
        now = utc_now()
        async with open_store(store_url) as store:
            paused = StoredSubscription("urn:ngsi-ld:Subscription:paused", payload(paused_path, isActive=False),
                                        None, now, now, {})
            await store.create_subscription("", paused)
            await store.create("", with_speed(1))
            await store.create_subscription("", StoredSubscription(
                "urn:ngsi-ld:Subscription:later", payload(later_path), None, now, now, {}))
            await store.modify_subscription("", paused.id, lambda current: StoredSubscription(
                current.id, payload(paused_path), None, now, now, current.state))
            await store.write("", [Change(entity_id, lambda stored: with_speed(2))])
    asyncio.run(write_without_a_notifier())
    broker = BrokerProcess(tmp_path, env={"SCIFI_STORE": store_url}).start()
    try:
        for path in (paused_path, later_path):
            receiver.wait_for_entities(path, 1)
        time.sleep(0.3)
        assert speeds(receiver.received(paused_path)) == [2]
        assert speeds(receiver.received(later_path)) == [2]
    finally:
        broker.stop()


@pytest.mark.stores("sqlite")
def test_the_leader_hears_of_the_other_workers_changes_at_once(
        tmp_path: Path, receiver: ReceiverProcess) -> None:
    """The standby worker rings the leader's doorbell after recording changes: with a poll of a minute, every
    change is still notified within seconds, whichever worker wrote it."""
    path, car = unique_path(), unique_type()
    broker = BrokerProcess(tmp_path, workers=2, env={"SCIFI_NOTIFICATION_POLL": "60"}).start()
    try:
        wait_until(lambda: _workers_seen(broker.url, 2), timeout=20)
        with httpx.Client(base_url=broker.url + API, timeout=10) as api:
            subscribe(api, receiver.url(path), entities=[{"type": car}])
            entity_id = unique_id(car)
            assert api.post("/entities", json={"id": entity_id, "type": car,
                                               "speed": {"type": "Property", "value": 0}}).status_code == 201
        receiver.wait_for_entities(path, 1, timeout=20)
        started = time.monotonic()
        for speed in range(1, 21):
            set_speed(broker.url, entity_id, speed)
        receiver.wait_for_entities(path, 21, timeout=20)
        assert time.monotonic() - started < 15
        assert speeds(receiver.received(path)) == list(range(21))
    finally:
        broker.stop()

"""A subscription's delivery ends when it finds nothing pending: a notification committed while that look was on
its way back from the store (a round trip, on MongoDB) is delivered all the same, not left for the next change."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from broker.settings import Settings
from broker.store.base import PendingNotification
from broker.store.sqlite import SQLiteStore
from tests.notifications.conftest import ReceiverProcess, served_in_process, subscribe, unique_path

ANSWER_DELAY = 0.5
"""Seconds the store's answer of pending notifications takes to come back, in this test."""


@pytest.fixture
def broker_in_process(tmp_path: Path) -> Iterator[httpx.Client]:
    with served_in_process(Settings(data_dir=tmp_path)) as client:
        yield client


def test_a_notification_committed_during_the_last_look_is_delivered(
        monkeypatch: pytest.MonkeyPatch, broker_in_process: httpx.Client, receiver: ReceiverProcess) -> None:
    look = SQLiteStore.pending

    async def slow_answer(store: SQLiteStore, tenant: str, subscription_id: str, *,
                          gather: int = 1) -> PendingNotification | None:
        found = await look(store, tenant, subscription_id, gather=gather)
        await asyncio.sleep(ANSWER_DELAY)
        return found
    monkeypatch.setattr(SQLiteStore, "pending", slow_answer)
    client, path = broker_in_process, unique_path()
    subscribe(client, receiver.url(path), entities=[{"type": "Car"}])
    assert client.post("/entities", json={"id": "urn:ngsi-ld:Car:1", "type": "Car", "speed": 1}).status_code == 201
    receiver.wait_for(path, 1, timeout=10)
    time.sleep(ANSWER_DELAY / 3)  # the delivery has looked again, found nothing, and waits for the answer
    assert client.patch("/entities/urn:ngsi-ld:Car:1/attrs", json={"speed": 2}).status_code == 204
    received = receiver.wait_for(path, 2, timeout=10)
    assert [item["body"]["data"][0]["speed"]["value"] for item in received] == [1, 2]

"""Changes that the notifier consumes together are stored as one notification per subscription, of up to
SCIFI_NOTIFICATION_GATHER changes, as pending ones would be gathered before their first attempt: one row written,
read and sent instead of one per change. A throttled subscription's stay one per change, which the store
coalesces by entity."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from broker.settings import Settings
from broker.store.base import NewNotification
from broker.store.sqlite import SQLiteStore
from tests.broker.entity_helpers import unique_type
from tests.conftest import unique_id
from tests.notifications.conftest import ReceiverProcess, served_in_process, subscribe, unique_path


def test_a_batch_is_stored_as_one_notification_per_subscription_up_to_the_gather_setting(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, receiver: ReceiverProcess) -> None:
    enqueued: dict[str, list[list[str]]] = {}
    """Per subscription, the ids of the entities of each notification stored."""
    enqueue = SQLiteStore.enqueue

    async def recording(store: SQLiteStore, tenant: str, notifications: Sequence[NewNotification],
                        **options: Any) -> dict[str, int]:
        for notification in notifications:
            ids = [entity["id"] for entity in notification.data]
            enqueued.setdefault(notification.subscription_id, []).append(ids)
        return await enqueue(store, tenant, notifications, **options)
    monkeypatch.setattr(SQLiteStore, "enqueue", recording)

    with served_in_process(Settings(data_dir=tmp_path, notification_gather=2)) as client:
        car, plain_path, throttled_path = unique_type(), unique_path(), unique_path()
        plain = subscribe(client, receiver.url(plain_path), entities=[{"type": car}])
        throttled = subscribe(client, receiver.url(throttled_path), entities=[{"type": car}], throttling=1)
        ids = [unique_id(car) for _ in range(3)]
        answer = client.post("/entityOperations/upsert", json=[{"id": entity_id, "type": car} for entity_id in ids])
        assert answer.status_code == 201, answer.text
        received = receiver.wait_for_entities(plain_path, 3)
        receiver.wait_for_entities(throttled_path, 3)

    assert enqueued[plain] == [ids[:2], ids[2:]]
    assert [entity["id"] for item in received for entity in item["body"]["data"]] == ids
    assert enqueued[throttled] == [[entity_id] for entity_id in ids]

"""The store's side of notifications: changes recorded in the writing transaction, pending notifications
(coalesced, gathered, trimmed), and their settlement."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from broker.store import EntityChange, NewNotification, StoredSubscription, SubscriptionChange
from broker.store.sqlite import SQLiteStore
from ngsi_ld.errors import AlreadyExists, ResourceNotFound

NOW = "2026-01-01T00:00:00.000000Z"
SUBSCRIPTION = "urn:ngsi-ld:Subscription:1"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    store = SQLiteStore(str(tmp_path))
    asyncio.run(store.open())
    yield store
    asyncio.run(store.aclose())


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


def entity(entity_id: str, speed: int) -> dict[str, Any]:
    return {"id": entity_id, "type": ["Car"], "createdAt": NOW, "modifiedAt": NOW,
            "attrs": {"speed": [{"type": "Property", "value": speed}]}}


def subscribe(store: SQLiteStore, subscription_id: str = SUBSCRIPTION) -> None:
    run(store.create_subscription("", StoredSubscription(subscription_id, {"type": "Subscription"}, None, NOW, NOW,
                                                         {})))


def notification(number: int, *ids: str, coalesce: bool = False) -> NewNotification:
    return NewNotification(SUBSCRIPTION, f"urn:n:{number}", NOW, [{"id": i, "n": number} for i in ids], coalesce)


def test_changes_are_recorded_only_when_the_tenant_has_subscriptions(store: SQLiteStore) -> None:
    run(store.create("", entity("urn:e:1", 1)))
    assert run(store.changes("", 10)) == []
    subscribe(store)
    run(store.modify("", "urn:e:1", lambda stored: stored["attrs"]["speed"][0].update(value=2)))
    run(store.modify("", "urn:e:1", lambda stored: None))  # changes nothing: nothing to notify
    run(store.delete("", "urn:e:1"))
    _, updated, deleted = run(store.changes("", 10))  # the first is the subscription's creation
    assert updated.before["attrs"]["speed"][0]["value"] == 1 and updated.after["attrs"]["speed"][0]["value"] == 2
    assert deleted.before["id"] == "urn:e:1" and deleted.after is None and updated.seq < deleted.seq


def test_a_failed_write_records_no_change(store: SQLiteStore) -> None:
    subscribe(store)
    run(store.create("", entity("urn:e:1", 1)))
    with pytest.raises(AlreadyExists):
        run(store.create("", entity("urn:e:1", 2)))
    changes = [change for change in run(store.changes("", 10)) if isinstance(change, EntityChange)]
    assert [change.after["attrs"]["speed"][0]["value"] for change in changes] == [1]


def test_enqueue_removes_the_changes_it_consumed(store: SQLiteStore) -> None:
    subscribe(store)
    for number in range(3):
        run(store.create("", entity(f"urn:e:{number}", number)))
    subscribed, first, *rest = run(store.changes("", 10))
    run(store.enqueue("", [notification(1, "urn:e:0")], through=first.seq))
    assert run(store.changes("", 10)) == rest
    assert run(store.pending_subscriptions("")) == [SUBSCRIPTION]


def test_coalescing_replaces_entities_of_the_unsent_notification(store: SQLiteStore) -> None:
    subscribe(store)
    run(store.enqueue("", [notification(1, "urn:e:1", "urn:e:2")]))
    run(store.enqueue("", [notification(2, "urn:e:2", "urn:e:3", coalesce=True)]))
    pending = run(store.pending("", SUBSCRIPTION))
    assert pending.notification_id == "urn:n:1"
    assert pending.data == [{"id": "urn:e:1", "n": 1}, {"id": "urn:e:2", "n": 2}, {"id": "urn:e:3", "n": 2}]
    run(store.enqueue("", [notification(3, "urn:e:4", coalesce=True)], busy=frozenset({pending.seq})))
    assert run(store.pending("", SUBSCRIPTION, gather=5)).data[-1] == {"id": "urn:e:4", "n": 3}


def test_gathering_merges_never_sent_notifications_in_order(store: SQLiteStore) -> None:
    subscribe(store)
    run(store.enqueue("", [notification(n, f"urn:e:{n}") for n in range(5)]))
    head = run(store.pending("", SUBSCRIPTION, gather=3))
    assert head.notification_id == "urn:n:0" and [item["n"] for item in head.data] == [0, 1, 2]
    run(store.settle("", head, {"timesFailed": 1}, delivered=False, not_before=5.0))
    retried = run(store.pending("", SUBSCRIPTION, gather=10))
    assert retried.data == head.data and retried.attempts == 1 and retried.not_before == 5.0
    run(store.settle("", retried, {"timesSent": 2}, delivered=True))
    assert [item["n"] for item in run(store.pending("", SUBSCRIPTION, gather=10)).data] == [3, 4]
    assert run(store.subscription("", SUBSCRIPTION)).state == {"timesSent": 2}


def test_backlog_drops_the_oldest(store: SQLiteStore) -> None:
    subscribe(store)
    assert run(store.enqueue("", [notification(n, f"urn:e:{n}") for n in range(5)], backlog=2)) == {SUBSCRIPTION: 3}
    assert [item["n"] for item in run(store.pending("", SUBSCRIPTION, gather=10)).data] == [3, 4]


def test_deleting_a_subscription_drops_its_pending_notifications(store: SQLiteStore) -> None:
    subscribe(store)
    run(store.enqueue("", [notification(1, "urn:e:1")]))
    assert run(store.delete_subscription("", SUBSCRIPTION)) is True
    assert run(store.pending("", SUBSCRIPTION)) is None and run(store.pending_subscriptions("")) == []
    run(store.enqueue("", [notification(2, "urn:e:1")]))  # made from a change before the deletion: dropped
    assert run(store.pending_subscriptions("")) == []
    assert run(store.delete_subscription("", SUBSCRIPTION)) is False
    with pytest.raises(ResourceNotFound):
        run(store.modify_subscription("", SUBSCRIPTION, lambda current: current))


def test_subscription_writes_are_in_the_log_between_entity_changes(store: SQLiteStore) -> None:
    subscribe(store)
    run(store.create("", entity("urn:e:1", 1)))
    run(store.modify_subscription("", SUBSCRIPTION, lambda current: replace(current, payload={"q": "speed>1"})))
    run(store.create("", entity("urn:e:2", 2)))
    run(store.delete_subscription("", SUBSCRIPTION))
    created, first, modified, second, deleted = run(store.changes("", 10))
    assert isinstance(created, SubscriptionChange) and created.subscription is not None
    assert isinstance(first, EntityChange) and first.after["id"] == "urn:e:1"
    assert isinstance(modified, SubscriptionChange) and modified.subscription.payload == {"q": "speed>1"}
    assert isinstance(second, EntityChange) and second.after["id"] == "urn:e:2"
    assert deleted == SubscriptionChange(deleted.seq, SUBSCRIPTION, None)


def test_subscriptions_before_changes_are_where_the_log_starts(store: SQLiteStore) -> None:
    subscribe(store, "urn:s:kept")
    run(store.enqueue("", [], through=run(store.changes("", 10))[-1].seq))
    run(store.modify_subscription("", "urn:s:kept", lambda current: replace(current, payload={"q": "a==2"})))
    subscribe(store, "urn:s:new")
    assert [(s.id, s.payload) for s in run(store.subscriptions_before_changes(""))] == [
        ("urn:s:kept", {"type": "Subscription"})]
    run(store.enqueue("", [], through=run(store.changes("", 10))[-1].seq))
    assert [(s.id, s.payload) for s in run(store.subscriptions_before_changes(""))] == [
        ("urn:s:kept", {"q": "a==2"}), ("urn:s:new", {"type": "Subscription"})]

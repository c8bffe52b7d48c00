"""Subscriptions in the MongoDB store, the log of changes the notifier plays, and pending notifications.

Collections of the tenant's database, their payloads kept as JSON text (their keys may hold dots and '$'):
- `subscriptions`: `_id` the id, `seq` creation order, `payload`, `context`, `created_at`, `modified_at`, `state`;
- `changes`: `_id` the seq, `sub` the subscription id (None for an entity change), `before`, `after`, `at`;
- `notifications`: `_id` the seq, `sub`, `nid` the notification id, `at`, `data`, `attempts`, `not_before`;
- `dead_letters`: the same as `notifications`, with `dead_at` in place of `not_before`; a subscription counts
  its own in `dead` (which `state` shows as deadLettered).

As in the SQLite store, every entity write of a tenant that has subscriptions records its changes in its own
transaction, and so does every write of a subscription; the notifier turns them into notifications and
removes them in one transaction.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Any, TypeVar

import orjson
from pymongo import ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession

from broker.store.base import (
    DEAD_LETTERED,
    DeadLetter,
    EntityChange,
    NewNotification,
    PendingNotification,
    StoredSubscription,
    SubscriptionChange,
    too_many_subscriptions,
)
from broker.store.mongo_session import Database, next_seqs, served
from broker.store.sqlite_subscriptions import joined_entities
from ngsi_ld.errors import AlreadyExists, ResourceNotFound
from ngsi_ld.values import utc_now

__all__ = ["SubscriptionCollections", "record_changes"]

T = TypeVar("T")


async def record_changes(database: Database, session: AsyncClientSession,
                         written: list[tuple[str | None, str | None, str]]) -> bool:
    """Records (before, after, at) entity documents for the notifier, when the tenant has a subscription."""
    if not written or await database.subscriptions.find_one({}, {"_id": 1}, session=session) is None:
        return False
    seqs = await next_seqs(database, session, "changes", len(written))
    await database.changes.insert_many(
        [{"_id": seq, "sub": None, "before": before, "after": after, "at": at}
         for seq, (before, after, at) in zip(seqs, written, strict=True)], session=session)
    return True


@served
class SubscriptionCollections:
    """The subscription part of the MongoDB store (mixed into MongoStore, which provides the databases)."""

    _existing: Callable[[str], Awaitable[Database]]
    _created: Callable[[str], Awaitable[Database]]
    _fence: Callable[[AsyncClientSession], Awaitable[None]]

    async def _transaction(self, attempt: Callable[[AsyncClientSession], Awaitable[T]]) -> T:
        raise NotImplementedError()  # pragma: no cover

    async def create_subscription(self, tenant: str, subscription: StoredSubscription, most: int = 0) -> None:
        database = await self._created(tenant)

        async def attempt(session: AsyncClientSession) -> None:
            if await database.subscriptions.find_one({"_id": subscription.id}, {"_id": 1}, session=session):
                raise AlreadyExists(f"Subscription '{subscription.id}' already exists")
            if most and await database.subscriptions.count_documents({}, limit=most, session=session) >= most:
                raise too_many_subscriptions(most)
            [seq] = await next_seqs(database, session, "subscriptions", 1)
            await database.subscriptions.insert_one({**_subscription_document(subscription), "seq": seq},
                                                    session=session)
            await _record_subscription(database, session, subscription.id, None, subscription)
        await self._transaction(attempt)

    async def subscription(self, tenant: str, subscription_id: str) -> StoredSubscription | None:
        found = await (await self._existing(tenant)).subscriptions.find_one({"_id": subscription_id})
        return None if found is None else _subscription(found)

    async def subscriptions(self, tenant: str, limit: int = 0, offset: int = 0) -> tuple[list[StoredSubscription], int]:
        collection = (await self._existing(tenant)).subscriptions
        page = [_subscription(found) async for found in collection.find().sort("seq").skip(offset).limit(limit)]
        return page, await collection.count_documents({})

    async def modify_subscription(
        self, tenant: str, subscription_id: str, change: Callable[[StoredSubscription], StoredSubscription]
    ) -> None:
        database = await self._existing(tenant)

        async def attempt(session: AsyncClientSession) -> None:
            found = await database.subscriptions.find_one({"_id": subscription_id}, session=session)
            if found is None:
                raise ResourceNotFound(f"Subscription '{subscription_id}' does not exist")
            current = _subscription(found)
            changed = change(current)
            fields = _subscription_document(changed)
            await database.subscriptions.update_one(
                {"_id": subscription_id},
                {"$set": {name: fields[name] for name in ("payload", "context", "modified_at", "state")}},
                session=session,
            )
            await _record_subscription(database, session, subscription_id, current, changed)
        await self._transaction(attempt)

    async def delete_subscription(self, tenant: str, subscription_id: str) -> bool:
        database = await self._existing(tenant)

        async def attempt(session: AsyncClientSession) -> bool:
            found = await database.subscriptions.find_one_and_delete({"_id": subscription_id}, session=session)
            if found is None:
                return False
            await database.notifications.delete_many({"sub": subscription_id}, session=session)
            await database.dead_letters.delete_many({"sub": subscription_id}, session=session)
            await _record_subscription(database, session, subscription_id, _subscription(found), None)
            return True
        return await self._transaction(attempt)

    async def subscriptions_before_changes(self, tenant: str) -> list[StoredSubscription]:
        database = await self._existing(tenant)

        async def attempt(session: AsyncClientSession) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
            current = await database.subscriptions.find(session=session).sort("seq").to_list()
            earliest = await (await database.changes.aggregate([
                {"$match": {"sub": {"$ne": None}}}, {"$sort": {"_id": 1}},
                {"$group": {"_id": "$sub", "before": {"$first": "$before"}}},
            ], session=session)).to_list()
            return current, earliest
        found, earliest = await self._transaction(attempt)
        current = {document["_id"]: _subscription(document) for document in found}
        for first in earliest:
            current.pop(first["_id"], None)
            if first["before"] is not None:
                current[first["_id"]] = _subscription(orjson.loads(first["before"]))
        return list(current.values())

    async def changes(self, tenant: str, limit: int) -> list[EntityChange | SubscriptionChange]:
        cursor = (await self._existing(tenant)).changes.find().sort("_id").limit(limit)
        return [
            EntityChange(found["_id"], _loaded(found["before"]), _loaded(found["after"]), found["at"])
            if found["sub"] is None else SubscriptionChange(found["_id"], found["sub"], _recorded(found["after"]))
            async for found in cursor
        ]

    async def enqueue(
        self, tenant: str, notifications: Sequence[NewNotification], *, through: int | None = None,
        busy: frozenset[int] = frozenset(), backlog: int = 0,
    ) -> dict[str, int]:
        database = await self._existing(tenant)

        async def attempt(session: AsyncClientSession) -> dict[str, int]:
            await self._fence(session)
            for notification in notifications:
                if not (notification.coalesce and await _coalesced(database, session, notification, busy)):
                    await _add(database, session, notification)
            dropped = {}
            if backlog:
                for subscription_id in {notification.subscription_id for notification in notifications}:
                    dropped[subscription_id] = await _trim(database, session, subscription_id, backlog, busy)
            if through is not None:
                await database.changes.delete_many({"_id": {"$lte": through}}, session=session)
            return dropped
        dropped = await self._transaction(attempt)
        return {subscription_id: count for subscription_id, count in dropped.items() if count}

    async def pending(self, tenant: str, subscription_id: str, *, gather: int = 1) -> PendingNotification | None:
        database = await self._existing(tenant)
        oldest = {"sub": subscription_id}
        found = await database.notifications.find(oldest).sort("_id").limit(gather).to_list()
        if not found:
            return None
        head = _pending(found[0])
        if head.attempts or len(found) == 1:
            return head

        async def attempt(session: AsyncClientSession) -> PendingNotification:
            found = await database.notifications.find(oldest, session=session).sort("_id").limit(gather).to_list()
            head = _pending(found[0])
            if head.attempts:
                return head
            data = [item for document in found for item in orjson.loads(document["data"])]
            await database.notifications.update_one({"_id": head.seq}, {"$set": {"data": orjson.dumps(data).decode()}},
                                                    session=session)
            await database.notifications.delete_many(
                {"sub": subscription_id, "_id": {"$gt": head.seq, "$lte": found[-1]["_id"]}}, session=session)
            return replace(head, data=data)
        return await self._transaction(attempt)

    async def count_unsettled(self, tenant: str) -> None:
        database = await self._existing(tenant)
        heads = await (await database.notifications.aggregate(
            [{"$group": {"_id": "$sub", "head": {"$min": "$_id"}}}])).to_list()
        await database.notifications.update_many({"_id": {"$in": [found["head"] for found in heads]}, "attempts": 0},
                                                 {"$set": {"attempts": 1}})

    async def pending_subscriptions(self, tenant: str) -> list[str]:
        return list(await (await self._existing(tenant)).notifications.distinct("sub"))

    async def settle(
        self, tenant: str, notification: PendingNotification, state: dict[str, Any], *, delivered: bool,
        not_before: float = 0.0,
    ) -> None:
        database = await self._existing(tenant)

        async def attempt(session: AsyncClientSession) -> None:
            if delivered:
                await database.notifications.delete_one({"_id": notification.seq}, session=session)
            else:
                await database.notifications.update_one(
                    {"_id": notification.seq}, {"$inc": {"attempts": 1}, "$set": {"not_before": not_before}},
                    session=session)
            await database.subscriptions.update_one(
                {"_id": notification.subscription_id}, {"$set": {"state": orjson.dumps(state).decode()}},
                session=session)
        await self._transaction(attempt)

    async def bury(self, tenant: str, notification: PendingNotification, state: dict[str, Any]) -> int:
        database = await self._existing(tenant)
        subscription_id = notification.subscription_id

        async def attempt(session: AsyncClientSession) -> int:
            await database.notifications.update_one({"_id": notification.seq}, {"$inc": {"attempts": 1}},
                                                    session=session)
            waiting = await database.notifications.find({"sub": subscription_id}, session=session).sort(
                "_id").to_list()
            if waiting:
                seqs = await next_seqs(database, session, "dead_letters", len(waiting))
                dead_at = utc_now()
                await database.dead_letters.insert_many(
                    [{**{name: found[name] for name in ("sub", "nid", "at", "data", "attempts")}, "_id": seq,
                      "dead_at": dead_at} for seq, found in zip(seqs, waiting, strict=True)], session=session)
                await database.notifications.delete_many({"sub": subscription_id}, session=session)
            await database.subscriptions.update_one(
                {"_id": subscription_id},
                {"$set": {"state": orjson.dumps(state).decode()}, "$inc": {"dead": len(waiting)}}, session=session)
            return len(waiting)
        return await self._transaction(attempt)

    async def dead_letters(self, tenant: str, subscription_id: str | None = None) -> list[DeadLetter]:
        cursor = (await self._existing(tenant)).dead_letters.find(_of_subscription(subscription_id)).sort("_id")
        return [DeadLetter(found["_id"], found["sub"], found["nid"], found["at"], orjson.loads(found["data"]),
                           found["attempts"], found["dead_at"]) async for found in cursor]

    async def replay_dead_letters(self, tenant: str, subscription_id: str | None = None) -> int:
        database = await self._existing(tenant)

        async def attempt(session: AsyncClientSession) -> int:
            dead = await database.dead_letters.find(_of_subscription(subscription_id), session=session).sort(
                "_id").to_list()
            if not dead:
                return 0
            seqs = await next_seqs(database, session, "notifications", len(dead))
            await database.notifications.insert_many(
                [{"_id": seq, "sub": found["sub"], "nid": found["nid"], "at": found["at"], "data": found["data"],
                  "attempts": min(found["attempts"], 1), "not_before": 0.0}
                 for seq, found in zip(seqs, dead, strict=True)], session=session)
            await database.dead_letters.delete_many({"_id": {"$in": [found["_id"] for found in dead]}},
                                                    session=session)
            for concerned in dict.fromkeys(found["sub"] for found in dead):
                current = await database.subscriptions.find_one_and_update(
                    {"_id": concerned}, {"$set": {"dead": 0}}, return_document=ReturnDocument.AFTER, session=session)
                if current is not None:  # its notifier's delivery wakes up on the change
                    stored = _subscription(current)
                    await _record_subscription(database, session, concerned, stored, stored)
            return len(dead)
        return await self._transaction(attempt)

    async def purge_dead_letters(self, tenant: str, subscription_id: str | None = None) -> int:
        database = await self._existing(tenant)

        async def attempt(session: AsyncClientSession) -> int:
            selected = _of_subscription(subscription_id)
            concerned = await database.dead_letters.distinct("sub", selected, session=session)
            purged = await database.dead_letters.delete_many(selected, session=session)
            await database.subscriptions.update_many({"_id": {"$in": concerned}}, {"$set": {"dead": 0}},
                                                     session=session)
            return purged.deleted_count
        return await self._transaction(attempt)


def _of_subscription(subscription_id: str | None) -> dict[str, Any]:
    return {} if subscription_id is None else {"sub": subscription_id}


async def _record_subscription(
    database: Database, session: AsyncClientSession, subscription_id: str, before: StoredSubscription | None,
    after: StoredSubscription | None,
) -> None:
    """Records a write of a subscription in the log of changes: what it was and what it became (None: absent)."""
    [seq] = await next_seqs(database, session, "changes", 1)
    recorded = [None if state is None else orjson.dumps(_subscription_document(state)).decode()
                for state in (before, after)]
    await database.changes.insert_one(
        {"_id": seq, "sub": subscription_id, "before": recorded[0], "after": recorded[1], "at": utc_now()},
        session=session)


async def _add(database: Database, session: AsyncClientSession, notification: NewNotification) -> None:
    """Adds a notification, when its subscription still exists."""
    if await database.subscriptions.find_one({"_id": notification.subscription_id}, {"_id": 1},
                                             session=session) is None:
        return
    [seq] = await next_seqs(database, session, "notifications", 1)
    await database.notifications.insert_one(
        {"_id": seq, "sub": notification.subscription_id, "nid": notification.notification_id,
         "at": notification.notified_at, "data": orjson.dumps(notification.data).decode(), "attempts": 0,
         "not_before": 0.0},
        session=session)


async def _coalesced(database: Database, session: AsyncClientSession, notification: NewNotification,
                     busy: frozenset[int]) -> bool:
    """Joins the notification to the latest unsent one of its subscription; False when there is none."""
    found = await database.notifications.find_one({"sub": notification.subscription_id, "attempts": 0},
                                                  sort=[("_id", -1)], session=session)
    if found is None or found["_id"] in busy:
        return False
    data = list(joined_entities(orjson.loads(found["data"]), notification.data))
    await database.notifications.update_one({"_id": found["_id"]}, {"$set": {"data": orjson.dumps(data).decode()}},
                                            session=session)
    return True


async def _trim(database: Database, session: AsyncClientSession, subscription_id: str, backlog: int,
                busy: frozenset[int]) -> int:
    """Drops the oldest notifications of the subscription beyond `backlog` (not the busy ones); how many."""
    count = await database.notifications.count_documents({"sub": subscription_id}, session=session)
    if count <= backlog:
        return 0
    oldest = await database.notifications.find(
        {"sub": subscription_id, "_id": {"$nin": list(busy)}}, {"_id": 1}, session=session,
    ).sort("_id").limit(count - backlog).to_list()
    dropped = await database.notifications.delete_many({"_id": {"$in": [found["_id"] for found in oldest]}},
                                                       session=session)
    return dropped.deleted_count


def _subscription_document(subscription: StoredSubscription) -> dict[str, Any]:
    return {"_id": subscription.id, "payload": orjson.dumps(subscription.payload).decode(),
            "context": orjson.dumps(subscription.context).decode(), "created_at": subscription.created_at,
            "modified_at": subscription.modified_at, "state": orjson.dumps(subscription.state).decode()}


def _subscription(document: dict[str, Any]) -> StoredSubscription:
    state = orjson.loads(document["state"])
    state.pop(DEAD_LETTERED, None)
    if document.get("dead"):
        state[DEAD_LETTERED] = document["dead"]
    return StoredSubscription(document["_id"], orjson.loads(document["payload"]), orjson.loads(document["context"]),
                              document["created_at"], document["modified_at"], state)


def _recorded(text: str | None) -> StoredSubscription | None:
    return None if text is None else _subscription(orjson.loads(text))


def _loaded(doc: str | None) -> Any:
    return None if doc is None else orjson.loads(doc)


def _pending(document: dict[str, Any]) -> PendingNotification:
    return PendingNotification(document["_id"], document["sub"], document["nid"], document["at"],
                               orjson.loads(document["data"]), document["attempts"], document["not_before"])

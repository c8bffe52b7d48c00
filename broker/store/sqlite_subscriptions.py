"""Subscriptions, the outbox of changes and pending notifications, in each tenant's SQLite file.

An entity write records its changes in `changes` in its own transaction when the tenant has a subscription,
and so does every write of a subscription; the notifier moves them into `notifications` and removes them
in one transaction, so a change is notified once, and a notification stays until an attempt to deliver it
succeeds.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import Any, TypeVar

import orjson

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
from broker.store.sqlite_connection import served, snapshot
from broker.store.sqlite_writer import GroupWriter
from ngsi_ld.errors import AlreadyExists, ResourceNotFound
from ngsi_ld.values import utc_now

__all__ = ["SUBSCRIPTION_TABLES", "SubscriptionTables", "joined_entities", "record_changes"]

T = TypeVar("T")

SUBSCRIPTION_TABLES = """
CREATE TABLE IF NOT EXISTS subscriptions (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    payload TEXT NOT NULL,
    context TEXT NOT NULL,
    created_at TEXT NOT NULL,
    modified_at TEXT NOT NULL,
    state TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS changes (
    seq INTEGER PRIMARY KEY,
    subscription_id TEXT,
    before TEXT,
    after TEXT,
    at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS notifications (
    seq INTEGER PRIMARY KEY,
    subscription_id TEXT NOT NULL,
    notification_id TEXT NOT NULL,
    notified_at TEXT NOT NULL,
    data TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    not_before REAL NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS notifications_by_subscription ON notifications (subscription_id, seq);
CREATE TABLE IF NOT EXISTS dead_letters (
    seq INTEGER PRIMARY KEY,
    subscription_id TEXT NOT NULL,
    notification_id TEXT NOT NULL,
    notified_at TEXT NOT NULL,
    data TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    dead_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS dead_letters_by_subscription ON dead_letters (subscription_id, seq);
"""

_SUBSCRIPTION_COLUMNS = "id, payload, context, created_at, modified_at, state"
_NOTIFICATION_COLUMNS = "seq, subscription_id, notification_id, notified_at, data, attempts, not_before"
_DEAD_LETTER_COLUMNS = "seq, subscription_id, notification_id, notified_at, data, attempts, dead_at"
_KEEP_DEAD_LETTERED = f"json_patch(?, json_object('{DEAD_LETTERED}', json_extract(state, '$.{DEAD_LETTERED}')))"
"""The state the notifier gives (a JSON parameter), with the stored count of dead letters, which only the
store changes."""


def record_changes(connection: sqlite3.Connection, written: list[tuple[str | None, str | None, str]]) -> bool:
    """Records (before, after, at) entity documents for the notifier, when the tenant has a subscription."""
    if not written or connection.execute("SELECT 1 FROM subscriptions LIMIT 1").fetchone() is None:
        return False
    connection.executemany("INSERT INTO changes (before, after, at) VALUES (?, ?, ?)", written)
    return True


@served
class SubscriptionTables:
    """The subscription part of the SQLite store (mixed into SQLiteStore, which provides the connections)."""

    _connection: Callable[[str, bool], sqlite3.Connection]
    _writers: dict[str, GroupWriter]

    async def _transaction(self, tenant: str, work: Callable[[sqlite3.Connection], T], create: bool = False) -> T:
        """What `work` returns, run in a write transaction of the tenant's file, with the entity writes waiting."""
        self._connection(tenant, create)
        return await self._writers[tenant].run(work)

    async def create_subscription(self, tenant: str, subscription: StoredSubscription, most: int = 0) -> None:
        def create(connection: sqlite3.Connection) -> None:
            if most and connection.execute("SELECT COUNT(*) FROM subscriptions").fetchone()[0] >= most:
                raise too_many_subscriptions(most)
            try:
                connection.execute(
                    f"INSERT INTO subscriptions ({_SUBSCRIPTION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
                    _subscription_row(subscription),
                )
            except sqlite3.IntegrityError:
                raise AlreadyExists(f"Subscription '{subscription.id}' already exists") from None
            _record_subscription(connection, subscription.id, None, subscription)
        await self._transaction(tenant, create, create=True)

    async def subscription(self, tenant: str, subscription_id: str) -> StoredSubscription | None:
        row = self._connection(tenant, False).execute(
            f"SELECT {_SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE id = ?", (subscription_id,)
        ).fetchone()
        return None if row is None else _subscription(row)

    async def subscriptions(self, tenant: str, limit: int = 0, offset: int = 0) -> tuple[list[StoredSubscription], int]:
        connection = self._connection(tenant, False)
        rows = connection.execute(
            f"SELECT {_SUBSCRIPTION_COLUMNS} FROM subscriptions ORDER BY seq LIMIT ? OFFSET ?",
            (limit or -1, offset),
        ).fetchall()
        count = connection.execute("SELECT COUNT(*) FROM subscriptions").fetchone()[0]
        return [_subscription(row) for row in rows], count

    async def modify_subscription(
        self, tenant: str, subscription_id: str, change: Callable[[StoredSubscription], StoredSubscription]
    ) -> None:
        def modify(connection: sqlite3.Connection) -> None:
            row = connection.execute(
                f"SELECT {_SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE id = ?", (subscription_id,)
            ).fetchone()
            if row is None:
                raise ResourceNotFound(f"Subscription '{subscription_id}' does not exist")
            current = _subscription(row)
            changed = change(current)
            connection.execute(
                "UPDATE subscriptions SET payload = ?, context = ?, modified_at = ?, state = ? WHERE id = ?",
                (*_subscription_row(changed)[1:3], changed.modified_at, orjson.dumps(changed.state).decode(),
                 subscription_id),
            )
            _record_subscription(connection, subscription_id, current, changed)
        await self._transaction(tenant, modify)

    async def delete_subscription(self, tenant: str, subscription_id: str) -> bool:
        def delete(connection: sqlite3.Connection) -> bool:
            row = connection.execute(
                f"SELECT {_SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE id = ?", (subscription_id,)
            ).fetchone()
            if row is None:
                return False
            connection.execute("DELETE FROM subscriptions WHERE id = ?", (subscription_id,))
            connection.execute("DELETE FROM notifications WHERE subscription_id = ?", (subscription_id,))
            connection.execute("DELETE FROM dead_letters WHERE subscription_id = ?", (subscription_id,))
            _record_subscription(connection, subscription_id, _subscription(row), None)
            return True
        return await self._transaction(tenant, delete)

    async def subscriptions_before_changes(self, tenant: str) -> list[StoredSubscription]:
        with snapshot(self._connection(tenant, False)) as connection:
            current = {row[0]: _subscription(row) for row in connection.execute(
                f"SELECT {_SUBSCRIPTION_COLUMNS} FROM subscriptions ORDER BY seq")}
            earliest = connection.execute(
                "SELECT subscription_id, before FROM changes WHERE seq IN "
                "(SELECT MIN(seq) FROM changes WHERE subscription_id IS NOT NULL GROUP BY subscription_id)"
            ).fetchall()
        for subscription_id, before in earliest:
            current.pop(subscription_id, None)
            if before is not None:
                current[subscription_id] = _subscription(orjson.loads(before))
        return list(current.values())

    async def changes(self, tenant: str, limit: int) -> list[EntityChange | SubscriptionChange]:
        rows = self._connection(tenant, False).execute(
            "SELECT seq, subscription_id, before, after, at FROM changes ORDER BY seq LIMIT ?", (limit,)
        )
        return [
            EntityChange(seq, _loaded(before), _loaded(after), at) if subscription_id is None
            else SubscriptionChange(seq, subscription_id, _recorded(after))
            for seq, subscription_id, before, after, at in rows
        ]

    async def enqueue(
        self, tenant: str, notifications: Sequence[NewNotification], *, through: int | None = None,
        busy: frozenset[int] = frozenset(), backlog: int = 0,
    ) -> dict[str, int]:
        def enqueue(connection: sqlite3.Connection) -> dict[str, int]:
            dropped: dict[str, int] = {}
            for notification in notifications:
                if not (notification.coalesce and _coalesced(connection, notification, busy)):
                    connection.execute(
                        "INSERT INTO notifications (subscription_id, notification_id, notified_at, data) "
                        "SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM subscriptions WHERE id = ?)",
                        (notification.subscription_id, notification.notification_id, notification.notified_at,
                         orjson.dumps(notification.data).decode(), notification.subscription_id),
                    )
            if backlog:
                for subscription_id in {notification.subscription_id for notification in notifications}:
                    dropped[subscription_id] = _trim(connection, subscription_id, backlog, busy)
            if through is not None:
                connection.execute("DELETE FROM changes WHERE seq <= ?", (through,))
            return {subscription_id: count for subscription_id, count in dropped.items() if count}
        return await self._transaction(tenant, enqueue)

    async def pending(self, tenant: str, subscription_id: str, *, gather: int = 1) -> PendingNotification | None:
        connection = self._connection(tenant, False)
        select = f"SELECT {_NOTIFICATION_COLUMNS} FROM notifications WHERE subscription_id = ? ORDER BY seq LIMIT ?"
        rows = connection.execute(select, (subscription_id, gather)).fetchall()
        if not rows:
            return None
        head = _pending(rows[0])
        if head.attempts or len(rows) == 1:
            return head

        def gathered(connection: sqlite3.Connection) -> PendingNotification | None:
            rows = connection.execute(select, (subscription_id, gather)).fetchall()
            if not rows:
                return None  # dropped meanwhile: its subscription deleted, or the oldest beyond the backlog
            head = _pending(rows[0])
            if head.attempts or len(rows) == 1:
                return head
            data = [item for row in rows for item in orjson.loads(row[4])]
            connection.execute("UPDATE notifications SET data = ? WHERE seq = ?",
                               (orjson.dumps(data).decode(), head.seq))
            connection.execute("DELETE FROM notifications WHERE subscription_id = ? AND seq > ? AND seq <= ?",
                               (subscription_id, head.seq, rows[-1][0]))
            return replace(head, data=data)
        return await self._transaction(tenant, gathered)

    async def count_unsettled(self, tenant: str) -> None:
        def count(connection: sqlite3.Connection) -> None:
            connection.execute("UPDATE notifications SET attempts = 1 WHERE attempts = 0 AND seq IN "
                               "(SELECT MIN(seq) FROM notifications GROUP BY subscription_id)")
        await self._transaction(tenant, count)

    async def pending_subscriptions(self, tenant: str) -> list[str]:
        rows = self._connection(tenant, False).execute("SELECT DISTINCT subscription_id FROM notifications")
        return [subscription_id for (subscription_id,) in rows]

    async def settle(
        self, tenant: str, notification: PendingNotification, state: dict[str, Any], *, delivered: bool,
        not_before: float = 0.0,
    ) -> None:
        def settle(connection: sqlite3.Connection) -> None:
            if delivered:
                connection.execute("DELETE FROM notifications WHERE seq = ?", (notification.seq,))
            else:
                connection.execute(
                    "UPDATE notifications SET attempts = attempts + 1, not_before = ? WHERE seq = ?",
                    (not_before, notification.seq),
                )
            connection.execute(f"UPDATE subscriptions SET state = {_KEEP_DEAD_LETTERED} WHERE id = ?",
                               (orjson.dumps(state).decode(), notification.subscription_id))
        await self._transaction(tenant, settle)

    async def bury(self, tenant: str, notification: PendingNotification, state: dict[str, Any]) -> int:
        subscription_id = notification.subscription_id

        def bury(connection: sqlite3.Connection) -> int:
            connection.execute("UPDATE notifications SET attempts = attempts + 1 WHERE seq = ?", (notification.seq,))
            moved = connection.execute(
                "INSERT INTO dead_letters (subscription_id, notification_id, notified_at, data, attempts, dead_at) "
                "SELECT subscription_id, notification_id, notified_at, data, attempts, ? FROM notifications "
                "WHERE subscription_id = ? ORDER BY seq", (utc_now(), subscription_id),
            ).rowcount
            connection.execute("DELETE FROM notifications WHERE subscription_id = ?", (subscription_id,))
            connection.execute(f"UPDATE subscriptions SET state = {_KEEP_DEAD_LETTERED} WHERE id = ?",
                               (orjson.dumps(state).decode(), subscription_id))
            _count_dead_letters(connection, [subscription_id])
            return int(moved)
        return await self._transaction(tenant, bury)

    async def dead_letters(self, tenant: str, subscription_id: str | None = None) -> list[DeadLetter]:
        where, params = _of_subscription(subscription_id)
        rows = self._connection(tenant, False).execute(
            f"SELECT {_DEAD_LETTER_COLUMNS} FROM dead_letters WHERE {where} ORDER BY seq", params)
        return [DeadLetter(seq, sub, nid, at, orjson.loads(data), attempts, dead_at)
                for seq, sub, nid, at, data, attempts, dead_at in rows]

    async def replay_dead_letters(self, tenant: str, subscription_id: str | None = None) -> int:
        where, params = _of_subscription(subscription_id)

        def replay(connection: sqlite3.Connection) -> int:
            replayed = connection.execute(
                "INSERT INTO notifications (subscription_id, notification_id, notified_at, data, attempts) "
                "SELECT subscription_id, notification_id, notified_at, data, min(attempts, 1) FROM dead_letters "
                f"WHERE {where} "
                "ORDER BY seq", params,
            ).rowcount
            concerned = _dead_letter_subscriptions(connection, where, params)
            connection.execute(f"DELETE FROM dead_letters WHERE {where}", params)
            for row in _count_dead_letters(connection, concerned):
                current = _subscription(row)
                _record_subscription(connection, current.id, current, current)  # wakes the notifier's delivery
            return int(replayed)
        return await self._transaction(tenant, replay)

    async def purge_dead_letters(self, tenant: str, subscription_id: str | None = None) -> int:
        where, params = _of_subscription(subscription_id)

        def purge(connection: sqlite3.Connection) -> int:
            concerned = _dead_letter_subscriptions(connection, where, params)
            purged = connection.execute(f"DELETE FROM dead_letters WHERE {where}", params).rowcount
            _count_dead_letters(connection, concerned)
            return int(purged)
        return await self._transaction(tenant, purge)


def _of_subscription(subscription_id: str | None) -> tuple[str, tuple[str, ...]]:
    return ("1", ()) if subscription_id is None else ("subscription_id = ?", (subscription_id,))


def _dead_letter_subscriptions(connection: sqlite3.Connection, where: str, params: tuple[str, ...]) -> list[str]:
    rows = connection.execute(f"SELECT DISTINCT subscription_id FROM dead_letters WHERE {where}", params)
    return [subscription_id for (subscription_id,) in rows]


def _count_dead_letters(connection: sqlite3.Connection, subscription_ids: list[str]) -> list[tuple[Any, ...]]:
    """Stores in the state of each of the subscriptions how many dead letters it has; their rows as now."""
    rows = []
    for subscription_id in subscription_ids:
        count = connection.execute("SELECT COUNT(*) FROM dead_letters WHERE subscription_id = ?",
                                   (subscription_id,)).fetchone()[0]
        row = connection.execute(
            f"UPDATE subscriptions SET state = json_set(state, '$.{DEAD_LETTERED}', ?) WHERE id = ? "
            f"RETURNING {_SUBSCRIPTION_COLUMNS}", (count, subscription_id),
        ).fetchone()
        if row is not None:
            rows.append(row)
    return rows


def _record_subscription(
    connection: sqlite3.Connection, subscription_id: str, before: StoredSubscription | None,
    after: StoredSubscription | None,
) -> None:
    """Records a write of a subscription in the log of changes: what it was and what it became (None: absent)."""
    rows = [None if state is None else orjson.dumps(_subscription_row(state)).decode() for state in (before, after)]
    connection.execute("INSERT INTO changes (subscription_id, before, after, at) VALUES (?, ?, ?, ?)",
                       (subscription_id, *rows, utc_now()))


def _recorded(row: str | None) -> StoredSubscription | None:
    return None if row is None else _subscription(orjson.loads(row))


def _subscription_row(subscription: StoredSubscription) -> tuple[str, ...]:
    return (
        subscription.id, orjson.dumps(subscription.payload).decode(), orjson.dumps(subscription.context).decode(),
        subscription.created_at, subscription.modified_at, orjson.dumps(subscription.state).decode(),
    )


def _subscription(row: tuple[Any, ...]) -> StoredSubscription:
    subscription_id, payload, context, created_at, modified_at, state = row
    return StoredSubscription(subscription_id, orjson.loads(payload), orjson.loads(context), created_at, modified_at,
                              orjson.loads(state))


def _pending(row: tuple[Any, ...]) -> PendingNotification:
    seq, subscription_id, notification_id, notified_at, data, attempts, not_before = row
    return PendingNotification(seq, subscription_id, notification_id, notified_at, orjson.loads(data), attempts,
                               not_before)


def _loaded(doc: str | None) -> Any:
    return None if doc is None else orjson.loads(doc)


def _coalesced(connection: sqlite3.Connection, notification: NewNotification, busy: frozenset[int]) -> bool:
    """Joins the notification to the latest unsent one of its subscription; False when there is none."""
    row = connection.execute(
        "SELECT seq, data FROM notifications WHERE subscription_id = ? AND attempts = 0 ORDER BY seq DESC LIMIT 1",
        (notification.subscription_id,),
    ).fetchone()
    if row is None or row[0] in busy:
        return False
    data = list(joined_entities(orjson.loads(row[1]), notification.data))
    connection.execute("UPDATE notifications SET data = ? WHERE seq = ?", (orjson.dumps(data).decode(), row[0]))
    return True


def joined_entities(waiting: list[Any], arriving: list[Any]) -> Iterator[Any]:
    """The entities of both, those arriving taking the place of waiting ones with the same id."""
    arriving_ids = {item.get("id") for item in arriving if isinstance(item, dict)}
    yield from (item for item in waiting if not isinstance(item, dict) or item.get("id") not in arriving_ids)
    yield from arriving


def _trim(connection: sqlite3.Connection, subscription_id: str, backlog: int, busy: frozenset[int]) -> int:
    """Drops the oldest notifications of the subscription beyond `backlog` (not the busy ones); how many."""
    count = connection.execute(
        "SELECT COUNT(*) FROM notifications WHERE subscription_id = ?", (subscription_id,)
    ).fetchone()[0]
    if count <= backlog:
        return 0
    marks = ", ".join("?" * len(busy))
    return connection.execute(
        f"DELETE FROM notifications WHERE seq IN (SELECT seq FROM notifications WHERE subscription_id = ? "
        f"AND seq NOT IN ({marks}) ORDER BY seq LIMIT ?)",
        (subscription_id, *busy, count - backlog),
    ).rowcount

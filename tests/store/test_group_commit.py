"""Group commit in the SQLite store: concurrent writes of a process share a transaction, a request that fails
is rolled back alone, and a write (of entities, subscriptions or notifications) that waits for another
process's lock leaves the event loop free."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from broker.batch import upsertion
from broker.store import EntityQuery, sqlite, sqlite_writer
from broker.store.base import Change, NewNotification, StoredSubscription, StoreUnavailable, creation
from broker.store.sqlite import SQLiteStore
from ngsi_ld.context import build_term_map
from ngsi_ld.entity import Entity, parse_entity
from ngsi_ld.query import Selection, parse_q
from ngsi_ld.updates import new_entity

TERMS = build_term_map(None, lambda url: None)
NOW = "2026-01-01T00:00:00.000000Z"


def car(number: int) -> Entity:
    raw = {"id": f"urn:ngsi-ld:Car:{number}", "type": "Car", "speed": {"type": "Property", "value": number,
                                                                        "observedAt": NOW}}
    return new_entity(parse_entity(raw, TERMS), NOW)


def failing(entity_id: str) -> Change:
    def apply(stored: Entity | None) -> Entity | None:
        raise RuntimeError("not an NGSI-LD error")
    return Change(entity_id, apply)


async def stored_ids(store: SQLiteStore, count: int) -> set[str]:
    found = [await store.get("", f"urn:ngsi-ld:Car:{number}") for number in range(count)]
    return {entity["id"] for entity in found if entity is not None}


def test_concurrent_writes_share_transactions_and_each_gets_its_outcome(tmp_path: Path) -> None:
    async def run() -> tuple[list[Any], int]:
        async with SQLiteStore(str(tmp_path)) as store:
            commits = []
            store._connection("", False).set_trace_callback(  # noqa: SLF001
                lambda statement: commits.append(statement) if statement == "COMMIT" else None)
            first = await asyncio.gather(*(store.write("", [creation(car(number))]) for number in range(50)))
            again = await asyncio.gather(*(store.write("", [creation(car(number))]) for number in range(0, 50, 10)))
            assert await stored_ids(store, 50) == {f"urn:ngsi-ld:Car:{number}" for number in range(50)}
            return [*first, *again], len(commits)

    outcomes, commits = asyncio.run(run())
    assert all(len(outcome) == 1 and outcome[0].error is None for outcome in outcomes[:50])
    assert all(type(outcome[0].error).__name__ == "AlreadyExists" for outcome in outcomes[50:])
    assert commits <= 4  # 55 writes in two gathers: one transaction each, give or take the loop's timing


def test_a_failing_request_is_rolled_back_alone(tmp_path: Path) -> None:
    async def run() -> list[Any]:
        async with SQLiteStore(str(tmp_path)) as store:
            results = await asyncio.gather(
                store.write("", [creation(car(0))]),
                store.write("", [creation(car(1)), creation(car(2)), failing("urn:ngsi-ld:Car:3")]),
                store.write("", [creation(car(4))]),
                return_exceptions=True,
            )
            assert await stored_ids(store, 5) == {"urn:ngsi-ld:Car:0", "urn:ngsi-ld:Car:4"}
            # the rolled-back request's entities can be written afterwards, and the paths it added are found
            await store.write("", [creation(car(1))])
            found = await store.query("", _speed_query())
            assert {entity["id"] for entity in found.entities} == {"urn:ngsi-ld:Car:1", "urn:ngsi-ld:Car:4"}
            return results

    results = asyncio.run(run())
    assert isinstance(results[1], RuntimeError)
    assert results[0][0].error is None and results[2][0].error is None


def _speed_query() -> EntityQuery:
    """A query on a value and on a metadata member (whose rows are only probed)."""
    return EntityQuery(Selection(q=parse_q("speed>0;speed.observedAt==2026-01-01T00:00:00Z", TERMS.expand)))


def test_a_write_waiting_for_another_process_leaves_the_loop_free(tmp_path: Path) -> None:
    async def run() -> tuple[float, float]:
        async with SQLiteStore(str(tmp_path)) as store:
            await store.write("", [creation(car(0))])
            other = sqlite3.connect(tmp_path / "entities.sqlite", isolation_level=None)
            other.execute("BEGIN IMMEDIATE")
            started = time.monotonic()
            write = asyncio.create_task(store.write("", [creation(car(1))]))
            await asyncio.sleep(0.3)
            assert not write.done()
            assert await store.get("", "urn:ngsi-ld:Car:0") is not None  # reads go on meanwhile
            loop_free = time.monotonic() - started
            other.execute("COMMIT")
            await write
            other.close()
            return loop_free, time.monotonic() - started

    loop_free, written = asyncio.run(run())
    assert loop_free < 1.0 and written < 2.0


SUBSCRIPTION = StoredSubscription("urn:ngsi-ld:Subscription:cars", {"type": "Subscription"}, None, NOW, NOW, {})


async def _subscribe(store: SQLiteStore) -> None:
    await store.create_subscription("", SUBSCRIPTION)


async def _enqueue(store: SQLiteStore) -> None:
    await store.enqueue("", [NewNotification(SUBSCRIPTION.id, "urn:ngsi-ld:Notification:1", NOW, [{"id": "x"}])])


@pytest.mark.parametrize("write", [_subscribe, _enqueue], ids=["subscription", "notification"])
def test_writes_besides_entities_wait_for_another_process_on_the_loop(
        tmp_path: Path, write: Callable[[SQLiteStore], Awaitable[None]]) -> None:
    """The notifier's writes and those of subscriptions wait for the write lock without holding up the
    process (SQLite's busy handler would sleep the event loop until the other process commits)."""
    async def run() -> int:
        async with SQLiteStore(str(tmp_path)) as store:
            if write is not _subscribe:
                await _subscribe(store)
            other = sqlite3.connect(tmp_path / "entities.sqlite", isolation_level=None)
            other.execute("BEGIN IMMEDIATE")
            waiting = asyncio.create_task(write(store))
            ticks = 0
            for _ in range(30):
                await asyncio.sleep(0.01)
                ticks += 1
            assert not waiting.done()
            other.execute("COMMIT")
            other.close()
            await waiting
            return ticks

    started = time.monotonic()
    assert asyncio.run(run()) == 30
    assert time.monotonic() - started < 2.0


async def _create_car(store: SQLiteStore) -> None:
    [outcome] = await store.write("", [creation(car(0))])
    assert outcome.error is None


@pytest.mark.parametrize("write", [_create_car, _subscribe], ids=["entity", "subscription"])
def test_a_lock_held_too_long_is_a_503(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       write: Callable[[SQLiteStore], Awaitable[None]]) -> None:
    """And nothing is written: the same write succeeds (it would be a conflict otherwise) once the lock is free."""
    monkeypatch.setattr(sqlite_writer, "LOCK_WAIT", 0.2)

    async def run() -> None:
        async with SQLiteStore(str(tmp_path)) as store:
            other = sqlite3.connect(tmp_path / "entities.sqlite", isolation_level=None)
            other.execute("BEGIN IMMEDIATE")
            with pytest.raises(StoreUnavailable):
                await write(store)
            other.execute("ROLLBACK")
            other.close()
            await write(store)

    asyncio.run(run())


def test_the_writes_of_subscriptions_and_notifications_share_the_entity_writes_transaction(tmp_path: Path) -> None:
    """One commit for entity writes, a notification and a subscription written together; a subscription that
    fails (its id taken) is rolled back alone."""
    async def run() -> tuple[list[Any], int]:
        async with SQLiteStore(str(tmp_path)) as store:
            await _subscribe(store)
            commits = []
            store._connection("", False).set_trace_callback(  # noqa: SLF001
                lambda statement: commits.append(statement) if statement == "COMMIT" else None)
            other = replace(SUBSCRIPTION, id="urn:ngsi-ld:Subscription:2")
            results = await asyncio.gather(
                *(store.write("", [creation(car(number))]) for number in range(3)), _enqueue(store),
                _subscribe(store), store.create_subscription("", other), return_exceptions=True)
            assert await stored_ids(store, 3) == {f"urn:ngsi-ld:Car:{number}" for number in range(3)}
            assert (await store.pending("", SUBSCRIPTION.id)) is not None
            assert (await store.subscription("", "urn:ngsi-ld:Subscription:2")) is not None
            return results, len(commits)

    results, commits = asyncio.run(run())
    assert commits == 1
    assert [type(result).__name__ for result in results[3:]] == ["NoneType", "AlreadyExists", "NoneType"]


def test_the_rows_of_a_new_entity_are_computed_before_its_transaction(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The store's work in a transaction is done one write at a time across processes: a creation brings the
    query rows of its entity computed beforehand, and an update computes those it needs inside."""
    in_transaction: list[bool] = []
    flush, rows = sqlite_writer.GroupWriter._flush, sqlite._stored_rows  # noqa: SLF001
    flushing = [False]

    def watched_flush(self: sqlite_writer.GroupWriter) -> None:
        flushing[0] = True
        try:
            flush(self)
        finally:
            flushing[0] = False

    def watched_rows(entity: Entity) -> Any:
        in_transaction.append(flushing[0])
        return rows(entity)
    looked_up: list[set[str]] = []
    """The ids looked up before a transaction, to know which upserts replace a stored entity."""
    by_id = sqlite._by_id  # noqa: SLF001

    def watched_by_id(connection: sqlite3.Connection, columns: str, entity_ids: set[str]) -> Any:
        if not flushing[0] and entity_ids:
            looked_up.append(entity_ids)
        return by_id(connection, columns, entity_ids)
    monkeypatch.setattr(sqlite_writer.GroupWriter, "_flush", watched_flush)
    monkeypatch.setattr(sqlite, "_stored_rows", watched_rows)
    monkeypatch.setattr(sqlite, "_by_id", watched_by_id)

    async def scenario() -> None:
        async with SQLiteStore(str(tmp_path)) as store:
            await asyncio.gather(*(store.create("", car(number)) for number in range(3)))
            assert in_transaction == [False] * 3
            assert looked_up == []  # a creation replaces nothing: its rows are prepared without asking
            in_transaction.clear()
            raw = {"id": "urn:ngsi-ld:Car:9", "type": "Car", "name": {"type": "Property", "value": "nine"}}
            await store.write("", [upsertion(parse_entity(raw, TERMS), NOW)])  # a batch upsert's creation
            assert in_transaction == [False]
            assert looked_up == [{"urn:ngsi-ld:Car:9"}]
            in_transaction.clear()
            await store.write("", [upsertion(parse_entity(raw, TERMS), NOW)])  # it replaces the stored one
            assert in_transaction == []  # nothing beforehand: the transaction compares the attributes that changed
            in_transaction.clear()
            await store.write("", [Change("urn:ngsi-ld:Car:1", lambda stored: {**(stored or {}), "attrs": {}})])
            assert in_transaction == [True]  # its new rows, compared with those stored
            found = await store.query("", EntityQuery(Selection(q=parse_q("speed>=0", TERMS.expand))))
            assert sorted(entity["id"] for entity in found.entities) == ["urn:ngsi-ld:Car:0", "urn:ngsi-ld:Car:2"]

    asyncio.run(scenario())


def test_a_new_tenant_file_that_another_process_is_writing_is_opened_once_it_is_done(tmp_path: Path) -> None:
    """Two processes creating a tenant at once: while one holds the write lock of the new file (still in rollback
    mode), SQLite answers the other's change to WAL mode "locked" at once; the store waits and opens it."""
    async def run() -> None:
        async with SQLiteStore(str(tmp_path)) as store:
            path = store._path("new")  # noqa: SLF001
            path.parent.mkdir(parents=True, exist_ok=True)
            other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            other.execute("CREATE TABLE first_write (x)")
            other.execute("BEGIN IMMEDIATE")
            releasing = threading.Timer(0.2, lambda: other.execute("COMMIT"))
            releasing.start()
            await store.write("new", [creation(car(0))], create_tenant=True)
            releasing.join()
            other.close()
            assert await store.get("new", "urn:ngsi-ld:Car:0") is not None

    asyncio.run(run())

"""WAL checkpoints of the SQLite store: never in a commit (the request path), always from the store's thread."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from broker.store import sqlite_checkpoint
from broker.store.base import creation
from broker.store.sqlite import SQLiteStore
from tests.store.test_group_commit import car


async def write_cars(store: SQLiteStore, count: int, groups: int = 1) -> None:
    """Creates `count` cars, in `groups` rounds of concurrent requests (a transaction or so each)."""
    for group in range(groups):
        await asyncio.gather(*(store.write("", [creation(car(number))]) for number in range(group, count, groups)))


def database_and_log_sizes(directory: Path) -> tuple[int, int]:
    return (directory / "entities.sqlite").stat().st_size, (directory / "entities.sqlite-wal").stat().st_size


def test_commits_never_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the thread held back, the log grows far beyond SQLite's automatic threshold (1,000 pages) and the
    database file is untouched: no commit copied anything into it."""
    monkeypatch.setattr(sqlite_checkpoint, "CHECKPOINT_SECONDS", 3600.0)

    async def run() -> tuple[int, tuple[int, int]]:
        async with SQLiteStore(str(tmp_path)) as store:
            before = (tmp_path / "entities.sqlite").stat().st_size
            await write_cars(store, 3000, groups=30)
            return before, database_and_log_sizes(tmp_path)

    before, (database, log) = asyncio.run(run())
    assert database == before
    assert log > 1000 * 4096


def test_the_thread_brings_the_writes_into_the_database_file(tmp_path: Path) -> None:
    async def run() -> tuple[int, int, float]:
        async with SQLiteStore(str(tmp_path)) as store:
            before = (tmp_path / "entities.sqlite").stat().st_size
            await write_cars(store, 500)
            written = time.monotonic()
            while database_and_log_sizes(tmp_path)[0] == before and time.monotonic() < written + 10:
                await asyncio.sleep(0.05)
            return before, database_and_log_sizes(tmp_path)[0], time.monotonic() - written

    before, after, took = asyncio.run(run())
    assert after > before
    assert took < 10 * sqlite_checkpoint.CHECKPOINT_SECONDS


def test_a_failing_checkpoint_is_logged_once_and_writes_go_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    """A tenant's file removed under the store: its checkpoints fail (without making a new empty file), once
    in the log; the store goes on writing."""
    monkeypatch.setattr(sqlite_checkpoint, "CHECKPOINT_SECONDS", 0.05)
    gone = tmp_path / "tenants" / "gone.sqlite"

    async def run() -> None:
        async with SQLiteStore(str(tmp_path)) as store:
            await store.write("gone", [creation(car(100))], create_tenant=True)
            gone.unlink()
            await store.write("gone", [creation(car(101))])  # its log changes: the next look checkpoints it
            await write_cars(store, 20)
            await asyncio.sleep(0.5)
            assert await store.get("", "urn:ngsi-ld:Car:19") is not None

    with caplog.at_level(logging.WARNING, logger="scifi.store"):
        asyncio.run(run())
    failures = [record.getMessage() for record in caplog.records if "checkpoint failed" in record.getMessage()]
    assert len(failures) == 1 and "file=gone.sqlite" in failures[0]
    assert not gone.exists()


def write_steadily(path: Path, stop: threading.Event, written: list[int]) -> None:
    """Commits a page after another into the file, a millisecond apart: a checkpoint each 50 ms has more to copy
    than a pause lasts (as under a load of many writes), so a PASSIVE one never gets to the end of the log."""
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA wal_autocheckpoint=0")
    connection.execute("CREATE TABLE IF NOT EXISTS scratch (data BLOB)")
    while not stop.is_set():
        connection.execute("INSERT INTO scratch VALUES (randomblob(3000))")
        written[0] += 1
        time.sleep(0.001)
    connection.close()


def test_the_log_is_restarted_under_a_steady_stream_of_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """PASSIVE checkpoints never catch up with a log written without pauses long enough, so SQLite never starts
    it afresh and it grows with every write; the thread restarts it once it is RESTART_FRAMES long. A RESTART
    never waits for the writer's lock, so under a loaded machine some rounds miss it: the log stays a small share
    of what was written, not within a fixed number of rounds."""
    monkeypatch.setattr(sqlite_checkpoint, "CHECKPOINT_SECONDS", 0.05)
    monkeypatch.setattr(sqlite_checkpoint, "RESTART_FRAMES", 100)
    log = tmp_path / "entities.sqlite-wal"
    enough = 3000  # pages of two frames (8 KB of log) or more each: 60 times RESTART_FRAMES

    async def run() -> tuple[int, int]:
        async with SQLiteStore(str(tmp_path)) as store:
            await write_cars(store, 10)
            stop, written = threading.Event(), [0]
            writer = threading.Thread(target=write_steadily, args=(tmp_path / "entities.sqlite", stop, written))
            writer.start()
            largest, until = 0, time.monotonic() + 30
            while written[0] < enough and time.monotonic() < until:
                largest = max(largest, log.stat().st_size)
                await asyncio.sleep(0.01)
            stop.set()
            writer.join()
            return largest, written[0]

    largest, written = asyncio.run(run())
    assert written >= enough
    unrestarted = written * 2 * 4096
    assert largest < unrestarted / 4

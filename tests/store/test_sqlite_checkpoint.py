"""WAL checkpoints of the SQLite store: never in a commit (the request path), always from the store's thread."""

from __future__ import annotations

import asyncio
import logging
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

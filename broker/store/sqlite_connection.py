"""Transactions on a SQLite connection opened in autocommit mode (isolation_level=None)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager

from broker.store.base import too_slow

__all__ = ["snapshot", "time_limit", "transaction"]

_PROGRESS_STEPS = 10_000
"""SQLite virtual machine instructions between two looks at the clock (a few hundred microseconds)."""


@contextmanager
def snapshot(connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A read transaction: the queries inside it see the same state of the file, whatever other writers do."""
    connection.execute("BEGIN")
    try:
        yield connection
    finally:
        if connection.in_transaction:  # an interrupted statement may have ended it
            connection.execute("COMMIT")


@contextmanager
def time_limit(connection: sqlite3.Connection, seconds: float) -> Iterator[sqlite3.Connection]:
    """Statements inside that run beyond `seconds` (in all) are interrupted: TooComplexQuery, the connection
    left usable."""
    deadline = time.monotonic() + seconds
    connection.set_progress_handler(lambda: time.monotonic() > deadline, _PROGRESS_STEPS)
    try:
        yield connection
    except sqlite3.OperationalError as exc:
        if str(exc) != "interrupted":
            raise
        raise too_slow(seconds) from exc
    finally:
        connection.set_progress_handler(None, 0)


@contextmanager
def transaction(connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A write transaction that takes the file's write lock at once (so read-modify-write is safe)."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield connection
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")

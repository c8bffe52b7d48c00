"""Transactions on a SQLite connection opened in autocommit mode (isolation_level=None), and the translation of
a full disk or an unwritable data directory into StoreUnavailable."""

from __future__ import annotations

import asyncio
import errno
import inspect
import random
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from functools import wraps
from typing import Any, TypeVar

from broker.store.base import StoreUnavailable, too_slow

__all__ = ["LOCK_WAIT", "begun", "lock_retry_delay", "lock_wait_over", "served", "snapshot", "time_limit",
           "transaction", "write_transaction"]

T = TypeVar("T")

_UNAVAILABLE_CODES = {
    sqlite3.SQLITE_FULL: "the disk is full",
    sqlite3.SQLITE_READONLY: "the data directory is read-only",
    sqlite3.SQLITE_IOERR: "the data directory cannot be written",
    sqlite3.SQLITE_CANTOPEN: "the database file cannot be opened",
    sqlite3.SQLITE_PERM: "the database file may not be written",
}
"""Primary result codes of faults of the disk or the directory, not of the request: 503, retry later."""
_UNAVAILABLE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO}
_PROGRESS_STEPS = 10_000
"""SQLite virtual machine instructions between two looks at the clock (a few hundred microseconds)."""
LOCK_WAIT = 15.0
"""Seconds a write waits for another process to release the write lock before it fails (503)."""


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
    """A write transaction that takes the file's write lock at once (so read-modify-write is safe). All or
    nothing: when a statement or the commit fails (a full disk), what it wrote is rolled back."""
    connection.execute("BEGIN IMMEDIATE")
    with _committed(connection):
        yield connection


@asynccontextmanager
async def write_transaction(connection: sqlite3.Connection) -> AsyncIterator[sqlite3.Connection]:
    """`transaction` for the event loop: while another process holds the write lock, the wait is on the loop,
    which goes on serving requests, not in SQLite's busy handler, which would sleep the whole process.
    StoreUnavailable (503) after LOCK_WAIT seconds."""
    started = time.monotonic()
    while not begun(connection):
        if time.monotonic() - started > LOCK_WAIT:
            raise lock_wait_over()
        await asyncio.sleep(lock_retry_delay())
    with _committed(connection):
        yield connection


@contextmanager
def _committed(connection: sqlite3.Connection) -> Iterator[None]:
    """Commits the transaction begun; when a statement or the commit fails, rolls it back."""
    try:
        yield
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:  # SQLite may have rolled back by itself (SQLITE_FULL, SQLITE_IOERR)
            connection.execute("ROLLBACK")
        raise


def begun(connection: sqlite3.Connection) -> bool:
    """Begins a write transaction if the write lock is free; False, at once, when another process holds it."""
    connection.execute("PRAGMA busy_timeout=0")
    try:
        connection.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as error:
        if error.sqlite_errorcode not in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
            raise
        return False
    finally:
        connection.execute("PRAGMA busy_timeout=5000")
    return True


def lock_retry_delay() -> float:
    """Seconds before looking at the write lock again: random, so that waiting processes do not keep colliding."""
    return random.uniform(0.0002, 0.001)


def lock_wait_over() -> StoreUnavailable:
    return StoreUnavailable("The store is busy: another process holds its write lock")


def served(cls: type[T]) -> type[T]:
    """Turns a fault of the disk (full, read-only, failing) into StoreUnavailable (503) in every public
    coroutine the class defines: the request may be retried once space or permission is back."""
    for name, method in list(vars(cls).items()):
        if not name.startswith("_") and inspect.iscoroutinefunction(method):
            setattr(cls, name, _faults_as_503(method))
    return cls


def _faults_as_503(method: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
    @wraps(method)
    async def answered(*args: Any, **kwargs: Any) -> T:
        try:
            return await method(*args, **kwargs)
        except sqlite3.OperationalError as exc:
            why = _UNAVAILABLE_CODES.get(getattr(exc, "sqlite_errorcode", 0) & 0xFF)
            if why is None:
                raise
            raise StoreUnavailable(f"The store cannot write: {why} ({exc})") from exc
        except OSError as exc:
            if exc.errno not in _UNAVAILABLE_ERRNOS:
                raise
            raise StoreUnavailable(f"The store cannot write: {exc.strerror}") from exc
    return answered

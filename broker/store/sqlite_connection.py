"""Transactions on a SQLite connection opened in autocommit mode (isolation_level=None), and the translation of
a full disk or an unwritable data directory into StoreUnavailable."""

from __future__ import annotations

import errno
import inspect
import sqlite3
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any, TypeVar

from broker.store.base import StoreUnavailable, too_slow

__all__ = ["served", "snapshot", "time_limit", "transaction"]

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
    try:
        yield connection
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:  # SQLite may have rolled back by itself (SQLITE_FULL, SQLITE_IOERR)
            connection.execute("ROLLBACK")
        raise


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

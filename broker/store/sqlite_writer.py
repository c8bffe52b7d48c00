"""Group commit: the writes waiting in a process share one SQLite transaction per tenant.

A request's changes wait until the event loop has run the other request handlers that are ready; then the
first write of the group takes the file's write lock and applies every waiting request, each inside a
savepoint (a request whose write fails is rolled back alone, the others are kept), commits once, and
answers all of them. A write is committed before its request is answered, as with a transaction each.

In WAL mode a commit appends every page it dirtied to the log, and one entity dirties pages all over the
index by value (about 100 for an entity of 10 attributes): sharing the commit shares those pages.

While another process holds the write lock, the group waits on the event loop (not in SQLite's busy
handler, which would block the loop): the process goes on serving reads, and the writes that arrive in the
meantime join the group.

The store's other writes of the file (subscriptions, and the notifier's pending notifications) join the
groups too (`run`), each inside a savepoint: they take no write lock of their own, which they would have to
win against every group of the other processes, and share the entity writes' commit.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from broker.store.base import Change, Outcome, StoreUnavailable

__all__ = ["GroupWriter", "Work", "Written"]

T = TypeVar("T")

Written = list[tuple[str | None, str | None, str]]
"""(before, after, at) entity documents of the changes a transaction made, for the notifier."""

Apply = Callable[[sqlite3.Connection, Sequence[Sequence[Change]], bool],
                 tuple[list[list[Outcome] | Exception], Written]]
Work = Callable[[sqlite3.Connection], Any]

LOCK_WAIT = 15.0
"""Seconds a group waits for another process to release the write lock before its writes fail (503)."""


@dataclass(slots=True)
class _Request:
    changes: Sequence[Change]
    work: Work | None = None
    """Instead of changes: a function that writes in the transaction (see GroupWriter.run)."""
    answer: asyncio.Future[Any] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class GroupWriter:
    """The writes of one tenant's connection, applied in groups by `apply`, which gets the changes of every
    request of a group inside the transaction (and whether the request is the group's only one, which needs
    no savepoint) and returns, per request, its outcomes or the exception that rolled it back, with what the
    group wrote; `settled` is told whether the transaction committed."""

    def __init__(self, connection: sqlite3.Connection, apply: Apply, settled: Callable[[bool], None],
                 on_written: Callable[[Written], None]) -> None:
        self._connection = connection
        self._apply = apply
        self._settled = settled
        self._on_written = on_written
        self._waiting: list[_Request] = []
        self._lock_wait_start: float | None = None

    async def write(self, changes: Sequence[Change]) -> list[Outcome]:
        outcomes: list[Outcome] = await self._queued(_Request(changes))
        return outcomes

    async def run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """What `work` returns, run in the transaction of the next group, inside a savepoint: what it writes
        commits with the group, or, when it raises, is rolled back alone (and the exception raised here). The
        store's other writes (subscriptions, the notifier's) so share the entity writes' commits, and take
        no write lock of their own."""
        result: T = await self._queued(_Request((), work))
        return result

    async def _queued(self, request: _Request) -> Any:
        self._waiting.append(request)
        if len(self._waiting) == 1 and self._lock_wait_start is None:
            asyncio.get_running_loop().call_soon(self._flush)
        return await request.answer

    def _flush(self) -> None:
        if not self._begin():
            return
        group, self._waiting = self._waiting, []
        writes = [request for request in group if request.work is None]
        works = [request for request in group if request.work is not None]
        try:
            results: list[Any] = [_worked(self._connection, request.work) for request in works if request.work]
            written: Written = []
            if writes:
                outcomes, written = self._apply(self._connection, [request.changes for request in writes],
                                                len(group) == 1)
                results += outcomes
            self._connection.execute("COMMIT")
        except Exception as error:
            if self._connection.in_transaction:
                self._connection.execute("ROLLBACK")
            self._settled(False)
            for request in group:
                _answer(request, error)
            return
        self._settled(True)
        for request, result in zip([*works, *writes], results, strict=True):
            _answer(request, result)
        if written:
            self._on_written(written)

    def _begin(self) -> bool:
        """Takes the write lock; when another process holds it, tries again later on the loop (False)."""
        connection = self._connection
        connection.execute("PRAGMA busy_timeout=0")
        try:
            connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as error:
            if error.sqlite_errorcode not in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                self._lock_wait_start = None  # the next write starts a group of its own
                self._fail_waiting(error)
                return False
            self._retry_later()
            return False
        finally:
            connection.execute("PRAGMA busy_timeout=5000")
        self._lock_wait_start = None
        return True

    def _retry_later(self) -> None:
        now = time.monotonic()
        if self._lock_wait_start is None:
            self._lock_wait_start = now
        if now - self._lock_wait_start > LOCK_WAIT:
            self._lock_wait_start = None
            self._fail_waiting(StoreUnavailable("The store is busy: another process holds its write lock"))
            return
        asyncio.get_running_loop().call_later(random.uniform(0.0002, 0.001), self._flush)

    def _fail_waiting(self, error: Exception) -> None:
        group, self._waiting = self._waiting, []
        for request in group:
            _answer(request, error)


def _worked(connection: sqlite3.Connection, work: Work) -> Any:
    """What `work` returns, or the exception it raised, its writes then rolled back."""
    connection.execute("SAVEPOINT work")
    try:
        return work(connection)
    except Exception as error:
        if not connection.in_transaction:
            raise  # SQLite rolled the whole transaction back (a full disk, say): the group fails
        connection.execute("ROLLBACK TO work")
        return error
    finally:
        if connection.in_transaction:
            connection.execute("RELEASE work")


def _answer(request: _Request, result: Any) -> None:
    if request.answer.done():
        return  # the request was cancelled (its client went away); its write stands
    if isinstance(result, Exception):
        request.answer.set_exception(result)
    else:
        request.answer.set_result(result)

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
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from broker.store import sqlite_connection
from broker.store.base import Change, Outcome
from broker.store.sqlite_connection import begun, lock_retry_delay, lock_wait_over

__all__ = ["GroupWriter", "Written"]

Written = list[tuple[str | None, str | None, str]]
"""(before, after, at) entity documents of the changes a transaction made, for the notifier."""

Apply = Callable[[sqlite3.Connection, Sequence[Sequence[Change]]], tuple[list[list[Outcome] | Exception], Written]]


@dataclass(slots=True)
class _Request:
    changes: Sequence[Change]
    answer: asyncio.Future[list[Outcome]] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class GroupWriter:
    """The writes of one tenant's connection, applied in groups by `apply`, which gets the changes of every
    request of a group inside the transaction and returns, per request, its outcomes or the exception that
    rolled it back, with what the group wrote; `settled` is told whether the transaction committed."""

    def __init__(self, connection: sqlite3.Connection, apply: Apply, settled: Callable[[bool], None],
                 on_written: Callable[[Written], None]) -> None:
        self._connection = connection
        self._apply = apply
        self._settled = settled
        self._on_written = on_written
        self._waiting: list[_Request] = []
        self._lock_wait_start: float | None = None

    async def write(self, changes: Sequence[Change]) -> list[Outcome]:
        request = _Request(changes)
        self._waiting.append(request)
        if len(self._waiting) == 1 and self._lock_wait_start is None:
            asyncio.get_running_loop().call_soon(self._flush)
        return await request.answer

    def _flush(self) -> None:
        if not self._begin():
            return
        group, self._waiting = self._waiting, []
        try:
            results, written = self._apply(self._connection, [request.changes for request in group])
            self._connection.execute("COMMIT")
        except Exception as error:
            if self._connection.in_transaction:
                self._connection.execute("ROLLBACK")
            self._settled(False)
            for request in group:
                _answer(request, error)
            return
        self._settled(True)
        for request, result in zip(group, results, strict=True):
            _answer(request, result)
        if written:
            self._on_written(written)

    def _begin(self) -> bool:
        """Takes the write lock; when another process holds it, tries again later on the loop (False)."""
        try:
            if begun(self._connection):
                self._lock_wait_start = None
                return True
        except sqlite3.OperationalError as error:
            self._lock_wait_start = None  # the next write starts a group of its own
            self._fail_waiting(error)
            return False
        self._retry_later()
        return False

    def _retry_later(self) -> None:
        now = time.monotonic()
        if self._lock_wait_start is None:
            self._lock_wait_start = now
        if now - self._lock_wait_start > sqlite_connection.LOCK_WAIT:
            self._lock_wait_start = None
            self._fail_waiting(lock_wait_over())
            return
        asyncio.get_running_loop().call_later(lock_retry_delay(), self._flush)

    def _fail_waiting(self, error: Exception) -> None:
        group, self._waiting = self._waiting, []
        for request in group:
            _answer(request, error)


def _answer(request: _Request, result: list[Outcome] | Exception) -> None:
    if request.answer.done():
        return  # the request was cancelled (its client went away); its write stands
    if isinstance(result, Exception):
        request.answer.set_exception(result)
    else:
        request.answer.set_result(result)

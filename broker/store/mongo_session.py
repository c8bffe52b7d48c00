"""What the modules of the MongoDB store share: counters, and the translation of a lost connection."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any, TypeVar

from pymongo import ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import ConnectionFailure, DuplicateKeyError, PyMongoError

from broker.store.base import StoreUnavailable

__all__ = ["Database", "Document", "next_seqs", "reason", "served"]

T = TypeVar("T")
_UPSERT_TRIES = 3
"""An upsert of a counter that races another one for the counter's first document is tried again."""
Document = dict[str, Any]
Database = AsyncDatabase[Document]


async def next_seqs(database: Database, session: AsyncClientSession | None, counter: str, count: int) -> range:
    """`count` new sequence numbers of a counter of the tenant, taken in the transaction of `session` (numbers
    in commit order: every transaction that takes some conflicts with the others), or without one when `session`
    is None (unique and increasing, but a transaction that aborts leaves a gap, and one that took its numbers
    later may commit first)."""
    for _ in range(_UPSERT_TRIES):
        try:
            updated = await database.meta.find_one_and_update(
                {"_id": f"seq:{counter}"}, {"$inc": {"last": count}}, upsert=True,
                return_document=ReturnDocument.AFTER, session=session,
            )
        except DuplicateKeyError:  # outside a transaction, another process inserted the counter at the same time
            continue
        if updated is not None:
            last = int(updated["last"])
            return range(last - count + 1, last + 1)
    raise StoreUnavailable(f"The counter {counter} could not be incremented")


def served(cls: type[T]) -> type[T]:
    """Turns a lost connection into StoreUnavailable (503) in every public coroutine the class defines."""
    for name, method in list(vars(cls).items()):
        if not name.startswith("_") and inspect.iscoroutinefunction(method):
            setattr(cls, name, _unavailable_as_503(method))
    return cls


def _unavailable_as_503(method: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
    @wraps(method)
    async def answered(*args: Any, **kwargs: Any) -> T:
        try:
            return await method(*args, **kwargs)
        except PyMongoError as exc:
            if not _lost_connection(exc):
                raise
            raise StoreUnavailable(f"The database is unreachable: {reason(exc)}") from exc
    return answered


def _lost_connection(exc: PyMongoError) -> bool:
    return isinstance(exc, ConnectionFailure) or any(
        exc.has_error_label(label) for label in ("RetryableWriteError", "TransientTransactionError"))


def reason(exc: BaseException) -> str:
    """The driver's message on one line, without its description of the topology."""
    return str(exc).split(", Timeout:")[0].split("\n")[0][:300]

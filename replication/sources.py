"""Where a copy reads a pilot from: a broker (paged reads) or a pilot package (its NDJSON files). Both give
the entities of a type page by page, say which ids belong to the copy, and give the subscriptions."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from typing import Any, Protocol

from replication.client import Broker
from replication.package import Package

__all__ = ["BrokerSource", "Membership", "PackageSource", "Source", "watches_types", "without_system"]

_SUBSCRIPTION_SYSTEM = frozenset({"status", "createdAt", "modifiedAt", "@context"})
_NOTIFICATION_SYSTEM = frozenset({"timesSent", "timesFailed", "lastNotification", "lastFailure", "lastSuccess",
                                  "consecutiveErrors", "deadLettered", "status"})


class Source(Protocol):
    label: str

    async def count(self, entity_type: str) -> int: ...

    def pages(self, entity_type: str, offset: int, size: int, total: int) -> AsyncIterator[list[dict[str, Any]]]:
        ...

    async def members(self, ids: list[str]) -> set[str]: ...

    async def subscriptions(self) -> list[dict[str, Any]]: ...


class BrokerSource:
    """The entities of `types` (that match q) in a broker. Pages are read one ahead of the one being copied,
    so that reading the source and writing the target overlap."""

    def __init__(self, broker: Broker, types: list[str], q: str | None = None) -> None:
        self.broker = broker
        self.types = types
        self.q = q
        self.label = broker.label

    async def count(self, entity_type: str) -> int:
        return await self.broker.count(entity_type, self.q, missing_ok=False)

    async def pages(self, entity_type: str, offset: int, size: int,
                    total: int) -> AsyncIterator[list[dict[str, Any]]]:
        """Pages up to `total` entities (the count taken at the start: entities the copy itself adds to the
        source, when source and target are one tenant, are not read again)."""
        async def read(at: int) -> list[dict[str, Any]]:
            return await self.broker.page(entity_type, at, min(size, total - at), self.q)

        ahead = asyncio.ensure_future(read(offset)) if offset < total else None
        try:
            while ahead is not None:
                page = await ahead
                offset += len(page)
                ahead = asyncio.ensure_future(read(offset)) if page and offset < total else None
                if page:
                    yield page
        finally:
            if ahead is not None and not ahead.done():
                ahead.cancel()
            elif ahead is not None and not ahead.cancelled():
                ahead.exception()  # read, so that a failed read ahead is not reported as never retrieved

    async def members(self, ids: list[str]) -> set[str]:
        return await self.broker.present(ids, self.types, self.q)

    async def subscriptions(self) -> list[dict[str, Any]]:
        return [without_system(item) for item in await self.broker.subscriptions()
                if watches_types(item, self.types)]


class PackageSource:
    """The entities and subscriptions of a pilot package."""

    def __init__(self, package: Package, types: list[str] | None = None) -> None:
        self.package = package
        self.types = types or package.types
        self.label = str(package.path)
        self._ids: set[str] | None = None

    async def count(self, entity_type: str) -> int:
        return self.package.count(entity_type)

    async def pages(self, entity_type: str, offset: int, size: int,
                    total: int) -> AsyncIterator[list[dict[str, Any]]]:
        page: list[dict[str, Any]] = []
        for entity in self.package.entities(entity_type, offset):
            page.append(entity)
            if len(page) == size:
                yield page
                page = []
        if page:
            yield page

    async def members(self, ids: list[str]) -> set[str]:
        if self._ids is None:
            self._ids = self.package.ids()
        return {entity_id for entity_id in ids if entity_id in self._ids}

    async def subscriptions(self) -> list[dict[str, Any]]:
        return [without_system(item) for item in self.package.subscriptions()]


class Membership:
    """Whether an id is one of an entity of the copy, asked of the source for each id a relationship names
    and kept (the ids of the relationships' targets, not the entities)."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.known: dict[str, bool] = {}
        self.page_ids: frozenset[str] = frozenset()

    async def learn(self, ids: Iterable[str], page_ids: Iterable[str] = ()) -> None:
        self.page_ids = frozenset(page_ids)
        unknown = sorted({item for item in ids if item not in self.known and item not in self.page_ids})
        if unknown:
            present = await self.source.members(unknown)
            self.known.update((item, item in present) for item in unknown)

    def __call__(self, entity_id: str) -> bool:
        return entity_id in self.page_ids or self.known.get(entity_id, False)


def watches_types(subscription: dict[str, Any], types: list[str]) -> bool:
    """Whether one of the subscription's entity selectors names one of the types."""
    wanted = set(types)
    for selector in subscription.get("entities") or []:
        kind = selector.get("type") if isinstance(selector, dict) else None
        names = kind if isinstance(kind, list) else [kind]
        if any(isinstance(name, str) and name in wanted for name in names):
            return True
    return False


def without_system(subscription: dict[str, Any]) -> dict[str, Any]:
    """The subscription as a client would write it: without the members the broker keeps (status, times...)."""
    kept = {key: value for key, value in subscription.items() if key not in _SUBSCRIPTION_SYSTEM}
    if isinstance(kept.get("notification"), dict):
        kept["notification"] = {key: value for key, value in kept["notification"].items()
                                if key not in _NOTIFICATION_SYSTEM}
    return kept

"""The store interface: every backend keeps entities of many tenants, in their expanded form."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from ngsi_ld.entity import Entity
from ngsi_ld.query.selection import Selection

__all__ = ["DEFAULT_TENANT", "EntityQuery", "EntityStore", "QueryResult"]

T = TypeVar("T")

DEFAULT_TENANT = ""
"""The tenant of requests without an NGSILD-Tenant header; it always exists."""


@dataclass(frozen=True, slots=True)
class EntityQuery:
    """What a query selects and which page of it to return (ordered by distance for geo 'near')."""

    selection: Selection = Selection()
    limit: int = 20
    offset: int = 0
    count: bool = False


@dataclass(frozen=True, slots=True)
class QueryResult:
    entities: list[Entity]
    count: int | None = None


class EntityStore:
    """Entities per tenant. A tenant comes into being with its first entity."""

    async def open(self) -> None:
        """Prepares the store for use (creates files, connects)."""

    async def aclose(self) -> None:
        """Releases what `open` took."""

    async def __aenter__(self) -> EntityStore:
        await self.open()
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.aclose()

    async def tenant_exists(self, tenant: str) -> bool:
        raise NotImplementedError()  # pragma: no cover

    async def create(self, tenant: str, entity: Entity) -> None:
        """Stores a new entity; AlreadyExists when its id is taken."""
        raise NotImplementedError()  # pragma: no cover

    async def get(self, tenant: str, entity_id: str) -> Entity | None:
        raise NotImplementedError()  # pragma: no cover

    async def modify(self, tenant: str, entity_id: str, change: Callable[[Entity], T]) -> T:
        """Runs `change` on the stored entity and stores what it made of it, in one transaction.

        ResourceNotFound when there is no such entity; any error raised by `change` leaves it untouched.
        """
        raise NotImplementedError()  # pragma: no cover

    async def delete(self, tenant: str, entity_id: str) -> bool:
        """Deletes an entity; False when there was none."""
        raise NotImplementedError()  # pragma: no cover

    async def query(self, tenant: str, query: EntityQuery) -> QueryResult:
        raise NotImplementedError()  # pragma: no cover

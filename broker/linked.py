"""Linked entity retrieval against the store: one query per level of linked entities (clause 4.5.23)."""

from __future__ import annotations

from broker.store import EntityStore
from ngsi_ld.entity import Entity
from ngsi_ld.linked import Join, LinkedEntities
from ngsi_ld.render import RenderOptions

__all__ = ["linked_entities"]


async def linked_entities(
    store: EntityStore, tenant: str, roots: list[Entity], options: RenderOptions, join: Join
) -> LinkedEntities:
    """The entities linked to `roots`, read from the store level by level, each level's ids at once."""
    linked = LinkedEntities(roots, options, join)
    while (wanted := linked.wanted()) is not None:
        linked.found(await store.get_many(tenant, wanted) if wanted else [])
    return linked

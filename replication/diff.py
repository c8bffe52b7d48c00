"""`scifi pilot diff`: compares a pilot in two places after a copy. The source (a broker, or a pilot package)
is rewritten by the same rules as the copy and compared with the target: counts per type, ids missing on
either side, and the attributes that differ (system attributes aside)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TextIO

from replication.client import Broker
from replication.compare import differing_attributes, same_entity
from replication.rules import Rules, relationship_objects
from replication.sources import Membership, Source

__all__ = ["TypeDiff", "diff_json", "diff_pilot", "write_diff"]

LISTED = 20
"""Ids listed per kind of difference and type (the counts go on beyond)."""


@dataclass(slots=True)
class TypeDiff:
    source: int = 0
    target: int = 0
    missing: list[str] = field(default_factory=list)
    """Ids of the (rewritten) source that the target lacks."""
    extra: list[str] = field(default_factory=list)
    """Ids of the target that the source lacks."""
    differing: list[tuple[str, list[str]]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=lambda: {"missing": 0, "extra": 0, "differing": 0})

    def note(self, kind: str, item: Any) -> None:
        self.counts[kind] += 1
        listed: list[Any] = getattr(self, kind)
        if len(listed) < LISTED:
            listed.append(item)

    @property
    def same(self) -> bool:
        return self.source == self.target and not any(self.counts.values())


async def diff_pilot(source: Source, target: Broker, types: list[str], rules: Rules,
                     page_size: int = 500) -> dict[str, TypeDiff]:
    membership = Membership(source)
    result: dict[str, TypeDiff] = {}
    for entity_type in types:
        found = result[entity_type] = TypeDiff()
        found.source = await source.count(entity_type)
        ids: set[str] = set()
        async for page in source.pages(entity_type, 0, page_size, found.source):
            await membership.learn((item for entity in page for item in relationship_objects(entity)),
                                   (entity["id"] for entity in page))
            wanted = [rules.entity(entity, membership).entity for entity in page]
            held = await target.entities(entity_type, [entity["id"] for entity in wanted])
            for entity in wanted:
                ids.add(entity["id"])
                if entity["id"] not in held:
                    found.note("missing", entity["id"])
                elif not same_entity(entity, held[entity["id"]]):
                    found.note("differing", (entity["id"], differing_attributes(entity, held[entity["id"]])))
        found.target = await target.count(entity_type)
        for offset in range(0, found.target, page_size):
            for entity in await target.page(entity_type, offset, page_size):
                if entity["id"] not in ids:
                    found.note("extra", entity["id"])
    return result


def write_diff(result: dict[str, TypeDiff], out: TextIO) -> None:
    for entity_type, found in result.items():
        out.write(f"{entity_type}: {found.source} in the source, {found.target} in the target; missing "
                  f"{found.counts['missing']}, extra {found.counts['extra']}, differing "
                  f"{found.counts['differing']}\n")
        for entity_id in found.missing:
            out.write(f"  missing in the target  {entity_id}\n")
        for entity_id in found.extra:
            out.write(f"  only in the target     {entity_id}\n")
        for entity_id, names in found.differing:
            out.write(f"  differs                {entity_id}: {', '.join(names)}\n")
        listed = len(found.missing) + len(found.extra) + len(found.differing)
        if sum(found.counts.values()) > listed:
            out.write(f"  ... and {sum(found.counts.values()) - listed} more\n")
    same = all(found.same for found in result.values())
    out.write("no difference\n" if same else "differences found\n")


def diff_json(result: dict[str, TypeDiff]) -> dict[str, Any]:
    return {"same": all(found.same for found in result.values()),
            "types": {name: {"source": found.source, "target": found.target, "counts": found.counts,
                             "missing": found.missing, "extra": found.extra,
                             "differing": [{"id": entity_id, "attributes": names}
                                           for entity_id, names in found.differing]}
                      for name, found in result.items()}}

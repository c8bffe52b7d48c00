"""What a query selects, as one value that every consumer shares: the stores compile it, and
`Selection.matches` evaluates it on one entity in Python (the subscription matcher uses that)."""

from __future__ import annotations

from dataclasses import dataclass

from ngsi_ld.entity import Entity
from ngsi_ld.query.ast import Node
from ngsi_ld.query.evaluate import RowsByPath, rows_by_path, rows_match
from ngsi_ld.query.geo import GeoQuery, geo_matches
from ngsi_ld.regex import checked, search
from ngsi_ld.typeexpr import TypeExpr, matches_types

__all__ = ["EntitySelector", "Selection", "checked_id_pattern", "entity_geometries", "merged_selectors"]


@dataclass(frozen=True, slots=True)
class EntitySelector:
    """Entities by id (any of `ids`), id pattern and type expression; the conditions given must all hold."""

    ids: tuple[str, ...] = ()
    id_pattern: str | None = None
    types: TypeExpr | None = None

    def matches(self, entity: Entity) -> bool:
        if self.ids and entity["id"] not in self.ids:
            return False
        if self.id_pattern is not None and not search(self.id_pattern, entity["id"]):
            return False
        return self.types is None or matches_types(self.types, set(entity["type"]))


def merged_selectors(selectors: tuple[EntitySelector, ...]) -> tuple[EntitySelector, ...]:
    """Selectors that select the same entities as `selectors`, fewer when some differ only by their ids: those
    become one selector of all their ids (a batch read back by id and type is one selector per type)."""
    if len(selectors) < 2:
        return selectors
    merged: dict[tuple[str | None, TypeExpr | None], list[str] | None] = {}
    for selector in selectors:
        key = (selector.id_pattern, selector.types)
        if not selector.ids:
            merged[key] = None  # any id
        elif key not in merged:
            merged[key] = list(selector.ids)
        elif (ids := merged[key]) is not None:
            ids.extend(selector.ids)
    return tuple(EntitySelector(tuple(dict.fromkeys(ids or ())), pattern, types)
                 for (pattern, types), ids in merged.items())


@dataclass(frozen=True, slots=True)
class Selection:
    """Entities matching any selector (all entities when there is none), having one of `attrs` if given,
    and matching q, scopeQ and the geo-query when given. Names are expanded IRIs."""

    selectors: tuple[EntitySelector, ...] = ()
    attrs: tuple[str, ...] = ()
    q: Node | None = None
    scope_q: Node | None = None
    geo: GeoQuery | None = None

    def matches(self, entity: Entity, rows: RowsByPath | None = None) -> bool:
        if self.selectors and not any(selector.matches(entity) for selector in self.selectors):
            return False
        if self.attrs and not any(name in entity["attrs"] for name in self.attrs):
            return False
        if self.geo is not None and not any(geo_matches(self.geo, g) for g in entity_geometries(entity, self.geo)):
            return False
        if self.q is None and self.scope_q is None:
            return True
        rows = rows if rows is not None else rows_by_path(entity)
        return all(node is None or rows_match(node, rows) for node in (self.q, self.scope_q))


def entity_geometries(entity: Entity, query: GeoQuery) -> list[dict[str, object]]:
    """The geometries of the GeoProperty that a geo-query targets, one per instance."""
    instances = entity["attrs"].get(query.geoproperty, ())
    return [instance["value"] for instance in instances if instance["type"] == "GeoProperty"]


def checked_id_pattern(pattern: str | None) -> str | None:
    """The idPattern, once it is known to be a valid regular expression (BadRequestData otherwise)."""
    if pattern is None:
        return None
    return checked(pattern, "'idPattern'")

"""Linked entity retrieval (clause 4.5.23): the entities that the relationships of the entities asked for point
at, level by level up to joinLevel, shown inline (an `entity` or `entityList` member of the relationship,
4.5.23.2) or flat (after the entities asked for, 4.5.23.3).

Every entity appears once: a target already encountered (an entity asked for, one listed in containedBy, one
already linked at this or a shallower level) is not shown again, which also ends loops. With inline, each
entity asked for has a graph of its own; with flat, they share one. Only the relationships that are rendered
are followed, each instance of a multi-instance relationship, each object of a ListRelationship.

Pure: `LinkedEntities.wanted` tells which ids the next level needs, the caller fetches them (one store query
per level) and hands them to `LinkedEntities.found`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from ngsi_ld.context import TermMap
from ngsi_ld.entity import Entity
from ngsi_ld.errors import BadRequestData, shown
from ngsi_ld.render import RenderOptions, render_entity
from ngsi_ld.values import is_uri

__all__ = ["JOIN_MODES", "Join", "LinkedEntities", "checked_join"]

JOIN_MODES = ("flat", "inline", "@none")

Renderer = Callable[[Entity, TermMap, RenderOptions], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Join:
    mode: str
    """flat or inline."""
    level: int = 1
    contained_by: frozenset[str] = frozenset()
    """Ids of entities encountered before (in the graph a client or another broker is putting together)."""


def checked_join(mode: Any, level: Any, contained_by: Sequence[Any] | None, max_level: int | None) -> Join | None:
    """The linked entity retrieval asked for (None for none, join=@none); BadRequestData for bad values."""
    if mode is not None and mode not in JOIN_MODES:
        raise BadRequestData(f"'join' must be one of {', '.join(JOIN_MODES)}, got {shown(mode)}")
    if level is None:
        level = 1
    elif isinstance(level, bool) or not isinstance(level, int) or level < 1:
        raise BadRequestData(f"'joinLevel' must be a whole number >= 1, got {shown(level)}")
    if max_level is not None and level > max_level:
        raise BadRequestData(f"'joinLevel' may be at most {max_level} on this broker, got {level}")
    invalid = [item for item in contained_by or () if not isinstance(item, str) or not is_uri(item)]
    if invalid:
        raise BadRequestData(f"'containedBy' must hold entity ids (URIs), got {shown(invalid)}")
    if mode is None or mode == "@none":
        return None
    return Join(mode, level, frozenset(contained_by or ()))


@dataclass(slots=True)
class _Graph:
    """The entities linked to some roots: all the roots together (flat), or one root (inline)."""

    encountered: set[str]
    frontier: list[tuple[str, RenderOptions]]
    linked: list[tuple[str, RenderOptions]] = field(default_factory=list)
    """In the order they were encountered."""
    children: dict[str, list[tuple[str, RenderOptions]]] = field(default_factory=dict)
    """The entities each entity links to (inline)."""


class LinkedEntities:
    """The entities linked to `roots` (the entities asked for, rendered with `options`), found level by level:
    `wanted` then `found` for each level, then `rendered`."""

    def __init__(self, roots: list[Entity], options: RenderOptions, join: Join) -> None:
        self.roots, self.options, self.join = roots, options, join
        self._known: dict[str, Entity | None] = {}
        for root in roots:
            self._known.setdefault(root["id"], root)
        groups = [[root] for root in roots] if join.mode == "inline" else [roots]
        self._graphs = [
            _Graph({root["id"] for root in group} | join.contained_by, [(root["id"], options) for root in group])
            for group in groups
        ]
        self._depth = 0
        self._pending: list[tuple[_Graph, str, str, RenderOptions]] = []

    def wanted(self) -> set[str] | None:
        """The ids that the next level needs from the store (maybe none); None once the retrieval is complete."""
        if self._depth >= self.join.level:
            return None
        self._pending = [
            (graph, parent, target, options)
            for graph in self._graphs for parent, parent_options in graph.frontier
            for target, options in _targets(self._entity(parent), parent_options)
        ]
        if not self._pending:
            return None
        return {target for _, _, target, _ in self._pending
                if target not in self._known and target not in self.join.contained_by}

    def found(self, entities: Iterable[Entity]) -> None:
        """Takes the entities of the ids asked for (those that exist), and goes one level down."""
        for entity in entities:
            self._known[entity["id"]] = entity
        for graph in self._graphs:
            graph.frontier = []
        for graph, parent, target, options in self._pending:
            if target in graph.encountered or self._known.get(target) is None:
                continue
            graph.encountered.add(target)
            graph.linked.append((target, options))
            graph.children.setdefault(parent, []).append((target, options))
            graph.frontier.append((target, options))
        self._pending = []
        self._depth += 1

    def rendered(self, terms: TermMap, render: Renderer = render_entity) -> list[dict[str, Any]]:
        """The entities asked for, rendered: with their linked entities inline, or followed by them (flat)."""
        if self.join.mode == "flat":
            linked = [render(self._entity(entity_id), terms, options) for entity_id, options in self._graphs[0].linked]
            return [render(root, terms, self.options) for root in self.roots] + linked
        return [render(self._inlined(graph, root, self.options, terms), terms, self.options)
                for graph, root in zip(self._graphs, self.roots, strict=True)]

    def _entity(self, entity_id: str) -> Entity:
        entity = self._known[entity_id]
        assert entity is not None
        return entity

    def _inlined(self, graph: _Graph, entity: Entity, options: RenderOptions, terms: TermMap) -> Entity:
        """The entity with the rendered entities it links to in its relationships (for keyValues, in place of
        their ids)."""
        children = dict(graph.children.get(entity["id"], ()))
        if not children:
            return entity
        attrs = dict(entity["attrs"])
        for name, instances in entity["attrs"].items():
            if any(_objects(instance) & children.keys() for instance in instances):
                attrs[name] = [self._inlined_instance(graph, instance, children, options, terms)
                               for instance in instances]
        return {**entity, "attrs": attrs}

    def _inlined_instance(
        self, graph: _Graph, instance: dict[str, Any], children: dict[str, RenderOptions], options: RenderOptions,
        terms: TermMap,
    ) -> dict[str, Any]:
        if not options.shows(instance):
            return instance
        listed = instance["type"] == "ListRelationship"
        objects = instance["objectList"] if listed else instance["object"]
        rendered: list[Any] = []
        for target in objects if isinstance(objects, list) else [objects]:
            child_options = children.pop(target, None)
            if child_options is None:
                rendered.append(None)
                continue
            child = self._inlined(graph, self._entity(target), child_options, terms)
            rendered.append(render_entity(child, terms, child_options))
        return {**instance, **_inline_members(rendered, objects, listed, options.format == "keyValues")}


def _inline_members(rendered: list[Any], objects: Any, listed: bool, simplified: bool) -> dict[str, Any]:
    """The members that show the linked entities of a relationship instance: `entity` (one entity, or an array
    for an array of objects) or `entityList`; in keyValues, the objects with the entities in place of ids."""
    key = "objectList" if listed else "object"
    if simplified:
        if not isinstance(objects, list):
            return {key: rendered[0] if rendered[0] is not None else objects}
        pairs = zip(rendered, objects, strict=True)
        return {key: [entity if entity is not None else target for entity, target in pairs]}
    found = [entity for entity in rendered if entity is not None]
    if not found:
        return {}
    if listed:
        return {"entityList": found}
    return {"entity": found if isinstance(objects, list) else found[0]}


def _objects(instance: dict[str, Any]) -> set[str]:
    objects = instance.get("objectList") if instance["type"] == "ListRelationship" else instance.get("object")
    if instance["type"] not in ("Relationship", "ListRelationship") or objects is None:
        return set()
    return set(objects) if isinstance(objects, list) else {objects}


def _targets(entity: Entity, options: RenderOptions) -> Iterator[tuple[str, RenderOptions]]:
    """The ids that the rendered relationships of an entity point at, in order, with how they are rendered."""
    for name, instances in entity["attrs"].items():
        if not options.selects(name):
            continue
        linked_options = None
        for instance in instances:
            objects = _objects(instance)
            if not objects or not options.shows(instance):
                continue
            linked_options = linked_options or options.for_linked(name)
            ordered = instance["objectList"] if instance["type"] == "ListRelationship" else instance["object"]
            for target in ordered if isinstance(ordered, list) else [ordered]:
                yield target, linked_options

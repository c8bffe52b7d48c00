"""The attribute projection language of pick and omit (clause 4.21).

Entity members ("id", "type", "scope" or attribute names) separated by ',' or '|'; a relationship's name may be
followed by a projection, in braces, of the entities it links to (linked entity retrieval, clause 4.5.23):
`id,locatedAt{id,name}` keeps id and locatedAt, and the entities locatedAt points at keep only id and name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from ngsi_ld.errors import BadRequestData
from ngsi_ld.linked import Join
from ngsi_ld.render import RenderOptions
from ngsi_ld.values import is_name

__all__ = ["ENTITY_MEMBERS", "Projected", "check_projection_depth", "parse_projection", "projected", "projection_depth"]

ENTITY_MEMBERS = frozenset({"id", "type", "scope"})
_SEPARATORS = ",|"


@dataclass(frozen=True, slots=True)
class Projected:
    """One member of a projection; `linked` projects the entities that the member links to."""

    name: str
    linked: tuple[Projected, ...] | None = None


def parse_projection(text: str, what: str = "pick") -> tuple[Projected, ...]:
    """The members of a projection; BadRequestData names `what` when the text is not one."""
    items, end = _members(text, 0, what)
    if end != len(text):
        raise BadRequestData(f"'{what}' has an unmatched '}}' at position {end}: '{text}'")
    return items


def projection_depth(items: tuple[Projected, ...] | None) -> int:
    """How many levels of linked entities a projection reaches into (0: none)."""
    return max((1 + projection_depth(item.linked) for item in items or () if item.linked is not None), default=0)


def check_projection_depth(items: tuple[Projected, ...] | None, join: Join | None) -> None:
    """A projection of linked entities needs their retrieval, as deep as it reaches (clauses 5.7.1.4, 5.7.2.4)."""
    if not items:
        return
    depth = projection_depth(items)
    if depth and join is None:
        raise BadRequestData("A projection of linked entities ('{...}' in pick or omit) needs join=flat or inline")
    if join is not None and depth > join.level:
        raise BadRequestData(f"The projection reaches {depth} levels of linked entities, deeper than "
                             f"joinLevel={join.level}")


def projected(
    options: RenderOptions, pick: tuple[Projected, ...] | None, omit: tuple[Projected, ...] | None,
    expand: Callable[[str], str],
) -> RenderOptions:
    """`options` with a pick or an omit projection (not both); entities linked through a member with a nested
    projection get that projection, rendered otherwise as the others (without attrs and datasetId)."""
    if pick is None and omit is None:
        return options
    linked_base = replace(options, attrs=None, dataset_ids=None, pick=None, omit=frozenset(), linked=())
    return _projected(options, pick, omit, linked_base, expand)


def _projected(
    options: RenderOptions, pick: tuple[Projected, ...] | None, omit: tuple[Projected, ...] | None,
    linked_base: RenderOptions, expand: Callable[[str], str],
) -> RenderOptions:
    items = pick if pick is not None else omit
    if items is None:
        return options
    linked = tuple(
        (_expanded(item.name, expand),
         _projected(linked_base, item.linked if pick is not None else None,
                    item.linked if omit is not None else None, linked_base, expand))
        for item in items if item.linked is not None
    )
    if pick is not None:
        return replace(options, pick=frozenset(_expanded(item.name, expand) for item in pick), linked=linked)
    omitted = frozenset(_expanded(item.name, expand) for item in items if item.linked is None)
    return replace(options, omit=omitted, linked=linked)


def _expanded(name: str, expand: Callable[[str], str]) -> str:
    return name if name in ENTITY_MEMBERS else expand(name)


def _members(text: str, start: int, what: str) -> tuple[tuple[Projected, ...], int]:
    """The members from `start` up to the end of the text or an unmatched '}', and where they end."""
    items: list[Projected] = []
    position = start
    while True:
        end = position
        while end < len(text) and text[end] not in _SEPARATORS and text[end] not in "{}":
            end += 1
        name = text[position:end].strip()
        if not (name in ENTITY_MEMBERS or is_name(name)):
            raise BadRequestData(f"'{what}' holds an invalid member name '{name}': '{text}'")
        linked = None
        if end < len(text) and text[end] == "{":
            if name in ENTITY_MEMBERS:
                raise BadRequestData(f"'{what}': '{name}' links to no entity, it cannot have '{{...}}': '{text}'")
            linked, end = _members(text, end + 1, what)
            if end >= len(text) or text[end] != "}":
                raise BadRequestData(f"'{what}' has an unclosed '{{': '{text}'")
            end += 1
        items.append(Projected(name, linked))
        if end >= len(text) or text[end] == "}":
            return tuple(items), end
        if text[end] not in _SEPARATORS:
            raise BadRequestData(f"'{what}' needs ',' between members at position {end}: '{text}'")
        position = end + 1

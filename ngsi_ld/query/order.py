"""orderBy of Query Entities (Entity Ordering, clause 4.23 of the v1.9.1 specification).

    orderBy=availableSpotNumber;desc,name     ->  (OrderKey(<availableSpotNumber IRI>, True), OrderKey(<name IRI>))

Each comma-separated item is a key, `id` or an attribute name, with an optional direction, `asc` (the
default) or `desc`. The entities are ordered by the first key, then by the next among equals, and at last by
creation order. An attribute orders by its smallest value: the (kind, value) of `ngsi_ld.query.targets` that
comes first, kinds in the order of their names (bool, date, datetime, number, string, time, vocab); entities
without a value of the attribute come after the others, whichever the direction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ngsi_ld.errors import BadRequestData, OperationNotSupported
from ngsi_ld.limits import LIMITS, exceeded
from ngsi_ld.values import is_name

__all__ = ["ENTITY_ID", "OrderKey", "parse_order_by"]

ENTITY_ID = "@id"
"""The path of the key that orders by entity id."""
_DIRECTIONS = {"asc": False, "desc": True}
_GEO_DIRECTIONS = frozenset({"dist-asc", "dist-desc"})
_NOT_ORDERABLE = frozenset({"type", "scope", "createdAt", "modifiedAt", "deletedAt", "@context"})


@dataclass(frozen=True, slots=True)
class OrderKey:
    path: str
    """An attribute IRI, or ENTITY_ID."""
    descending: bool = False


def parse_order_by(text: str, expand: Callable[[str], str]) -> tuple[OrderKey, ...]:
    """The keys of an orderBy parameter; BadRequestData when it is malformed."""
    items = text.split(",")
    if len(items) > LIMITS.order_keys:
        raise exceeded(f"orderBy has {len(items)} keys", "order_keys")
    return tuple(_key(item, expand) for item in items)


def _key(item: str, expand: Callable[[str], str]) -> OrderKey:
    name, separator, direction = item.partition(";")
    if separator and not direction:
        raise BadRequestData(f"orderBy: '{item}' has an empty direction; use asc or desc")
    if direction in _GEO_DIRECTIONS:
        raise OperationNotSupported(f"Ordering by distance ('{direction}') is not supported by this broker")
    if direction and direction not in _DIRECTIONS:
        raise BadRequestData(f"orderBy: '{direction}' is not a direction; use asc or desc")
    if name == "id":
        return OrderKey(ENTITY_ID, _DIRECTIONS.get(direction, False))
    if not is_name(name) or name in _NOT_ORDERABLE or name.startswith("@"):
        raise BadRequestData(f"orderBy: '{name}' is not an attribute name or 'id'")
    return OrderKey(expand(name), _DIRECTIONS.get(direction, False))

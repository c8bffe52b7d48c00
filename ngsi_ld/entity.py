"""Entities: reading a request body into the stored form, with every name expanded to an IRI.

The stored form of an entity:

    {"id": "urn:ngsi-ld:OffStreetParking:1", "type": ["https://.../OffStreetParking"],
     "scope": ["/Mechelen/Centre"], "createdAt": "...", "modifiedAt": "...",
     "attrs": {"https://.../availableSpotNumber": [{"type": "Property", "value": 121, ...}]}}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ngsi_ld.attributes import NULL, Instances, check_attribute_name, parse_attribute
from ngsi_ld.context import TermMap
from ngsi_ld.errors import BadRequestData, InvalidRequest, shown
from ngsi_ld.limits import LIMITS, exceeded
from ngsi_ld.values import is_name, is_scope, is_uri

__all__ = ["Entity", "Fragment", "check_entity_id", "expand_types", "parse_entity", "parse_fragment"]

Entity = dict[str, Any]
_ENTITY_KEYS = frozenset({"id", "type", "scope", "@context", "createdAt", "modifiedAt", "deletedAt"})
"""Members of an entity that are not attributes (its system attributes are ignored on input)."""


@dataclass(slots=True)
class Fragment:
    """An entity fragment of a request: attributes, and types and scope if given.

    In update and merge fragments, instances with an NGSI-LD Null value are to be deleted, and an empty
    scope list means that the scope is to be deleted.
    """

    attrs: dict[str, Instances] = field(default_factory=dict)
    types: list[str] | None = None
    scope: list[str] | None = None


def parse_entity(raw: Any, terms: TermMap) -> Entity:
    """Reads a whole entity (create): id and type are required."""
    if not isinstance(raw, dict):
        raise InvalidRequest("An entity must be a JSON object")
    entity_id = raw.get("id")
    if entity_id is None:
        raise BadRequestData("An entity needs an 'id'")
    check_entity_id(entity_id)
    if raw.get("type") is None:
        raise BadRequestData("An entity needs a 'type'")
    fragment = parse_fragment(raw, terms, entity_id=entity_id)
    entity: Entity = {"id": entity_id, "type": fragment.types}
    if fragment.scope is not None:
        entity["scope"] = fragment.scope
    entity["attrs"] = fragment.attrs
    return entity


def parse_fragment(raw: Any, terms: TermMap, *, entity_id: str, nulls: bool = False) -> Fragment:
    """Reads an entity fragment (append, update, merge, replace) aimed at the entity `entity_id`."""
    if not isinstance(raw, dict):
        raise InvalidRequest("The payload must be a JSON object")
    if "id" in raw and raw["id"] != entity_id:
        raise BadRequestData(f"The payload's id {shown(raw['id'])} is not the entity's id '{entity_id}'")
    fragment = Fragment()
    if "type" in raw:
        fragment.types = expand_types(raw["type"], terms)
    if "scope" in raw:
        fragment.scope = [] if nulls and raw["scope"] == NULL else _scope(raw["scope"])
    if len(raw) > LIMITS.attributes and len(raw.keys() - _ENTITY_KEYS) > LIMITS.attributes:
        raise exceeded("The entity has too many attributes", "attributes", too_large=True)
    for name, value in raw.items():
        if name in _ENTITY_KEYS:
            continue
        check_attribute_name(name)
        fragment.attrs[terms.expand(name)] = parse_attribute(name, value, terms, nulls=nulls)
    return fragment


def check_entity_id(entity_id: Any) -> None:
    if not is_uri(entity_id):
        raise BadRequestData(f"An entity id must be a URI, got {shown(entity_id)}")
    if len(entity_id) > LIMITS.id_length:
        raise exceeded(f"The entity id {shown(entity_id)} is too long", "id_length")


def expand_types(raw: Any, terms: TermMap) -> list[str]:
    """The expanded entity types of a 'type' member (a name or a non-empty array of names)."""
    names = raw if isinstance(raw, list) else [raw]
    if not names or not all(is_name(name) for name in names):
        raise BadRequestData(f"An entity type must be a name or an array of names, got {shown(raw)}")
    if any(len(name) > LIMITS.name_length for name in names):
        raise exceeded("An entity type name is too long", "name_length")
    return list(dict.fromkeys(terms.expand(name) for name in names))


def _scope(raw: Any) -> list[str]:
    scopes = raw if isinstance(raw, list) else [raw]
    if not scopes or not all(is_scope(scope) for scope in scopes):
        raise BadRequestData(f"A scope must be a path such as /City/District, got {shown(raw)}")
    return list(dict.fromkeys(scopes))

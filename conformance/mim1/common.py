"""Small builders of the payloads the checks send, and readers of what comes back."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from conformance.client import Reply
from conformance.trial import Trial

__all__ = ["CORE", "attr_path", "entity_path", "geo", "ids_of", "point", "prop", "rel", "thing", "thing_with",
           "value_of"]

CORE = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"


def prop(value: Any, **extra: Any) -> dict[str, Any]:
    return {"type": "Property", "value": value, **extra}


def rel(target: str, **extra: Any) -> dict[str, Any]:
    return {"type": "Relationship", "object": target, **extra}


def point(lon: float, lat: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [lon, lat]}


def geo(lon: float, lat: float) -> dict[str, Any]:
    return {"type": "GeoProperty", "value": point(lon, lat)}


def thing(t: Trial, kind: str = "Thing", **attrs: Any) -> dict[str, Any]:
    """A new entity of the run's type `kind`, with a new id and `attrs`."""
    return {"id": t.new_id(kind), "type": t.type(kind), **attrs}


def thing_with(t: Trial, attrs: dict[str, Any], kind: str = "Thing") -> dict[str, Any]:
    """A new entity with attributes whose names are not Python names (terms, IRIs)."""
    return {"id": t.new_id(kind), "type": t.type(kind), **attrs}


def entity_path(entity_id: str) -> str:
    return f"/entities/{quote(entity_id, safe=':')}"


def attr_path(entity_id: str, attr: str) -> str:
    return f"{entity_path(entity_id)}/attrs/{quote(attr, safe=':')}"


def ids_of(t: Trial, reply: Reply) -> set[str]:
    """The ids of a list of entities (200 required)."""
    t.expect_status(reply, 200, "a query answers 200 OK with a list of entities")
    body = t.expect_json(reply, list, "a query answers a JSON array of entities")
    return {str(entity.get("id")) for entity in body if isinstance(entity, dict)}


def value_of(attribute: Any) -> Any:
    """The value of a normalized Property (or the object of a Relationship)."""
    if isinstance(attribute, dict):
        return attribute.get("value", attribute.get("object"))
    return attribute

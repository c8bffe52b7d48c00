"""Whether the target already holds an entity as the copy would write it, system attributes aside.

Two brokers (or one broker's two renderings) may spell the same normalized entity differently: a type as a
string or an array of one, a Relationship's object as a URI or an array of one, the items of an objectList as
URIs or {"object": URI}, the instances of a multi-instance attribute in any order. `canonical` irons these out.
"""

from __future__ import annotations

from typing import Any

from ngsi_ld.attributes import ATTRIBUTE_TYPES, SYSTEM_KEYS

__all__ = ["canonical", "differing_attributes", "same_entity"]

_ENTITY_SKIPPED = SYSTEM_KEYS | {"@context"}


def canonical(entity: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, value in entity.items():
        if name in _ENTITY_SKIPPED:
            continue
        if name in ("type", "scope"):
            result[name] = sorted(value) if isinstance(value, list) else [value]
        elif name == "id":
            result[name] = value
        else:
            result[name] = _attribute(value)
    return result


def _attribute(value: Any) -> Any:
    instances = value if isinstance(value, list) else [value]
    if not all(isinstance(item, dict) and item.get("type") in ATTRIBUTE_TYPES for item in instances):
        return value
    return sorted((_instance(item) for item in instances), key=lambda item: str(item.get("datasetId", "")))


def _instance(instance: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, member in instance.items():
        if name in SYSTEM_KEYS:
            continue
        if name == "object" and isinstance(member, list) and len(member) == 1:
            result[name] = member[0]
        elif name == "objectList" and isinstance(member, list):
            result[name] = [item.get("object") if isinstance(item, dict) else item for item in member]
        elif name in ("type", "value", "languageMap", "vocab", "json", "valueList", "object", "observedAt",
                      "unitCode", "datasetId", "objectType", "lang"):
            result[name] = member
        else:
            result[name] = _attribute(member)
    return result


def same_entity(wanted: dict[str, Any], held: dict[str, Any] | None) -> bool:
    return held is not None and canonical(wanted) == canonical(held)


def differing_attributes(wanted: dict[str, Any], held: dict[str, Any]) -> list[str]:
    """The names (type and scope included) whose canonical values differ, sorted."""
    first, second = canonical(wanted), canonical(held)
    return sorted(name for name in first.keys() | second.keys() if first.get(name) != second.get(name))

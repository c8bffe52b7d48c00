"""Merge payloads that give bare values: the simplified form (format=simplified, clause 4.5.4), and strings
for a LanguageProperty with a `lang` parameter. Each value takes the type its attribute already has
(clauses 5.6.17, 6.5.3.4):

    typed_fragment({"owner": "urn:ngsi-ld:Person:2"}, entity, terms, simplified=True, lang=None)
    -> {"owner": {"type": "Relationship", "object": "urn:ngsi-ld:Person:2"}}   # owner is a Relationship
"""

from __future__ import annotations

from typing import Any

from ngsi_ld.attributes import ATTRIBUTE_TYPES, NULL, Instances
from ngsi_ld.context import TermMap
from ngsi_ld.entity import Entity
from ngsi_ld.errors import BadRequestData
from ngsi_ld.geojson import looks_like_geometry

__all__ = ["typed_fragment"]

_ENTITY_MEMBERS = frozenset({"id", "type", "scope", "@context"})
_NAMED_VALUES = frozenset({"languageMap", "vocab", "json"})
"""Value members whose name the simplified form keeps ({"vocab": "Civic"})."""
_DEFAULT = "@none"


def typed_fragment(raw: Any, entity: Entity, terms: TermMap, *, simplified: bool, lang: str | None) -> Any:
    """`raw` with its bare values turned into normalized attributes of the type they have in `entity`.

    Without `simplified`, only text given for a LanguageProperty (with `lang`) is rewritten; new attributes
    in simplified form become Properties (GeoProperties for geometries).
    """
    if not isinstance(raw, dict):
        return raw
    typed: dict[str, Any] = {}
    for name, value in raw.items():
        current = None if name in _ENTITY_MEMBERS else entity["attrs"].get(terms.expand(name))
        if name in _ENTITY_MEMBERS or value == NULL:
            typed[name] = value
        elif current is None:
            typed[name] = _new_attribute(value) if simplified else value
        else:
            typed[name] = _typed_attribute(name, value, current, simplified, lang)
    return typed


def _typed_attribute(name: str, value: Any, current: Instances, simplified: bool, lang: str | None) -> Any:
    if simplified and _is_dataset(value):
        dataset = value["dataset"].items()
        return [_typed_instance(name, item, _instance(current, key), lang, key) for key, item in dataset]
    instance = _instance(current, _DEFAULT)
    if simplified or (lang and instance["type"] == "LanguageProperty" and _is_text(value)):
        return _typed_instance(name, value, instance, lang, _DEFAULT)
    return value


def _typed_instance(name: str, value: Any, instance: dict[str, Any], lang: str | None, dataset_id: str) -> Any:
    attribute_type = instance["type"]
    key = ATTRIBUTE_TYPES[attribute_type]
    if value == NULL:
        typed: dict[str, Any] = {"value": NULL}
    elif attribute_type == "LanguageProperty" and _is_text(value):
        if not lang:
            raise BadRequestData(f"Attribute '{name}' is a LanguageProperty: text for it needs the 'lang' parameter")
        kept = instance[key] if instance.get("datasetId") == _dataset_member(dataset_id) else {}
        typed = {"type": attribute_type, key: {**kept, lang: value}}
    elif key in _NAMED_VALUES and isinstance(value, dict) and list(value) == [key]:
        typed = {"type": attribute_type, key: value[key]}
    else:
        typed = {"type": attribute_type, key: value}
    if dataset_id != _DEFAULT:
        typed["datasetId"] = dataset_id
    return typed


def _new_attribute(value: Any) -> Any:
    if _is_dataset(value):
        return [_new_instance(item, key) for key, item in value["dataset"].items()]
    return _new_instance(value, _DEFAULT)


def _new_instance(value: Any, dataset_id: str) -> Any:
    if isinstance(value, dict) and len(value) == 1 and next(iter(value)) in _NAMED_VALUES:
        typed = dict(value)
    else:
        typed = {"type": "GeoProperty" if looks_like_geometry(value) else "Property", "value": value}
    if dataset_id != _DEFAULT:
        typed["datasetId"] = dataset_id
    return typed


def _instance(current: Instances, dataset_id: str) -> dict[str, Any]:
    """The instance with this datasetId, else any instance (they share the attribute's type)."""
    return next((i for i in current if i.get("datasetId") == _dataset_member(dataset_id)), current[0])


def _dataset_member(dataset_id: str) -> str | None:
    """The datasetId member of the instance a datasetId names (none for the default instance)."""
    return None if dataset_id == _DEFAULT else dataset_id


def _is_dataset(value: Any) -> bool:
    return isinstance(value, dict) and list(value) == ["dataset"] and isinstance(value["dataset"], dict)


def _is_text(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value))

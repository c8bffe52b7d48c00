"""Entities reduced to the key-values form that Smart Data Models schemas describe.

A Property and a GeoProperty become their value, a Relationship its object (the other NGSI-LD attribute
types their languageMap, vocab, json, valueList or objectList), a `{"@type": ..., "@value": v}` value
becomes v, and sub-attributes, system attributes and @context are dropped. An NGSIv2 attribute
(`{"type", "value", "metadata"}`) becomes its value.
"""

from __future__ import annotations

from typing import Any

from ngsi_ld.attributes import ATTRIBUTE_TYPES, DEFAULT_DATASET
from ngsi_ld.context import TermMap
from ngsi_ld.entity import Entity

__all__ = [
    "FORMATS", "FORMAT_NAMES", "FormatEvidence", "detect_format", "instance_variants", "reduced", "reduced_stored",
    "stored_instance_variants",
]

FORMATS = ("normalized", "concise", "keyValues", "v2")
"""Input forms: NGSI-LD normalized and concise, key-values (NGSI-LD or NGSIv2), NGSIv2 normalized."""
_ENTITY_MEMBERS = frozenset({"id", "type"})
_DROPPED = frozenset({"@context", "createdAt", "modifiedAt", "deletedAt", "scope"})
_VALUE_MEMBERS = tuple(dict.fromkeys(ATTRIBUTE_TYPES.values()))


def detect_format(entity: dict[str, Any]) -> str:
    """normalized when an attribute is typed as an NGSI-LD attribute, v2 when attributes are NGSIv2
    {type, value} objects, keyValues otherwise (concise input reduces as normalized does)."""
    attributes = [value for name, value in entity.items() if name not in _ENTITY_MEMBERS | _DROPPED]
    objects = [value for value in attributes if isinstance(value, dict)]
    if any(value.get("type") in ATTRIBUTE_TYPES for value in objects):
        return "normalized"
    if objects and all("value" in value and "type" in value for value in objects):
        return "v2"
    return "keyValues"


FORMAT_NAMES = {"normalized": "NGSI-LD (normalized or concise)", "concise": "NGSI-LD (normalized or concise)",
                "keyValues": "key-values (NGSI-LD or NGSIv2)", "v2": "NGSIv2 normalized"}
_LD_ONLY_MEMBERS = frozenset({"object", "objects", "languageMap", "vocab", "json", "valueList", "objectList",
                              "observedAt", "unitCode", "datasetId", "lang"})
_V2_TYPES = frozenset({"Text", "Number", "Integer", "Float", "Boolean", "DateTime", "Date", "Time", "URL",
                       "StructuredValue", "Array", "Object", "geo:json", "geo:point", "geo:line", "geo:polygon",
                       "geo:box", "ISO8601", "None"})


class FormatEvidence:
    """What the entities of one file say of their form, entity by entity, and the form of the whole file:
    one entity alone can mislead (NGSIv2 attributes typed "Relationship" or "Property", NGSI-LD examples
    typed "string")."""

    def __init__(self) -> None:
        self.entities = 0
        self.ngsi_ld = 0
        """Entities with something only NGSI-LD has: @context, object, observedAt, unitCode, datasetId..."""
        self.ngsi_v2 = 0
        """Entities with something only NGSIv2 has: metadata, a Relationship's value, a type such as Number."""
        self.ld_members = 0
        """Entities with attribute objects of NGSI-LD members (concise attributes have no type)."""
        self.typed = 0
        """Entities with attributes written as {"type": ..., "value": ...} objects."""
        self.ld_typed_only = 0
        """...whose attribute types are all NGSI-LD attribute types."""

    def add(self, entity: Any) -> None:
        if not isinstance(entity, dict):
            return
        self.entities += 1
        attributes = [value for name, value in entity.items() if name not in _ENTITY_MEMBERS | _DROPPED]
        objects = [item for value in attributes
                   for item in (value if isinstance(value, list) else [value]) if isinstance(item, dict)]
        ld_members = any(_LD_ONLY_MEMBERS & item.keys() for item in objects)
        self.ld_members += ld_members
        self.ngsi_ld += "@context" in entity or ld_members
        typed = [item for item in objects if "type" in item and ("value" in item or "object" in item)]
        v2_typed = bool(typed) and not any(item["type"] in ATTRIBUTE_TYPES for item in typed) and any(
            item["type"] in _V2_TYPES for item in typed)
        self.ngsi_v2 += v2_typed or any(
            "metadata" in item or (item.get("type") == "Relationship" and "value" in item and "object" not in item)
            for item in objects)
        self.typed += bool(typed)
        self.ld_typed_only += bool(typed) and all(item["type"] in ATTRIBUTE_TYPES for item in typed)

    def decided(self) -> str:
        """normalized (which reduces concise too), v2 or keyValues: the clearest evidence of the file wins."""
        if not self.typed and not self.ld_members:
            return "keyValues"
        if self.ngsi_ld > self.ngsi_v2:
            return "normalized"
        if self.ngsi_v2 > self.ngsi_ld:
            return "v2"
        return "normalized" if self.ld_typed_only * 2 >= self.typed else "v2"


def instance_variants(entity: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, str]]]:
    """An NGSI-LD entity once per instance of its multi-instance attributes (the k-th instance of each in the
    k-th variant), with the datasetId of each attribute instance other than the default one; the entity
    alone when it has none."""
    multiple = {name: value for name, value in entity.items() if name not in _ENTITY_MEMBERS | _DROPPED
                and isinstance(value, list) and len(value) > 1
                and all(isinstance(item, dict) and "type" in item for item in value)}
    if not multiple:
        return [(entity, {})]
    variants = []
    for position in range(max(map(len, multiple.values()))):
        chosen = {name: instances[min(position, len(instances) - 1)] for name, instances in multiple.items()}
        dataset_ids = {name: str(instance["datasetId"]) for name, instance in chosen.items() if "datasetId" in instance}
        variants.append(({**entity, **chosen}, dataset_ids))
    return variants


def reduced(entity: dict[str, Any], input_format: str) -> dict[str, Any]:
    """The key-values form of an entity as read from a file or a request (names as they are)."""
    if input_format == "keyValues":
        return {name: value for name, value in entity.items() if name not in _DROPPED}
    reduce = _v2_value if input_format == "v2" else _ld_value
    return {name: value if name in _ENTITY_MEMBERS else reduce(value)
            for name, value in entity.items() if name not in _DROPPED}


def reduced_stored(entity: Entity, terms: TermMap, position: int = 0) -> dict[str, Any]:
    """The key-values form of a stored entity, its names compacted with `terms` (its model's @context). Of a
    multi-instance attribute, the default instance (or the first); with `position` k, its k-th instance after
    the default one (its last, when it has fewer)."""
    types = [terms.compact(entity_type) for entity_type in entity["type"]]
    out: dict[str, Any] = {"id": entity["id"], "type": types[0] if len(types) == 1 else types}
    for name, instances in entity["attrs"].items():
        instance = _nth_instance(instances, position)
        value = instance[ATTRIBUTE_TYPES[instance["type"]]]
        if instance["type"] == "VocabProperty":
            value = [terms.compact(v) for v in value] if isinstance(value, list) else terms.compact(value)
        out[terms.compact(name)] = _unwrapped(value)
    return out


def stored_instance_variants(entity: Entity, terms: TermMap) -> list[tuple[dict[str, Any], dict[str, str]]]:
    """The key-values forms of a stored entity, one per instance of its multi-instance attributes (see
    reduced_stored), each with the datasetId of each (compacted) attribute whose instance is not the default."""
    most = max((len(instances) for instances in entity["attrs"].values()), default=1)
    if most == 1:
        return [(reduced_stored(entity, terms), {})]
    variants = []
    for position in range(most):
        dataset_ids = {terms.compact(name): str(dataset_id) for name, instances in entity["attrs"].items()
                       if len(instances) > 1
                       and (dataset_id := _nth_instance(instances, position).get("datasetId", DEFAULT_DATASET))
                       != DEFAULT_DATASET}
        variants.append((reduced_stored(entity, terms, position), dataset_ids))
    return variants


def _nth_instance(instances: list[dict[str, Any]], position: int) -> dict[str, Any]:
    if len(instances) == 1:
        return instances[0]
    ordered = sorted(instances, key=lambda i: i.get("datasetId", DEFAULT_DATASET) != DEFAULT_DATASET)
    return ordered[min(position, len(ordered) - 1)]


def _ld_value(attribute: Any) -> Any:
    """An NGSI-LD attribute, normalized or concise; an object typed otherwise than as an NGSI-LD attribute
    (a misuse of "type": "DateTime", say) stays as it is, for the schema to judge."""
    if isinstance(attribute, list) and attribute and all(isinstance(i, dict) and "type" in i for i in attribute):
        attribute = next((i for i in attribute if "datasetId" not in i), attribute[0])  # several instances
    if not isinstance(attribute, dict):
        return attribute
    attribute_type = attribute.get("type")
    if attribute_type in ATTRIBUTE_TYPES:
        return _unwrapped(attribute.get(ATTRIBUTE_TYPES[attribute_type]))
    if attribute_type is None:
        member = next((key for key in _VALUE_MEMBERS if key in attribute), None)
        if member is not None:
            return _unwrapped(attribute[member])
    return _unwrapped(attribute)


def _v2_value(attribute: Any) -> Any:
    if isinstance(attribute, dict) and "value" in attribute:
        return _unwrapped(attribute["value"])
    return attribute


def _unwrapped(value: Any) -> Any:
    if isinstance(value, dict) and "@value" in value:
        return value["@value"]
    return value

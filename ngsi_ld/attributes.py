"""Attributes of an entity: reading them from a request (normalized or concise) into the stored form.

The stored form of an attribute is a list of instances (one per datasetId, clause 4.5.5). An instance
is the normalized attribute with every name expanded to an IRI, and its sub-attributes under "attrs":

    {"type": "Property", "value": 21.5, "unitCode": "CEL", "observedAt": "...",
     "attrs": {"https://example.org/accuracy": [{"type": "Property", "value": 0.1}]}}
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ngsi_ld.context import TermMap
from ngsi_ld.errors import BadRequestData, shown
from ngsi_ld.geojson import check_geometry, looks_like_geometry
from ngsi_ld.limits import LIMITS, exceeded
from ngsi_ld.values import DATETIME_RULE, is_datetime, is_name, is_uri, normalized_datetime

__all__ = [
    "ATTRIBUTE_TYPES",
    "DEFAULT_DATASET",
    "NULL",
    "SYSTEM_KEYS",
    "VALUE_KEYS",
    "Instances",
    "check_attribute_name",
    "has_nested_null",
    "is_null_instance",
    "null_value",
    "parse_attribute",
    "parse_instance_fragment",
]

Instances = list[dict[str, Any]]

NULL = "urn:ngsi-ld:null"
"""The value that deletes what it is given for, in merge and partial update operations (clause 5.5.8, 5.5.12)."""

ATTRIBUTE_TYPES = {
    "Property": "value",
    "GeoProperty": "value",
    "Relationship": "object",
    "LanguageProperty": "languageMap",
    "VocabProperty": "vocab",
    "JsonProperty": "json",
    "ListProperty": "valueList",
    "ListRelationship": "objectList",
}
"""Each attribute type, with the member that holds its value."""

VALUE_KEYS = {
    "value": "Property",
    "object": "Relationship",
    "languageMap": "LanguageProperty",
    "vocab": "VocabProperty",
    "json": "JsonProperty",
    "valueList": "ListProperty",
    "objectList": "ListRelationship",
}
"""Each value member, with the attribute type it implies in the concise representation."""

_NULL_VALUES = {"value": NULL, "object": NULL, "languageMap": {"@none": NULL}, "vocab": NULL, "json": NULL,
                "valueList": [NULL], "objectList": [NULL]}
"""How each value member says NGSI-LD Null (clause 4.5.x, 4.6.5): the instance is to be deleted."""
_NULLABLE_METADATA = frozenset({"observedAt", "unitCode", "objectType"})
_METADATA_TYPES = {"unitCode": frozenset({"Property", "GeoProperty", "ListProperty"}),
                   "objectType": frozenset({"Relationship", "ListRelationship"})}
"""The attribute types that may carry unitCode and objectType (clauses 4.5.2, 4.5.3, 4.5.18-4.5.24)."""
DEFAULT_DATASET = "@none"
"""The datasetId that names the default instance (clause 4.5.5): given on input, it is left out."""

METADATA_KEYS = frozenset({"observedAt", "unitCode", "datasetId", "objectType"})
SYSTEM_KEYS = frozenset({"createdAt", "modifiedAt", "deletedAt", "instanceId"})
"""Members the broker writes itself; given on input, they are ignored."""
_OUTPUT_ONLY_KEYS = frozenset({"lang", "previousValue", "previousObject", "previousLanguageMap", "previousVocab",
                               "previousJson", "previousValueList", "previousObjectList"})
_RESERVED = frozenset(ATTRIBUTE_TYPES.values()) | METADATA_KEYS | SYSTEM_KEYS | _OUTPUT_ONLY_KEYS | {"type", "@context"}
_FORBIDDEN_NAMES = frozenset({"id", "type", "scope", "@context", "@id", "@type"}) | _RESERVED


def check_attribute_name(name: str) -> None:
    """Raises BadRequestData when `name` cannot name an attribute."""
    if len(name) > LIMITS.name_length:
        raise exceeded(f"The attribute name {shown(name)} is too long", "name_length")
    if not is_name(name) or name in _FORBIDDEN_NAMES:
        raise BadRequestData(f"'{name}' is not a valid attribute name")


def is_null_instance(instance: dict[str, Any]) -> bool:
    """Whether a parsed instance holds NGSI-LD Null as its value: the instance is to be deleted."""
    return any(instance.get(key) == null for key, null in _NULL_VALUES.items())


def null_value(attribute_type: str) -> Any:
    """How an attribute of this type says NGSI-LD Null in its value member: a deleted attribute in
    notifications ({"@none": "urn:ngsi-ld:null"} for a languageMap, ["urn:ngsi-ld:null"] for the lists)."""
    null = _NULL_VALUES[ATTRIBUTE_TYPES[attribute_type]]
    return dict(null) if isinstance(null, dict) else list(null) if isinstance(null, list) else null


def has_nested_null(value: Any) -> bool:
    """Whether NGSI-LD Null appears as a member of a JSON object inside `value` (allowed in merge only, 5.5.4)."""
    if isinstance(value, dict):
        return any(member == NULL or has_nested_null(member) for member in value.values())
    if isinstance(value, list):
        return any(has_nested_null(item) for item in value)
    return False


def parse_attribute(name: str, raw: Any, terms: TermMap, *, nulls: bool = False, depth: int = 0) -> Instances:
    """Reads the attribute `name` as given in a request into its stored instances.

    With `nulls` (the fragment of an update or merge), NGSI-LD Null is accepted: an instance whose value is
    Null (see is_null_instance) is to be deleted, and Null members of JSON object values are kept for the
    operation to apply. Without, any NGSI-LD Null is BadRequestData (clause 5.5.4). `depth` is how deep a
    sub-attribute the attribute is (0 for an attribute of an entity): it is limited (ngsi_ld.limits).
    """
    if depth > LIMITS.attribute_depth:
        raise exceeded(f"Sub-attribute '{shown(name)[1:-1]}' is nested too deep", "attribute_depth")
    items = raw if isinstance(raw, list) and raw and all(_is_instance(item) for item in raw) else [raw]
    instances = [_parse_instance(name, item, terms, nulls, depth) for item in items]
    seen: set[str | None] = set()
    for instance in instances:
        dataset_id = instance.get("datasetId")
        if dataset_id in seen:
            which = f"datasetId '{dataset_id}'" if dataset_id else "no datasetId"
            raise BadRequestData(f"Attribute '{name}' has two instances with {which}")
        seen.add(dataset_id)
    return instances


def parse_instance_fragment(name: str, raw: Any, terms: TermMap) -> dict[str, Any]:
    """Reads the members of one attribute instance given for a partial update (clause 5.6.4).

    The fragment may leave out the type (it then has no "type") and any member. A sub-attribute or a
    metadata member (unitCode, observedAt) given as NGSI-LD Null is to be deleted; the value cannot be Null,
    as this operation does not delete the attribute itself.
    """
    if not isinstance(raw, dict):
        raw = {"value": raw}
    fragment: dict[str, Any] = {}
    attribute_type = raw.get("type")
    if "type" in raw and not _is_attribute_type(attribute_type):
        raise BadRequestData(f"Attribute '{name}' has an invalid type '{attribute_type}'")
    for key, member in raw.items():
        if key in SYSTEM_KEYS or key in _OUTPUT_ONLY_KEYS or key == "type":
            continue
        if key in VALUE_KEYS:
            implied = attribute_type or _implied_type(key, member)
            fragment[key] = _check_value(name, implied, key, member, terms, nulls=False)
        elif key in _NULLABLE_METADATA and member == NULL:
            fragment[key] = NULL
        elif key in METADATA_KEYS:
            _put_metadata(fragment, name, key, member, terms)
        else:
            check_attribute_name(key)
            fragment.setdefault("attrs", {})[terms.expand(key)] = parse_attribute(key, member, terms, nulls=True,
                                                                                  depth=1)
    if attribute_type is not None:
        fragment["type"] = attribute_type
    return fragment


def _is_attribute_type(name: Any) -> bool:
    return isinstance(name, str) and name in ATTRIBUTE_TYPES


def _is_instance(item: Any) -> bool:
    return isinstance(item, dict) and (_is_attribute_type(item.get("type")) or any(k in item for k in VALUE_KEYS))


def _implied_type(key: str, member: Any) -> str:
    if key == "value" and looks_like_geometry(member):
        return "GeoProperty"
    return VALUE_KEYS[key]


def _normalized(name: str, raw: Any) -> dict[str, Any]:
    """The instance in normalized form: concise input gets its type (clause 4.5.2.3, 4.5.3.3)."""
    if not isinstance(raw, dict):
        if raw is None:
            raise BadRequestData(f"Attribute '{name}' has a null value")
        return {"type": "Property", "value": raw}
    attribute_type = raw.get("type")
    if _is_attribute_type(attribute_type):
        return raw
    if looks_like_geometry(raw):
        return {"type": "GeoProperty", "value": raw}
    if "type" in raw:
        raise BadRequestData(f"Attribute '{name}' has an invalid type '{attribute_type}'")
    for key in VALUE_KEYS:
        if key in raw:
            return {**raw, "type": _implied_type(key, raw[key])}
    return {"type": "Property", "value": raw}


def _parse_instance(name: str, raw: Any, terms: TermMap, nulls: bool, depth: int) -> dict[str, Any]:
    node = _normalized(name, raw)
    if len(node) > LIMITS.attributes and len(node.keys() - _RESERVED) > LIMITS.attributes:
        raise exceeded(f"Attribute '{shown(name)[1:-1]}' has too many sub-attributes", "attributes", too_large=True)
    attribute_type = node["type"]
    value_key = ATTRIBUTE_TYPES[attribute_type]
    if value_key not in node:
        raise BadRequestData(f"Attribute '{name}' of type {attribute_type} needs a '{value_key}' member")
    instance: dict[str, Any] = {"type": attribute_type}
    for key, member in node.items():
        if key == "type" or key in SYSTEM_KEYS or key in _OUTPUT_ONLY_KEYS:
            continue
        if key == value_key:
            instance[key] = _check_value(name, attribute_type, key, member, terms, nulls)
        elif key in METADATA_KEYS:
            if attribute_type not in _METADATA_TYPES.get(key, ATTRIBUTE_TYPES):
                raise BadRequestData(f"Attribute '{name}' of type {attribute_type} cannot have a '{key}' member")
            _put_metadata(instance, name, key, member, terms)
        elif key in VALUE_KEYS:
            raise BadRequestData(f"Attribute '{name}' of type {attribute_type} cannot have a '{key}' member")
        else:
            check_attribute_name(key)
            sub = parse_attribute(key, member, terms, nulls=nulls, depth=depth + 1)
            instance.setdefault("attrs", {})[terms.expand(key)] = sub
    return instance


def _check_value(name: str, attribute_type: str, key: str, member: Any, terms: TermMap, nulls: bool) -> Any:
    if member is None:
        raise BadRequestData(f"Attribute '{name}' has a null '{key}'")
    nested_null = _walked(name, member)
    if member == _NULL_VALUES[key] or (not nulls and key == "value" and nested_null):
        if nulls:
            return member
        raise BadRequestData(f"Attribute '{name}': NGSI-LD Null is allowed only in update and merge fragments")
    check = _VALUE_CHECKS.get(attribute_type)
    return check(name, member, terms) if check else member


def _walked(name: str, value: Any) -> bool:
    """Whether NGSI-LD Null is a member of an object inside `value` (as has_nested_null), once the value is
    known to nest no deeper and to hold no longer strings than the limits allow (the error otherwise)."""
    if isinstance(value, str):
        _check_length(name, value)
        return False
    if not isinstance(value, (dict, list)):
        return False
    nested_null = False
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > LIMITS.value_depth:
            raise exceeded(f"The value of attribute '{shown(name)[1:-1]}' is nested too deep", "value_depth")
        in_object = isinstance(item, dict)
        members: Iterable[Any] = item.values() if isinstance(item, dict) else item
        for member in members:
            if isinstance(member, (dict, list)):
                stack.append((member, depth + 1))
            elif isinstance(member, str):
                _check_length(name, member)
                nested_null = nested_null or (in_object and member == NULL)
    return nested_null


def _check_length(name: str, text: str) -> None:
    if len(text) > LIMITS.string_length:
        raise exceeded(f"The value of attribute '{shown(name)[1:-1]}' holds a string too long", "string_length",
                       too_large=True)


def _check_property_value(name: str, value: Any, terms: TermMap) -> Any:
    if isinstance(value, dict) and "@value" in value:
        typed_as_datetime = value.get("@type") in ("DateTime", "https://uri.etsi.org/ngsi-ld/DateTime")
        if typed_as_datetime and not is_datetime(value["@value"]):
            raise BadRequestData(f"Attribute '{name}' has an invalid DateTime {shown(value['@value'])}: "
                                 f"{DATETIME_RULE}")
    return value


def _check_geo_value(name: str, value: Any, terms: TermMap) -> Any:
    try:
        check_geometry(value)
    except BadRequestData as exc:
        raise BadRequestData(f"Attribute '{name}': {exc.detail}") from exc
    return value


def _check_object(name: str, value: Any, terms: TermMap) -> Any:
    objects = value if isinstance(value, list) else [value]
    if not objects or not all(is_uri(obj) for obj in objects):
        raise BadRequestData(f"Relationship '{name}' needs an object that is a URI or an array of URIs")
    return value


def _check_object_list(name: str, value: Any, terms: TermMap) -> list[str]:
    if not isinstance(value, list):
        raise BadRequestData(f"ListRelationship '{name}' needs an array in 'objectList'")
    objects = [item.get("object") if isinstance(item, dict) else item for item in value]
    if not all(is_uri(obj) for obj in objects):
        raise BadRequestData(f"ListRelationship '{name}' needs URIs in 'objectList'")
    return [str(obj) for obj in objects]


def _check_language_map(name: str, value: Any, terms: TermMap) -> Any:
    if not isinstance(value, dict) or not value:
        raise BadRequestData(f"LanguageProperty '{name}' needs a non-empty JSON object in 'languageMap'")
    for tag, text in value.items():
        texts = text if isinstance(text, list) else [text]
        if not isinstance(tag, str) or not all(isinstance(t, str) for t in texts):
            raise BadRequestData(f"LanguageProperty '{name}' maps language tags to strings; '{tag}' does not")
    return value


def _check_vocab(name: str, value: Any, terms: TermMap) -> Any:
    items = value if isinstance(value, list) else [value]
    if not items or not all(is_name(item) for item in items):
        raise BadRequestData(f"VocabProperty '{name}' needs a string or an array of strings in 'vocab'")
    expanded = [terms.expand(item) for item in items]
    return expanded if isinstance(value, list) else expanded[0]


def _check_json(name: str, value: Any, terms: TermMap) -> Any:
    if not isinstance(value, (dict, list)):
        raise BadRequestData(f"JsonProperty '{name}' needs a JSON object or array in 'json'")
    return value


def _check_value_list(name: str, value: Any, terms: TermMap) -> Any:
    if not isinstance(value, list):
        raise BadRequestData(f"ListProperty '{name}' needs an array in 'valueList'")
    return value


_VALUE_CHECKS = {
    "Property": _check_property_value,
    "GeoProperty": _check_geo_value,
    "Relationship": _check_object,
    "ListRelationship": _check_object_list,
    "LanguageProperty": _check_language_map,
    "VocabProperty": _check_vocab,
    "JsonProperty": _check_json,
    "ListProperty": _check_value_list,
}


def _put_metadata(instance: dict[str, Any], name: str, key: str, member: Any, terms: TermMap) -> None:
    if key != "datasetId" or member != DEFAULT_DATASET:
        instance[key] = _check_metadata(name, key, member, terms)


def _check_metadata(name: str, key: str, member: Any, terms: TermMap) -> Any:
    if key == "observedAt":
        if not is_datetime(member):
            raise BadRequestData(f"Attribute '{name}' has an invalid observedAt {shown(member)}: {DATETIME_RULE}")
        return normalized_datetime(member)
    if key == "datasetId" and not is_uri(member):
        raise BadRequestData(f"Attribute '{name}' has a datasetId that is not a URI: {shown(member)}")
    if key == "unitCode" and not (isinstance(member, str) and member):
        raise BadRequestData(f"Attribute '{name}' has a unitCode that is not a string")
    if key == "objectType":
        types = member if isinstance(member, list) else [member]
        if not types or not all(is_name(t) for t in types):
            raise BadRequestData(f"Relationship '{name}' has an invalid objectType")
        expanded = [terms.expand(t) for t in types]
        return expanded if isinstance(member, list) else expanded[0]
    return member

"""The shapes of the OpenAPI document (broker.openapi): request and response bodies, after the schemas of
ETSI's OpenAPI of v1.8.1 (components/schemas), reduced to what this broker reads and answers.

The request bodies are open (additionalProperties): a body that breaks a rule of the specification is the
broker's to refuse, with a ProblemDetails that names the rule, not the document's. The response bodies say
what every answer holds, so that a client (and schemathesis) can check them.
"""

from __future__ import annotations

from typing import Any

__all__ = ["SCHEMAS"]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _array(items: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {"type": "array", "items": items, **more}


_OPEN_OBJECT: dict[str, Any] = {"type": "object", "additionalProperties": True}
_STRING = {"type": "string"}
_DATE_TIME = {"type": "string", "format": "date-time"}

SCHEMAS: dict[str, Any] = {
    "ProblemDetails": {
        "description": "An error (clause 5.5.2, IETF RFC 7807); `type` is one of the error types of clause 5.5.2.",
        "type": "object",
        "required": ["type", "title", "status", "detail"],
        "properties": {
            "type": {"type": "string", "format": "uri"},
            "title": _STRING,
            "status": {"type": "integer", "minimum": 400, "maximum": 599},
            "detail": _STRING,
            "notUpdated": _array(_ref("NotUpdatedDetails")),
        },
    },
    "LdContext": {
        "description": "A JSON-LD @context: a URL, an object, or an array of them (clause 5.2.2).",
        "anyOf": [_STRING, _OPEN_OBJECT, _array({"anyOf": [_STRING, _OPEN_OBJECT]})],
    },
    "Entity": {
        "description": "An entity (clause 5.2.4): `id`, `type` and its attributes, in the representation asked "
                       "for (normalized, concise or simplified; clause 4.5).",
        "type": "object",
        "properties": {
            "id": {"type": "string", "format": "uri"},
            "type": {"anyOf": [_STRING, _array(_STRING)]},
            "scope": {"anyOf": [_STRING, _array(_STRING)]},
            "@context": _ref("LdContext"),
        },
        "additionalProperties": True,
    },
    "EntityFragment": {
        "description": "The attributes of an entity to add or change, and optionally its `type` and `scope` "
                       "(clause 5.4).",
        **_OPEN_OBJECT,
    },
    "EntityList": _array(_ref("Entity")),
    "Attribute": {
        "description": "An attribute: a Property, Relationship, GeoProperty, LanguageProperty, VocabProperty, "
                       "JsonProperty, ListProperty or ListRelationship (clause 5.2.5 to 5.2.39), or its "
                       "concise value.",
        "anyOf": [_OPEN_OBJECT, _array({}), _STRING, {"type": "number"}, {"type": "boolean"}, {"type": "null"}],
    },
    "FeatureCollection": {
        "description": "Entities as GeoJSON (clause 4.5.17).",
        "type": "object",
        "required": ["type", "features"],
        "properties": {
            "type": {"const": "FeatureCollection"},
            "features": _array(_ref("Feature")),
            "@context": _ref("LdContext"),
        },
    },
    "Feature": {
        "description": "An entity as a GeoJSON Feature (clause 4.5.17).",
        "type": "object",
        "required": ["type", "properties"],
        "properties": {
            "id": _STRING,
            "type": {"const": "Feature"},
            "geometry": {"anyOf": [_OPEN_OBJECT, {"type": "null"}]},
            "properties": _OPEN_OBJECT,
            "@context": _ref("LdContext"),
        },
    },
    "EntityIdList": _array(_STRING, minItems=1),
    "BatchEntityError": {
        "type": "object",
        "required": ["entityId", "error"],
        "properties": {"entityId": _STRING, "error": _ref("ProblemDetails")},
    },
    "BatchOperationResult": {
        "description": "The result of a batch operation (clause 5.2.16).",
        "type": "object",
        "required": ["success", "errors"],
        "properties": {"success": _array(_STRING), "errors": _array(_ref("BatchEntityError"))},
    },
    "NotUpdatedDetails": {
        "type": "object",
        "required": ["attributeName", "reason"],
        "properties": {"attributeName": _STRING, "reason": _STRING},
    },
    "UpdateResult": {
        "description": "The attributes updated and those not updated (clause 5.2.18).",
        "type": "object",
        "required": ["updated", "notUpdated"],
        "properties": {"updated": _array(_STRING), "notUpdated": _array(_ref("NotUpdatedDetails"))},
    },
    "Query": {
        "description": "A query (clause 5.2.23): `type` Query, and entities, attrs, q, geoQ, csf, scopeQ, lang...",
        **_OPEN_OBJECT,
    },
    "EntityTypeList": {
        "description": "The entity types (clause 5.2.24).",
        "type": "object",
        "required": ["id", "type", "typeList"],
        "properties": {"id": _STRING, "type": {"const": "EntityTypeList"}, "typeList": _array(_STRING)},
    },
    "EntityType": {
        "description": "An entity type and its attribute names (clause 5.2.25).",
        "type": "object",
        "required": ["id", "type", "typeName", "attributeNames"],
        "properties": {"id": _STRING, "type": {"const": "EntityType"}, "typeName": _STRING,
                       "attributeNames": _array(_STRING)},
    },
    "EntityTypeInfo": {
        "description": "An entity type in detail (clause 5.2.26).",
        "type": "object",
        "required": ["id", "type", "typeName", "entityCount", "attributeDetails"],
        "properties": {"id": _STRING, "type": {"const": "EntityTypeInfo"}, "typeName": _STRING,
                       "entityCount": {"type": "integer", "minimum": 0}, "attributeDetails": _array(_OPEN_OBJECT)},
    },
    "AttributeList": {
        "description": "The attribute names (clause 5.2.27).",
        "type": "object",
        "required": ["id", "type", "attributeList"],
        "properties": {"id": _STRING, "type": {"const": "AttributeList"}, "attributeList": _array(_STRING)},
    },
    "Attribute.Info": {
        "description": "An attribute name and what holds it (clause 5.2.28).",
        "type": "object",
        "required": ["id", "type", "attributeName"],
        "properties": {"id": _STRING, "type": {"const": "Attribute"}, "attributeName": _STRING,
                       "attributeCount": {"type": "integer", "minimum": 0}, "attributeTypes": _array(_STRING),
                       "typeNames": _array(_STRING)},
    },
    "Subscription": {
        "description": "A subscription (clause 5.2.12): its entities, watched attributes, q, geoQ, "
                       "notification parameters and, when retrieved, its status.",
        "type": "object",
        "properties": {"id": _STRING, "type": {"const": "Subscription"}, "notification": _OPEN_OBJECT,
                       "@context": _ref("LdContext")},
        "additionalProperties": True,
    },
    "SubscriptionFragment": {"description": "The members of a subscription to change (clause 5.8.2).",
                             **_OPEN_OBJECT},
    "SubscriptionList": _array(_ref("Subscription")),
    "LdContextDocument": {
        "description": "An @context to host (clause 5.13.2), or a hosted one (clause 5.13.4).",
        "type": "object",
        "required": ["@context"],
        "properties": {"@context": _ref("LdContext")},
    },
    "LdContextMetadata": {
        "description": "What the broker knows of an @context (clause 5.13.3): its URL (null for an inline one), "
                       "local id, kind and when it was created.",
        "type": "object",
        "required": ["URL", "localId", "kind", "createdAt"],
        "properties": {"URL": {"type": ["string", "null"]}, "localId": _STRING,
                       "kind": {"enum": ["Hosted", "Cached", "ImplicitlyCreated"]},
                       "createdAt": _DATE_TIME, "extraInfo": _OPEN_OBJECT},
    },
    "LdContextList": _array({"anyOf": [_STRING, _ref("LdContextMetadata")]}),
}
"""components/schemas of the document."""

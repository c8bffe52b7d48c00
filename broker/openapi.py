"""The OpenAPI 3.1 document of the API this broker implements, served at GET /ngsi-ld/v1/openapi.json.

Its paths and methods are the routes of the API areas, and the URL parameters of each operation are those
that broker.parameters.ALLOWED lets it take, so that the document cannot drift from what is routed. What
each operation reads and answers is told by OPERATIONS below; the shapes are broker.openapi_schemas'. Both
follow ETSI's OpenAPI of v1.8.1, reduced to what this broker does.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from broker import __version__
from broker.http import GEO_JSON, JSON, JSON_LD, MERGE_PATCH
from broker.openapi_schemas import SCHEMAS
from broker.parameters import ALLOWED
from broker.system import SPEC_VERSION

__all__ = ["OPERATIONS", "PARAMETERS", "document", "openapi_route"]

PATH = "/openapi.json"


@dataclass(frozen=True)
class Operation:
    """What an operation reads and answers, beyond its URL parameters (which ALLOWED gives)."""

    summary: str
    clause: str
    """The clause of ETSI GS CIM 009 that defines the operation ("" for none)."""
    ok: dict[int, dict[str, Any]]
    """The success answers: status code -> OpenAPI response object."""
    body: str | None = None
    """The schema of the request body, if the operation reads one."""
    body_types: tuple[str, ...] = (JSON, JSON_LD)
    linked: bool = True
    """Whether the operation takes an @context from a Link header (so may answer 504 LdContextNotAvailable) and
    works in a tenant (NGSILD-Tenant); the @contexts of clause 5.13 are the broker's, in no tenant."""
    errors: tuple[int, ...] = ()
    """Error codes of its own, beyond those every operation may answer."""


_ERRORS = {
    400: "BadRequestData or InvalidRequest: a parameter, header or body breaks a rule of the specification",
    403: "TooManyResults: `limit` is above the broker's largest page",
    404: "ResourceNotFound: no such resource, or no such tenant",
    406: "NotAcceptable: no media type of the Accept header can be answered",
    409: "AlreadyExists",
    411: "LengthRequired: a body needs a Content-Length (no body in the answer, clause 6.3.4)",
    413: "PayloadTooLarge: the body, or a batch, is above the broker's limit",
    415: "UnsupportedMediaType: the Content-Type is not one the operation reads (no body in the answer, "
         "clause 6.3.4)",
    422: "OperationNotSupported",
    503: "The store cannot be reached, or is full or read-only; the request may be retried",
    504: "LdContextNotAvailable: the @context of the request could not be fetched",
}
_NO_BODY_ERRORS = frozenset({411, 415})
_COMMON_ERRORS = (400, 404, 406, 503)
_BODY_ERRORS = (411, 413, 415)


def _header(description: str, schema: dict[str, Any] | None = None, *, required: bool = False) -> dict[str, Any]:
    return {"description": description, "required": required, "schema": schema or {"type": "string"}}


_TENANT_HEADER = _header("The tenant of the request, echoed back (clause 5.5.10)")
_CONTEXT_LINK = _header("The @context of the answer, for application/json (clause 6.3.6); and the links to the "
                        "previous and next pages of a paged answer (clause 5.5.9)")
_LOCATION = _header("The path of the created resource", required=True)
_COUNT = _header("The number of results, with count=true (clause 6.3.13)", {"type": "integer", "minimum": 0})


def _content(schema: str, media_types: Sequence[str]) -> dict[str, Any]:
    return {media_type: {"schema": {"$ref": f"#/components/schemas/{schema}"}} for media_type in media_types}


def _answer(description: str, schema: str | None = None, media_types: Sequence[str] = (JSON, JSON_LD), *,
            headers: dict[str, Any] | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": description,
                              "headers": {"NGSILD-Tenant": _TENANT_HEADER, **(headers or {})}}
    if schema is not None:
        answer["content"] = _content(schema, media_types)
    return answer


def _ngsi(description: str, schema: str, *, geo: str | None = None, paged: bool = False) -> dict[str, Any]:
    """An answer that carries NGSI-LD elements: their @context in a Link header (application/json) or in the
    body (application/ld+json, and application/geo+json if the operation can answer it as `geo`)."""
    headers = {"Link": _CONTEXT_LINK, **({"NGSILD-Results-Count": _COUNT} if paged else {})}
    answer = _answer(description, schema, headers=headers)
    if geo is not None:
        answer["content"].update(_content(geo, (GEO_JSON,)))
    return answer


_NO_CONTENT = {204: _answer("Done")}
_CREATED = {201: _answer("Created", headers={"Location": _LOCATION})}
_BATCH = {204: _answer("Every entity succeeded"),
          207: _answer("Some entities failed", "BatchOperationResult", (JSON,))}
_UPDATE = {204: _answer("Every attribute was updated"),
           207: _answer("Some attributes were not updated", "UpdateResult", (JSON,))}
_ENTITIES = {200: _ngsi("The entities", "EntityList", geo="FeatureCollection", paged=True)}
_QUERY_ERRORS = (403, 422)
"""A limit above the largest page; a parameter the broker does not support yet."""

OPERATIONS: dict[tuple[str, str], Operation] = {
    ("POST", "/entities"): Operation("Create Entity", "5.6.1", _CREATED, "Entity", errors=(409,)),
    ("GET", "/entities"): Operation("Query Entities", "5.7.2", _ENTITIES, errors=_QUERY_ERRORS),
    ("DELETE", "/entities"): Operation("Purge Entities", "5.6.21 (added by V1.9.1)", _BATCH, errors=(422,)),
    ("GET", "/entities/{}"): Operation(
        "Retrieve Entity", "5.7.1", {200: _ngsi("The entity", "Entity", geo="Feature")}, errors=(422,)),
    ("DELETE", "/entities/{}"): Operation("Delete Entity", "5.6.6", _NO_CONTENT),
    ("PATCH", "/entities/{}"): Operation("Merge Entity", "5.6.17", _NO_CONTENT, "EntityFragment",
                                         body_types=(JSON, JSON_LD, MERGE_PATCH)),
    ("PUT", "/entities/{}"): Operation("Replace Entity", "5.6.18", _NO_CONTENT, "EntityFragment"),
    ("POST", "/entities/{}/attrs"): Operation("Append Entity Attributes", "5.6.3", _UPDATE, "EntityFragment"),
    ("PATCH", "/entities/{}/attrs"): Operation("Update Entity Attributes", "5.6.2", _UPDATE, "EntityFragment",
                                               body_types=(JSON, JSON_LD, MERGE_PATCH)),
    ("PATCH", "/entities/{}/attrs/{}"): Operation("Partial Attribute Update", "5.6.4", _NO_CONTENT, "Attribute",
                                                  body_types=(JSON, JSON_LD, MERGE_PATCH)),
    ("PUT", "/entities/{}/attrs/{}"): Operation("Replace Attribute", "5.6.19", _NO_CONTENT, "Attribute"),
    ("DELETE", "/entities/{}/attrs/{}"): Operation("Delete Entity Attribute", "5.6.5", _NO_CONTENT),
    ("POST", "/entityOperations/create"): Operation(
        "Batch Entity Creation", "5.6.7",
        {201: _answer("Every entity was created: their ids", "EntityIdList", (JSON,)),
         207: _BATCH[207]}, "EntityList"),
    ("POST", "/entityOperations/upsert"): Operation(
        "Batch Entity Upsert", "5.6.8",
        {201: _answer("Some entities were created: their ids", "EntityIdList", (JSON,)), **_BATCH}, "EntityList"),
    ("POST", "/entityOperations/update"): Operation("Batch Entity Update", "5.6.9", _BATCH, "EntityList"),
    ("POST", "/entityOperations/merge"): Operation("Batch Entity Merge", "5.6.20", _BATCH, "EntityList"),
    ("POST", "/entityOperations/delete"): Operation("Batch Entity Delete", "5.6.10", _BATCH, "EntityIdList"),
    ("POST", "/entityOperations/query"): Operation("Query Entities (POST)", "5.7.2", _ENTITIES, "Query",
                                                   errors=_QUERY_ERRORS),
    ("GET", "/types"): Operation(
        "Retrieve Available Entity Types", "5.7.5, 5.7.6",
        {200: _ngsi("The entity types (details=true: each in detail)", "EntityTypes")}),
    ("GET", "/types/{}"): Operation(
        "Retrieve Available Entity Type Information", "5.7.7", {200: _ngsi("The entity type", "EntityTypeInfo")}),
    ("GET", "/attributes"): Operation(
        "Retrieve Available Attributes", "5.7.8, 5.7.9",
        {200: _ngsi("The attributes (details=true: each in detail)", "Attributes")}),
    ("GET", "/attributes/{}"): Operation(
        "Retrieve Available Attribute Information", "5.7.10", {200: _ngsi("The attribute", "Attribute.Info")}),
    ("POST", "/subscriptions"): Operation("Create Subscription", "5.8.1", _CREATED, "Subscription",
                                          errors=(409,)),
    ("GET", "/subscriptions"): Operation(
        "Query Subscriptions", "5.8.4", {200: _ngsi("The subscriptions", "SubscriptionList", paged=True)},
        errors=(403,)),
    ("GET", "/subscriptions/{}"): Operation(
        "Retrieve Subscription", "5.8.3", {200: _ngsi("The subscription", "Subscription")}),
    ("PATCH", "/subscriptions/{}"): Operation("Update Subscription", "5.8.2", _NO_CONTENT, "SubscriptionFragment",
                                              body_types=(JSON, JSON_LD, MERGE_PATCH)),
    ("DELETE", "/subscriptions/{}"): Operation("Delete Subscription", "5.8.5", _NO_CONTENT),
    ("POST", "/jsonldContexts"): Operation("Add @context", "5.13.2", _CREATED, "LdContextDocument", linked=False),
    ("GET", "/jsonldContexts"): Operation(
        "List @contexts", "5.13.3",
        {200: _answer("The @contexts: their URLs, or with details=true what the broker knows of each",
                      "LdContextList")}, linked=False),
    ("GET", "/jsonldContexts/{}"): Operation(
        "Serve @context", "5.13.4",
        {200: _answer("The @context, or with details=true what the broker knows of it", "LdContextServed")},
        linked=False, errors=(422,)),
    ("DELETE", "/jsonldContexts/{}"): Operation("Delete and Reload @context", "5.13.5", _NO_CONTENT, linked=False,
                                                errors=(422, 504)),
    ("GET", PATH): Operation("Retrieve OpenAPI Document", "",
                             {200: _answer("The OpenAPI document", "OpenAPI", (JSON,))}, linked=False),
}
"""Each operation the broker routes, by method and path (its path parameters written {})."""

_OPTIONS = ("keyValues", "concise", "normalized", "sysAttrs", "noOverwrite", "replace", "update", "lang")
_CSV = {"style": "form", "explode": False}


def _query(description: str, schema: dict[str, Any] | None = None, **more: Any) -> dict[str, Any]:
    return {"in": "query", "description": description, "schema": schema or {"type": "string"}, **more}


_BOOLEAN = {"type": "boolean"}
_NATURAL = {"type": "integer", "minimum": 0}
_NAMES = {"type": "array", "items": {"type": "string"}}

PARAMETERS: dict[str, dict[str, Any]] = {
    "id": _query("Entity ids (clause 6.3.18)", {"type": "array", "items": {"type": "string", "format": "uri"}},
                 **_CSV),
    "type": _query("A type selection (clause 4.17): types joined by , | ; and parentheses, or *"),
    "idPattern": _query("A regular expression that the entity ids match (clause 4.9)"),
    "q": _query("A query of attribute values (clause 4.9)"),
    "scopeQ": _query("A query of the scopes (clause 4.19)"),
    "csf": _query("A query of context source registrations' properties (clause 4.9)"),
    "georel": _query("A geo-relationship (clause 4.10): near;maxDistance==N, within, contains, intersects..."),
    "geometry": _query("The geometry type of `coordinates` (clause 4.10)",
                       {"enum": ["Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon"]}),
    "coordinates": _query("The coordinates of the geometry, as GeoJSON coordinates (clause 4.10)"),
    "geoproperty": _query("The GeoProperty the geo-query aims at (clause 4.10); location by default"),
    "attrs": _query("Attribute names (clause 4.21)", _NAMES, **_CSV),
    "pick": _query("The entity members to keep (clause 4.21)", _NAMES, **_CSV),
    "omit": _query("The entity members to leave out (clause 4.21)", _NAMES, **_CSV),
    "geometryProperty": _query("The GeoProperty that is the geometry of GeoJSON answers (clause 4.5.16)"),
    "lang": _query("The language(s) of LanguageProperties (clause 4.15)"),
    "datasetId": _query("Dataset ids (clause 4.5.5)", _NAMES, **_CSV),
    "options": _query("Options (clause 6.3.7)", {"type": "array", "items": {"enum": list(_OPTIONS)}}, **_CSV),
    "format": _query("The representation (clause 6.3.7)", {"enum": ["keyValues", "concise", "normalized"]}),
    "join": _query("Linked entities to add (clause 4.5.23)", {"enum": ["flat", "inline", "@none"]}),
    "joinLevel": _query("How deep linked entities are followed (clause 4.5.23)", _NATURAL),
    "containedBy": _query("Entity ids already seen while following links (clause 4.5.23)", _NAMES, **_CSV),
    "entityMap": _query("Whether to build an EntityMap (clause 4.5.25)", _BOOLEAN),
    "limit": _query("The page size (clause 5.5.9)", _NATURAL),
    "offset": _query("The first result of the page (clause 5.5.9)", _NATURAL),
    "count": _query("Whether to answer the number of results in NGSILD-Results-Count (clause 6.3.13)", _BOOLEAN),
    "orderBy": _query("Attribute names to order the results by, each followed by ;asc or ;desc (clause 4.22 of "
                      "v1.9)"),
    "observedAt": _query("The observedAt of the attributes written (clause 6.3.19)", {"type": "string",
                                                                                      "format": "date-time"}),
    "deleteAll": _query("Whether every dataset of the attribute is deleted (clause 6.3.10)", _BOOLEAN),
    "details": _query("Whether each item is answered in detail", _BOOLEAN),
    "kind": _query("The kind of @contexts to list (clause 5.13.3)",
                   {"enum": ["Hosted", "Cached", "ImplicitlyCreated"]}),
    "reload": _query("Whether a Cached @context is fetched again, not deleted (clause 5.13.5)", _BOOLEAN),
    "local": _query("Whether only local entities are answered (clause 6.3.18)", _BOOLEAN),
}
"""Every URL parameter of ALLOWED: how it is written and what it holds."""

_PATH_PARAMETERS = {"entity_id": "entityId", "attr_id": "attrId", "subscription_id": "subscriptionId",
                    "context_id": "contextId", "type": "type"}
_PATH_PARAMETER = re.compile(r"\{([^}:]*)(?::[^}]*)?\}")
_SHAPE = re.compile(r"\{[^}]*\}")


def document(routes: Sequence[BaseRoute]) -> dict[str, Any]:
    """The OpenAPI document of the API routes (those mounted under /ngsi-ld/v1)."""
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        assert isinstance(route, Route) and route.methods
        for method in sorted(route.methods - {"HEAD"}):
            shape = _SHAPE.sub("{}", route.path)
            if (method, shape) not in OPERATIONS:
                continue  # PUT and PATCH /entities: an entity id left empty, refused with 400
            path = _PATH_PARAMETER.sub(lambda match: "{" + _PATH_PARAMETERS[match.group(1)] + "}", route.path)
            paths.setdefault(path, {})[method.lower()] = _operation(method, shape, path)
    return {
        "openapi": "3.1.0",
        "info": {"title": "SCIFI NGSI-LD API", "version": __version__,
                 "description": f"The NGSI-LD API (ETSI GS CIM 009 V{SPEC_VERSION}) as this broker implements it."},
        "servers": [{"url": "/ngsi-ld/v1"}],
        "paths": paths,
        "components": {"schemas": {**SCHEMAS, **_DERIVED_SCHEMAS}},
    }


_DERIVED_SCHEMAS: dict[str, Any] = {
    "EntityTypes": {"anyOf": [{"$ref": "#/components/schemas/EntityTypeList"},
                              {"type": "array", "items": {"$ref": "#/components/schemas/EntityType"}}]},
    "Attributes": {"anyOf": [{"$ref": "#/components/schemas/AttributeList"},
                             {"type": "array", "items": {"$ref": "#/components/schemas/Attribute.Info"}}]},
    "LdContextServed": {"anyOf": [{"$ref": "#/components/schemas/LdContextDocument"},
                                  {"$ref": "#/components/schemas/LdContextMetadata"}]},
    "OpenAPI": {"type": "object", "required": ["openapi", "paths"]},
}


def _operation(method: str, shape: str, path: str) -> dict[str, Any]:
    operation = OPERATIONS[method, shape]
    parameters = [{"name": name, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
                  for name in re.findall(r"\{([^}]*)\}", path)]
    parameters += [{"name": name, **PARAMETERS[name]} for name in sorted(ALLOWED[method, shape])]
    if operation.linked:
        parameters.append({"name": "NGSILD-Tenant", "in": "header", "required": False,
                           "description": "The tenant (clause 5.5.10)",
                           "schema": {"type": "string", "pattern": "^[A-Za-z0-9_.:-]{1,64}$"}})
    if operation.linked:
        parameters.append({"name": "Link", "in": "header", "required": False,
                           "description": "The @context of the request, as a JSON-LD Link header (clause 6.3.5)",
                           "schema": {"type": "string"}})
    codes = {*_COMMON_ERRORS, *operation.errors, *(_BODY_ERRORS if operation.body else ()),
             *((504,) if operation.linked else ())} if shape != PATH else {400}
    responses = {str(status): answer for status, answer in operation.ok.items()}
    for status in sorted(codes):
        responses[str(status)] = _error(status)
    result: dict[str, Any] = {"summary": operation.summary, "operationId": _operation_id(operation.summary),
                              "parameters": parameters, "responses": responses}
    if operation.clause:
        result["description"] = f"ETSI GS CIM 009 V{SPEC_VERSION}, clause {operation.clause}."
    if operation.body is not None:
        result["requestBody"] = {"required": True, "content": _content(operation.body, operation.body_types)}
    return result


def _error(status: int) -> dict[str, Any]:
    if status in _NO_BODY_ERRORS:
        return {"description": _ERRORS[status]}
    return {"description": _ERRORS[status], "content": _content("ProblemDetails", (JSON,))}


def _operation_id(summary: str) -> str:
    """The summary in camel case: "Query Entities (POST)" is queryEntitiesPOST."""
    words: list[str] = re.findall(r"[A-Za-z0-9]+", summary.replace("@", ""))
    return words[0].lower() + "".join(word[0].upper() + word[1:] for word in words[1:])


def openapi_route(routes: Sequence[BaseRoute]) -> Route:
    """GET /openapi.json: the document of `routes` and of itself, built once."""
    body: list[bytes] = []

    async def serve(request: Request) -> Response:
        if not body:
            body.append(orjson.dumps(document([*routes, own])))
        return Response(body[0], media_type=JSON)

    own = Route(PATH, serve, methods=["GET"])
    return own

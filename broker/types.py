"""The available entity types API area: list, details, one type's information (clauses 5.7.5-5.7.7, 6.25, 6.26).

Only the entities in the store count (no Context Source is asked: clause 5.7.11). Names are compacted with
the request's @context; the `id` of an EntityType or EntityTypeInfo is the type's Fully Qualified Name.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from broker.attributes import attribute_object, discovery_request, expanded_name, list_id
from broker.http import ngsi_response, tenant_of
from broker.representation import boolean_param
from broker.store import TypeDetails
from ngsi_ld.context import TermMap
from ngsi_ld.errors import ResourceNotFound

__all__ = ["routes"]


def _entity_type(details: TypeDetails, terms: TermMap) -> dict[str, Any]:
    """An EntityType (clause 5.2.25): the type's FQN, its name, the names of its entities' attributes."""
    names = sorted(terms.compact(attribute) for attribute in details.attributes)
    return {"id": details.type, "type": "EntityType", "typeName": terms.compact(details.type), "attributeNames": names}


def _entity_type_info(details: TypeDetails, terms: TermMap) -> dict[str, Any]:
    """An EntityTypeInfo (clause 5.2.26), whose Attributes have only id, type, attributeName, attributeTypes."""
    attributes = [
        attribute_object(attribute, terms, attributeTypes=list(attribute_types))
        for attribute, attribute_types in details.attributes.items()
    ]
    return {
        "id": details.type, "type": "EntityTypeInfo", "typeName": terms.compact(details.type),
        "entityCount": details.entity_count,
        "attributeDetails": sorted(attributes, key=lambda attribute: attribute["attributeName"]),
    }


async def retrieve_types(request: Request) -> Response:
    """Retrieve Available Entity Types (5.7.5), or their details with details=true (5.7.6)."""
    terms, context, media_type = await discovery_request(request)
    details = boolean_param(request, "details")
    store, tenant = request.app.state.store, tenant_of(request)
    content: Any
    if details:
        found: list[TypeDetails] = await store.type_details(tenant)
        content = sorted((_entity_type(item, terms) for item in found), key=lambda item: item["typeName"])
    else:
        names = sorted(terms.compact(entity_type) for entity_type in await store.entity_types(tenant))
        content = {"id": list_id("EntityTypeList"), "type": "EntityTypeList", "typeList": names}
    return ngsi_response(request, content, media_type=media_type, context=context)


async def retrieve_type(request: Request) -> Response:
    """Retrieve Available Entity Type Information (5.7.7); ResourceNotFound when no entity has the type."""
    terms, context, media_type = await discovery_request(request)
    name = unquote(request.path_params["type"])
    iri = expanded_name(name, terms)
    found = await request.app.state.store.type_details(tenant_of(request), iri)
    if not found:
        raise ResourceNotFound(f"No entity has the type '{name}'" + ("" if iri == name else f" ({iri})"))
    return ngsi_response(request, _entity_type_info(found[0], terms), media_type=media_type, context=context)


routes = [
    Route("/types", retrieve_types, methods=["GET"]),
    Route("/types/{type}", retrieve_type, methods=["GET"]),
]

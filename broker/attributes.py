"""The available attributes API area: list, details, one attribute's information (clauses 5.7.8-5.7.10, 6.27, 6.28).

Only the top-level attributes of the entities in the store count (no Context Source is asked: clause 5.7.11).
Names are compacted with the request's @context; the `id` of an Attribute is the attribute's full URI.
"""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from broker.http import ngsi_response, query_terms, response_media_type, tenant_of
from broker.paths import attribute_name_of
from broker.representation import boolean_param
from broker.store import AttributeDetails
from ngsi_ld.context import TermMap
from ngsi_ld.errors import BadRequestData, ResourceNotFound
from ngsi_ld.values import is_name

__all__ = ["attribute_object", "expanded_name", "list_id", "routes"]


def list_id(kind: str) -> str:
    """A URI, unique within the system, for a list representation (clauses 5.2.24, 5.2.27)."""
    return f"urn:ngsi-ld:{kind}:{uuid4()}"


def expanded_name(name: str, terms: TermMap) -> str:
    """The IRI of a type or attribute named in a path: a short name of the @context or an FQN (6.26.2, 6.28.2)."""
    if not is_name(name):
        raise BadRequestData(f"'{name}' is not a valid entity type or attribute name")
    return terms.expand(name)


def attribute_object(iri: str, terms: TermMap, **members: Any) -> dict[str, Any]:
    """An Attribute (clause 5.2.28) with the given optional members (attributeCount, attributeTypes, typeNames)."""
    return {"id": iri, "type": "Attribute", "attributeName": terms.compact(iri), **members}


async def discovery_request(request: Request) -> tuple[TermMap, str | None, str]:
    """What every discovery request starts with: its term map and @context, the media type to answer
    with, and a checked `local` (the answer always comes from this broker's store)."""
    terms, context = await query_terms(request)
    media_type = response_media_type(request)
    boolean_param(request, "local")
    return terms, context, media_type


def _type_names(details: AttributeDetails, terms: TermMap) -> list[str]:
    return sorted(terms.compact(entity_type) for entity_type in details.entity_types)


async def retrieve_attributes(request: Request) -> Response:
    """Retrieve Available Attributes (5.7.8), or their details with details=true (5.7.9)."""
    terms, context, media_type = await discovery_request(request)
    details = boolean_param(request, "details")
    store, tenant = request.app.state.store, tenant_of(request)
    content: Any
    if details:
        # Clause 5.7.9.4: the elements are restricted to id, type, attributeName and typeNames.
        found: list[AttributeDetails] = await store.attribute_details(tenant)
        content = [attribute_object(item.name, terms, typeNames=_type_names(item, terms)) for item in found]
        content.sort(key=lambda item: item["attributeName"])
    else:
        names = sorted(terms.compact(name) for name in await store.attribute_names(tenant))
        content = {"id": list_id("AttributeList"), "type": "AttributeList", "attributeList": names}
    return ngsi_response(request, content, media_type=media_type, context=context)


async def retrieve_attribute(request: Request) -> Response:
    """Retrieve Available Attribute Information (5.7.10); ResourceNotFound when no entity has the attribute."""
    terms, context, media_type = await discovery_request(request)
    name = attribute_name_of(request)
    iri = expanded_name(name, terms)
    found = await request.app.state.store.attribute_details(tenant_of(request), iri)
    if not found:
        raise ResourceNotFound(f"No entity has an attribute '{name}'" + ("" if iri == name else f" ({iri})"))
    details: AttributeDetails = found[0]
    content = attribute_object(
        iri, terms, attributeCount=details.count, attributeTypes=list(details.attribute_types),
        typeNames=_type_names(details, terms),
    )
    return ngsi_response(request, content, media_type=media_type, context=context)


routes = [
    Route("/attributes", retrieve_attributes, methods=["GET"]),
    Route("/attributes/{attr_id}", retrieve_attribute, methods=["GET"]),
]

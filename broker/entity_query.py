"""Query Entities with a Query object in the body: POST /entityOperations/query (clauses 5.7.2, 6.23)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from broker.entities import answer_query, check_restricted, local_scope, order_of, paging
from broker.http import GEO_JSON, read_payload, response_media_type
from broker.representation import check_attribute_names, render_options
from broker.store import EntityQuery
from ngsi_ld.context import TermMap
from ngsi_ld.entity import check_entity_id
from ngsi_ld.errors import BadRequestData, InvalidRequest
from ngsi_ld.limits import LIMITS, exceeded
from ngsi_ld.linked import Join, checked_join
from ngsi_ld.projection import Projected, check_projection_depth, parse_projection, projected
from ngsi_ld.query import EntitySelector, Selection, parse_q, parse_scope_q
from ngsi_ld.query.geo import GeoQuery, parse_geo_query
from ngsi_ld.query.selection import checked_id_pattern
from ngsi_ld.render import RenderOptions
from ngsi_ld.typeexpr import parse_types
from ngsi_ld.values import is_name

__all__ = ["routes"]

_QUERY_MEMBERS = frozenset({
    "type", "entities", "attrs", "pick", "omit", "q", "geoQ", "scopeQ", "lang", "@context", "csf", "temporalQ",
    "join", "joinLevel", "containedBy", "entityMap",
})


async def query(request: Request) -> Response:
    """Query Entities with a Query object in the body (clause 5.2.23); paging and format in the URL."""
    payload = await read_payload(request, geo=True)
    body = _query_object(payload.body)
    terms = payload.terms
    media_type = response_media_type(request, geo=True)
    options = render_options(request, terms, geojson=media_type == GEO_JSON)
    join = _join(body, request.app.state.settings.max_join_level)
    attrs = _names(body, "attrs")
    check_attribute_names(attrs or (), "'attrs'")
    if attrs is not None:
        options = replace(options, attrs=frozenset(terms.expand(name) for name in attrs))
    if body.get("lang") is not None:
        options = replace(options, lang=_string(body, "lang"))
    options = _projected(body, options, join, terms)
    selectors = tuple(_selector(item, terms) for item in _selector_items(body))
    q = parse_q(_string(body, "q"), terms.expand) if body.get("q") is not None else None
    geo = _geo_query(body.get("geoQ"), terms)
    check_restricted(selectors, options.attrs, q, geo, local_scope(request), terms.expand)
    scope_q = parse_scope_q(_string(body, "scopeQ")) if body.get("scopeQ") is not None else None
    selection = Selection(selectors, tuple(sorted(options.attrs or ())), q, scope_q, geo)
    limit, offset, count = paging(request)
    context = payload.context if isinstance(payload.context, str) else None
    order = order_of(request, terms.expand)
    entity_query = EntityQuery(selection, limit=limit, offset=offset, count=count, order=order)
    return await answer_query(request, entity_query, terms, context, options, media_type, join)


def _query_object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InvalidRequest("The body must be a Query object")
    if body.get("type") != "Query":
        raise BadRequestData("The body must be a Query object, with \"type\": \"Query\"")
    unknown = sorted(set(body) - _QUERY_MEMBERS)
    if unknown:
        raise BadRequestData(f"Unknown member(s) of a Query: {', '.join(unknown)}")
    if body.get("csf") is not None or body.get("temporalQ") is not None:
        raise BadRequestData("'csf' and 'temporalQ' do not apply to a query of entities")
    return body


def _join(body: dict[str, Any], max_level: int) -> Join | None:
    """The linked entity retrieval of a Query (join, joinLevel, containedBy; clause 4.5.23); entityMap is only
    checked, as this broker has no context sources whose EntityMap it could give."""
    if body.get("entityMap") is not None and not isinstance(body["entityMap"], bool):
        raise BadRequestData("'entityMap' must be true or false")
    contained_by = _list(body, "containedBy") if body.get("containedBy") is not None else None
    return checked_join(body.get("join"), body.get("joinLevel"), contained_by, max_level)


def _projected(body: dict[str, Any], options: RenderOptions, join: Join | None, terms: TermMap) -> RenderOptions:
    """The options with the Query's pick or omit (clause 4.21), each item a projection."""
    pick, omit = _projection(body, "pick"), _projection(body, "omit")
    if pick is not None and omit is not None:
        raise BadRequestData("'pick' and 'omit' cannot be used together")
    if pick is None and omit is None:
        return options
    check_projection_depth(pick or omit, join)
    return projected(options, pick, omit, terms.expand)


def _projection(body: dict[str, Any], name: str) -> tuple[Projected, ...] | None:
    if body.get(name) is None:
        return None
    items = _list(body, name)
    if not all(isinstance(item, str) for item in items):
        raise BadRequestData(f"'{name}' must be an array of strings")
    return tuple(member for item in items for member in parse_projection(item, name))


def _selector_items(body: dict[str, Any]) -> list[Any]:
    items = _list(body, "entities")
    if len(items) > LIMITS.selectors:
        raise exceeded(f"'entities' holds {len(items)} entity selectors", "selectors", too_large=True)
    return items


def _selector(item: Any, terms: TermMap) -> EntitySelector:
    if not isinstance(item, dict) or not set(item) <= {"id", "idPattern", "type"}:
        raise BadRequestData("Each item of 'entities' is an object with 'id', 'idPattern' and/or 'type'")
    ids: tuple[str, ...] = ()
    if item.get("id") is not None:
        check_entity_id(item["id"])
        ids = (item["id"],)
    pattern = checked_id_pattern(_optional_string(item, "idPattern"))
    types = parse_types(_string(item, "type"), terms.expand) if item.get("type") is not None else None
    return EntitySelector(ids, pattern, types)


def _geo_query(raw: Any, terms: TermMap) -> GeoQuery | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise BadRequestData("'geoQ' must be an object with geometry, coordinates, georel and geoproperty")
    coordinates = raw.get("coordinates")
    if not isinstance(coordinates, str) and coordinates is not None:
        coordinates = json.dumps(coordinates)
    return parse_geo_query(
        _optional_string(raw, "georel"), _optional_string(raw, "geometry"), coordinates,
        _optional_string(raw, "geoproperty"), terms.expand,
    )


def _list(body: dict[str, Any], name: str) -> list[Any]:
    value = body.get(name)
    if value is None:
        return []
    if not isinstance(value, list) or not value:
        raise BadRequestData(f"'{name}' must be a non-empty array")
    return value


def _names(body: dict[str, Any], name: str) -> list[str] | None:
    if body.get(name) is None:
        return None
    names = _list(body, name)
    if not all(is_name(item) for item in names):
        raise BadRequestData(f"'{name}' must be an array of attribute names")
    return names


def _string(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str):
        raise BadRequestData(f"'{name}' must be a string")
    return value


def _optional_string(body: dict[str, Any], name: str) -> str | None:
    return None if body.get(name) is None else _string(body, name)


routes = [Route("/entityOperations/query", query, methods=["POST"])]

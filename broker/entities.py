"""The entities API area: create, retrieve, query, merge, replace, delete (clauses 5.6, 5.7, 6.4, 6.5)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from broker.batch import BatchResult, batch_response, deletion, record
from broker.http import (
    GEO_JSON,
    empty_response,
    ngsi_response,
    page_links,
    query_terms,
    read_payload,
    response_media_type,
    tenant_of,
)
from broker.linked import linked_entities
from broker.paths import entity_id_of, selected_entity, type_selector_of
from broker.representation import (
    attribute_names,
    boolean_param,
    csv_param,
    join_of,
    render_options,
    representation_format,
)
from broker.store import EntityQuery
from ngsi_ld.attributes import SYSTEM_KEYS
from ngsi_ld.context import TermMap
from ngsi_ld.entity import Entity, check_entity_id, parse_entity, parse_fragment
from ngsi_ld.errors import BadRequestData, InvalidRequest, OperationNotSupported, ResourceNotFound, TooManyResults
from ngsi_ld.linked import Join
from ngsi_ld.query import EntitySelector, Node, Selection, parse_q, parse_scope_q
from ngsi_ld.query.geo import GeoQuery, parse_geo_query
from ngsi_ld.query.order import OrderKey, parse_order_by
from ngsi_ld.query.selection import checked_id_pattern
from ngsi_ld.render import RenderOptions, render_entity, render_feature
from ngsi_ld.simplified import typed_fragment
from ngsi_ld.updates import merge_entity, new_entity, replace_entity
from ngsi_ld.values import DATETIME_RULE, is_datetime, utc_now

__all__ = ["routes"]

_NOT_YET = ("csf",)
_PURGE_PAGE = 500
"""Entities deleted per transaction by a purge."""


async def create_entity(request: Request) -> Response:
    payload = await read_payload(request)
    entity = new_entity(parse_entity(payload.body, payload.terms), utc_now())
    await request.app.state.store.create(tenant_of(request), entity)
    return empty_response(request, 201, {"Location": f"/ngsi-ld/v1/entities/{quote(entity['id'], safe=':')}"})


async def retrieve_entity(request: Request) -> Response:
    entity_id = entity_id_of(request)
    terms, context = await query_terms(request)
    media_type = response_media_type(request, geo=True)
    join = join_of(request)
    options = render_options(request, terms, geojson=media_type == GEO_JSON, join=join)
    types = type_selector_of(request, terms.expand)
    entity = selected_entity(await request.app.state.store.get(tenant_of(request), entity_id), entity_id, types)
    if options.attrs is not None and not options.attrs & entity["attrs"].keys():
        raise ResourceNotFound(f"Entity '{entity_id}' has none of the attributes asked for")
    rendered = await _rendered(request, [entity], terms, options, media_type, join)
    content = _collection(rendered, media_type) if join is not None and join.mode == "flat" else rendered[0]
    return ngsi_response(request, content, media_type=media_type, context=context)


async def query_entities(request: Request) -> Response:
    terms, context = await query_terms(request)
    media_type = response_media_type(request, geo=True)
    join = join_of(request)
    options = render_options(request, terms, geojson=media_type == GEO_JSON, join=join)
    query = _entity_query(request, terms.expand, options.attrs)
    return await answer_query(request, query, terms, context, options, media_type, join)


async def answer_query(
    request: Request, query: EntityQuery, terms: TermMap, context: Any, options: RenderOptions, media_type: str,
    join: Join | None = None,
) -> Response:
    """The entities a query selects, rendered as asked (with their linked entities when joined), with
    NGSILD-Results-Count when counted (the entities selected, not the linked ones) and the links to the pages
    before and after (clause 5.5.9)."""
    store, tenant = request.app.state.store, tenant_of(request)
    # One entity more than the page tells whether a next page exists, without counting every match.
    probe = dataclasses.replace(query, limit=query.limit + 1) if query.limit else query
    result = await store.query(tenant, probe)
    entities = result.entities[:query.limit]
    headers = {} if result.count is None else {"NGSILD-Results-Count": str(result.count)}
    rendered = await _rendered(request, entities, terms, options, media_type, join)
    links = page_links(request, offset=query.offset, limit=query.limit, more=len(result.entities) > query.limit,
                       media_type=media_type)
    return ngsi_response(request, _collection(rendered, media_type), media_type=media_type, context=context,
                         headers=headers, links=links)


async def _rendered(
    request: Request, entities: list[Entity], terms: TermMap, options: RenderOptions, media_type: str,
    join: Join | None,
) -> list[dict[str, Any]]:
    """The entities rendered as asked (GeoJSON features for application/geo+json), with their linked entities
    inline or after them when joined."""
    render = render_feature if media_type == GEO_JSON else render_entity
    if join is None:
        return [render(entity, terms, options) for entity in entities]
    linked = await linked_entities(request.app.state.store, tenant_of(request), entities, options, join)
    return linked.rendered(terms, render)


def _collection(rendered: list[dict[str, Any]], media_type: str) -> object:
    """Entities as an array, or GeoJSON features as a FeatureCollection."""
    return {"type": "FeatureCollection", "features": rendered} if media_type == GEO_JSON else rendered


async def delete_entity(request: Request) -> Response:
    entity_id = entity_id_of(request)
    terms, _ = await query_terms(request)
    types = type_selector_of(request, terms.expand)
    store, tenant = request.app.state.store, tenant_of(request)
    if types is not None:
        selected_entity(await store.get(tenant, entity_id), entity_id, types)
    if not await store.delete(tenant, entity_id):
        raise ResourceNotFound(f"Entity '{entity_id}' does not exist")
    return empty_response(request)


async def purge(request: Request) -> Response:
    """Purge Entities: deletes every entity that the query parameters select, as Query Entities selects
    them (DELETE /entities, clause 5.6.21 of the v1.9 specification). 204, or 207 with a BatchOperationResult."""
    terms, _ = await query_terms(request)
    attrs = frozenset(terms.expand(name) for name in attribute_names(request) or ()) or None
    selection = _entity_query(request, terms.expand, attrs).selection
    store, tenant, result = request.app.state.store, tenant_of(request), BatchResult()
    while True:
        page = await store.query(tenant, EntityQuery(selection, limit=_PURGE_PAGE))
        await record(request, [deletion(entity["id"]) for entity in page.entities], result)
        if len(page.entities) < _PURGE_PAGE:
            return batch_response(request, result)


async def merge(request: Request) -> Response:
    """Merge Entity; the fragment is read against the stored entity, whose attribute types
    simplified values and `lang` text keep (clauses 5.6.17, 6.5.3.4)."""
    entity_id = entity_id_of(request)
    payload = await read_payload(request)
    if not isinstance(payload.body, dict):
        raise InvalidRequest("The payload must be a JSON object")
    simplified = representation_format(request) == "keyValues"
    lang = request.query_params.get("lang") or None
    observed_at = request.query_params.get("observedAt")
    if observed_at is not None and not is_datetime(observed_at):
        raise BadRequestData(f"Parameter 'observedAt' is not a DateTime, {observed_at}: {DATETIME_RULE}")
    types = type_selector_of(request, payload.terms.expand)
    now = utc_now()

    def change(entity: Entity) -> None:
        body = typed_fragment(payload.body, selected_entity(entity, entity_id, types), payload.terms,
                              simplified=simplified, lang=lang)
        fragment = parse_fragment(body, payload.terms, entity_id=entity_id, nulls=True)
        merge_entity(entity, fragment, now, observed_at)

    await request.app.state.store.modify(tenant_of(request), entity_id, change)
    return empty_response(request)


async def replace(request: Request) -> Response:
    entity_id = entity_id_of(request)
    payload = await read_payload(request)
    fragment = parse_fragment(payload.body, payload.terms, entity_id=entity_id)
    types = type_selector_of(request, payload.terms.expand)
    now = utc_now()

    def change(entity: Entity) -> None:
        replace_entity(selected_entity(entity, entity_id, types), fragment, now)

    await request.app.state.store.modify(tenant_of(request), entity_id, change)
    return empty_response(request)


def _entity_query(request: Request, expand: Callable[[str], str], attrs: frozenset[str] | None) -> EntityQuery:
    params = request.query_params
    for name in _NOT_YET:
        if name in params:
            raise OperationNotSupported(f"Parameter '{name}' is not supported by this broker yet")
    ids = csv_param(request, "id") or []
    for entity_id in ids:
        check_entity_id(entity_id)
    pattern = checked_id_pattern(params.get("idPattern"))
    selector = EntitySelector(tuple(ids), pattern, type_selector_of(request, expand))
    q = parse_q(params["q"], expand) if "q" in params else None
    geo = parse_geo_query(params.get("georel"), params.get("geometry"), params.get("coordinates"),
                          params.get("geoproperty"), expand)
    check_restricted((selector,), attrs, q, geo, local_scope(request), expand)
    selection = Selection(
        selectors=(selector,) if selector != EntitySelector() else (), attrs=tuple(sorted(attrs or ())), q=q,
        scope_q=parse_scope_q(params["scopeQ"]) if "scopeQ" in params else None, geo=geo,
    )
    limit, offset, count = paging(request)
    return EntityQuery(selection, limit=limit, offset=offset, count=count, order=order_of(request, expand))


def order_of(request: Request, expand: Callable[[str], str]) -> tuple[OrderKey, ...]:
    """The keys of the orderBy parameter (Entity Ordering, v1.9.1), none when it is absent."""
    raw = request.query_params.get("orderBy")
    return () if raw is None else parse_order_by(raw, expand)


def check_restricted(
    selectors: tuple[EntitySelector, ...], attrs: Iterable[str] | None, q: Node | None, geo: GeoQuery | None,
    local: bool, expand: Callable[[str], str],
) -> None:
    """A query must name a type, attributes, a q or a geo-query, unless it is local (clause 5.7.2.4)."""
    typed = any(selector.types is not None for selector in selectors)
    if not (typed or q or geo or local or names_user_attributes(attrs, expand)):
        raise BadRequestData("A query needs at least one of 'type', 'attrs', 'q', a geo-query, or local=true")


def local_scope(request: Request) -> bool:
    """Whether the query is limited to local scope: local=true, or type=* that implies it (6.3.18)."""
    local = boolean_param(request, "local")
    if request.query_params.get("type") != "*":
        return local
    if request.query_params.get("local") == "false":
        raise BadRequestData("Parameter 'type=*' implies local=true; it cannot go with local=false")
    return True


def names_user_attributes(attrs: Iterable[str] | None, expand: Callable[[str], str]) -> bool:
    """Whether 'attrs' names an attribute other than a system one (createdAt, modifiedAt...)."""
    return bool(attrs and set(attrs) - {expand(name) for name in SYSTEM_KEYS})


def paging(request: Request) -> tuple[int, int, bool]:
    settings = request.app.state.settings
    count = boolean_param(request, "count")
    limit = _natural(request, "limit", settings.page_size)
    offset = _natural(request, "offset", 0)
    if limit > settings.max_page_size:
        raise TooManyResults(f"Parameter 'limit' is {limit}: the limit max_page_size is {settings.max_page_size}")
    if limit == 0 and not count:
        raise BadRequestData("Parameter 'limit' may be 0 only together with count=true")
    return limit, offset, count


_MAX_DIGITS = 15
"""Of a page's limit and offset: a store takes numbers below 2^63, and no tenant holds 10^15 entities."""


def _natural(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()):  # isdigit alone admits '²', which int() refuses
        raise BadRequestData(f"Parameter '{name}' must be a whole number >= 0, got '{raw}'")
    if len(raw) > _MAX_DIGITS:
        raise BadRequestData(f"Parameter '{name}' must be less than 10^{_MAX_DIGITS}, got '{raw}'")
    return int(raw)


async def empty_entity_id(request: Request) -> Response:
    """PUT and PATCH of `/entities/`: an entity's path whose id is empty."""
    raise BadRequestData("The entity id in the path is empty")


routes = [
    Route("/entities", create_entity, methods=["POST"]),
    Route("/entities", query_entities, methods=["GET"]),
    Route("/entities", purge, methods=["DELETE"]),
    Route("/entities", empty_entity_id, methods=["PUT", "PATCH"]),
    Route("/entities/{entity_id:segment}", retrieve_entity, methods=["GET"]),
    Route("/entities/{entity_id:segment}", delete_entity, methods=["DELETE"]),
    Route("/entities/{entity_id:segment}", merge, methods=["PATCH"]),
    Route("/entities/{entity_id:segment}", replace, methods=["PUT"]),
]

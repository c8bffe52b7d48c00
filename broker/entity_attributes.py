"""The attributes API area: append, update, partial update, replace, delete (clauses 5.6.2-5.6.5, 5.6.19)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from broker.http import empty_response, json_response, read_payload, tenant_of, query_terms
from broker.paths import attribute_name_of, entity_id_of
from broker.representation import csv_param
from ngsi_ld.attributes import check_attribute_name, parse_attribute, parse_instance_fragment
from ngsi_ld.entity import parse_fragment
from ngsi_ld.errors import BadRequestData, InvalidRequest
from ngsi_ld.updates import (
    UpdateResult, append_attributes, delete_attribute, replace_attribute, update_attribute_partially,
    update_attributes,
)
from ngsi_ld.values import is_uri, utc_now

__all__ = ["routes"]


async def append(request: Request) -> Response:
    entity_id = entity_id_of(request)
    options = csv_param(request, "options") or []
    if any(option != "noOverwrite" for option in options):
        raise InvalidRequest(f"Unsupported value(s) of 'options' here: {', '.join(options)}")
    payload = await read_payload(request)
    fragment = parse_fragment(payload.body, payload.terms, entity_id=entity_id)
    overwrite = "noOverwrite" not in options
    now = utc_now()
    result = await request.app.state.store.modify(
        tenant_of(request), entity_id, lambda entity: append_attributes(entity, fragment, now, overwrite=overwrite)
    )
    return _update_response(request, result)


async def update(request: Request) -> Response:
    entity_id = entity_id_of(request)
    payload = await read_payload(request)
    fragment = parse_fragment(payload.body, payload.terms, entity_id=entity_id)
    if not fragment.attrs:
        raise BadRequestData("The payload holds no attribute to update")
    now = utc_now()
    result = await request.app.state.store.modify(
        tenant_of(request), entity_id, lambda entity: update_attributes(entity, fragment.attrs, now)
    )
    return _update_response(request, result)


async def update_partially(request: Request) -> Response:
    entity_id, name = entity_id_of(request), attribute_name_of(request)
    check_attribute_name(name)
    payload = await read_payload(request)
    fragment = parse_instance_fragment(name, _without_context(payload.body), payload.terms)
    iri, now = payload.terms.expand(name), utc_now()
    await request.app.state.store.modify(
        tenant_of(request), entity_id, lambda entity: update_attribute_partially(entity, iri, fragment, now)
    )
    return empty_response(request)


async def replace(request: Request) -> Response:
    entity_id, name = entity_id_of(request), attribute_name_of(request)
    check_attribute_name(name)
    payload = await read_payload(request)
    instances = parse_attribute(name, _without_context(payload.body), payload.terms)
    iri, now = payload.terms.expand(name), utc_now()
    await request.app.state.store.modify(
        tenant_of(request), entity_id, lambda entity: replace_attribute(entity, iri, instances, now)  # type: ignore[arg-type]
    )
    return empty_response(request)


async def delete(request: Request) -> Response:
    entity_id, name = entity_id_of(request), attribute_name_of(request)
    terms, _ = await query_terms(request)
    dataset_id = request.query_params.get("datasetId")
    if dataset_id is not None and not is_uri(dataset_id):
        raise BadRequestData(f"Parameter 'datasetId' is not a URI: '{dataset_id}'")
    delete_all = request.query_params.get("deleteAll", "false")
    if delete_all not in ("true", "false"):
        raise BadRequestData(f"Parameter 'deleteAll' must be true or false, got '{delete_all}'")
    iri, now = terms.expand(name), utc_now()
    await request.app.state.store.modify(
        tenant_of(request), entity_id,
        lambda entity: delete_attribute(entity, iri, dataset_id, delete_all == "true", now),
    )
    return empty_response(request)


def _without_context(body: object) -> object:
    if isinstance(body, dict) and "@context" in body:
        return {key: value for key, value in body.items() if key != "@context"}
    return body


def _update_response(request: Request, result: UpdateResult) -> Response:
    if not result.not_updated:
        return empty_response(request)
    content = {
        "updated": result.updated,
        "notUpdated": [{"attributeName": name, "reason": reason} for name, reason in result.not_updated],
    }
    return json_response(content, status=207)


routes = [
    Route("/entities/{entity_id}/attrs", append, methods=["POST"]),
    Route("/entities/{entity_id}/attrs", update, methods=["PATCH"]),
    Route("/entities/{entity_id}/attrs/{attr_id}", update_partially, methods=["PATCH"]),
    Route("/entities/{entity_id}/attrs/{attr_id}", replace, methods=["PUT"]),
    Route("/entities/{entity_id}/attrs/{attr_id}", delete, methods=["DELETE"]),
]

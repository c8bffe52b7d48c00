"""The attributes API area: append, update, partial update, replace, delete (clauses 5.6.2-5.6.5, 5.6.19)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from broker.http import Payload, empty_response, json_response, query_terms, read_payload, tenant_of, with_tenant
from broker.paths import attribute_name_of, entity_id_of, selected_entity, type_selector_of
from broker.representation import csv_param
from ngsi_ld.attributes import DEFAULT_DATASET, check_attribute_name, parse_attribute, parse_instance_fragment
from ngsi_ld.context import TermMap
from ngsi_ld.entity import Entity, parse_fragment
from ngsi_ld.errors import BadRequestData, InvalidRequest
from ngsi_ld.updates import (
    UpdateResult,
    append_attributes,
    delete_attribute,
    delete_scope,
    replace_attribute,
    update_attribute_partially,
    update_attributes,
)
from ngsi_ld.values import is_uri, utc_now

__all__ = ["routes"]

T = TypeVar("T")
SCOPE = "scope"


async def append(request: Request) -> Response:
    entity_id = entity_id_of(request)
    options = csv_param(request, "options") or []
    if any(option != "noOverwrite" for option in options):
        raise InvalidRequest(f"Unsupported value(s) of 'options' here: {', '.join(options)}")
    payload = await read_payload(request)
    fragment = parse_fragment(payload.body, payload.terms, entity_id=entity_id)
    overwrite, now = "noOverwrite" not in options, utc_now()
    result = await _modify(
        request, entity_id, payload.terms, lambda entity: append_attributes(entity, fragment, now, overwrite=overwrite)
    )
    return _update_response(request, result)


async def update(request: Request) -> Response:
    entity_id = entity_id_of(request)
    payload = await read_payload(request)
    fragment = parse_fragment(payload.body, payload.terms, entity_id=entity_id, nulls=True)
    if not (fragment.attrs or fragment.types or fragment.scope is not None):
        raise BadRequestData("The payload holds nothing to update")
    now = utc_now()
    result = await _modify(request, entity_id, payload.terms, lambda entity: update_attributes(entity, fragment, now))
    return _update_response(request, result)


async def update_partially(request: Request) -> Response:
    entity_id, name = entity_id_of(request), _attribute_name(request)
    payload = await read_payload(request)
    fragment = parse_instance_fragment(name, _without_context(payload), payload.terms)
    iri, now = payload.terms.expand(name), utc_now()
    await _modify(
        request, entity_id, payload.terms, lambda entity: update_attribute_partially(entity, iri, fragment, now)
    )
    return empty_response(request)


async def replace(request: Request) -> Response:
    entity_id, name = entity_id_of(request), _attribute_name(request)
    payload = await read_payload(request)
    instances = parse_attribute(name, _without_context(payload), payload.terms)
    iri, now = payload.terms.expand(name), utc_now()
    await _modify(request, entity_id, payload.terms, lambda entity: replace_attribute(entity, iri, instances, now))
    return empty_response(request)


async def delete(request: Request) -> Response:
    entity_id, name = entity_id_of(request), attribute_name_of(request)
    if name != SCOPE:
        check_attribute_name(name)
    terms, _ = await query_terms(request)
    dataset_id = request.query_params.get("datasetId")
    if dataset_id == DEFAULT_DATASET:
        dataset_id = None
    elif dataset_id is not None and not is_uri(dataset_id):
        raise BadRequestData(f"Parameter 'datasetId' is not a URI: '{dataset_id}'")
    delete_all = request.query_params.get("deleteAll", "false")
    if delete_all not in ("true", "false"):
        raise BadRequestData(f"Parameter 'deleteAll' must be true or false, got '{delete_all}'")
    iri, now = terms.expand(name), utc_now()

    def change(entity: Entity) -> None:
        if name == SCOPE:
            delete_scope(entity, now)
        else:
            delete_attribute(entity, iri, dataset_id, delete_all == "true", now)

    await _modify(request, entity_id, terms, change)
    return empty_response(request)


async def _modify(request: Request, entity_id: str, terms: TermMap, change: Callable[[Entity], T]) -> T:
    """Runs `change` on the entity in the store, if the 'type' parameter selects it (ResourceNotFound if not)."""
    types = type_selector_of(request, terms.expand)
    return await request.app.state.store.modify(  # type: ignore[no-any-return]
        tenant_of(request), entity_id, lambda entity: change(selected_entity(entity, entity_id, types))
    )


def _attribute_name(request: Request) -> str:
    """The attribute of the path, for the operations that cannot aim at 'scope' (clause 5.6.4, 5.6.19)."""
    name = attribute_name_of(request)
    check_attribute_name(name)
    return name


def _without_context(payload: Payload) -> object:
    body = payload.body
    if isinstance(body, dict) and "@context" in body:
        return {key: value for key, value in body.items() if key != "@context"}
    return body


def _update_response(request: Request, result: UpdateResult) -> Response:
    """204, or 207 with an UpdateResult whose attribute names are Fully Qualified Names (clause 6.3.6)."""
    if not result.not_updated:
        return empty_response(request)
    content = {
        "updated": result.updated,
        "notUpdated": [{"attributeName": name, "reason": reason} for name, reason in result.not_updated],
    }
    return json_response(content, status=207, headers=with_tenant(request, {}))


routes = [
    Route("/entities/{entity_id:segment}/attrs", append, methods=["POST"]),
    Route("/entities/{entity_id:segment}/attrs", update, methods=["PATCH"]),
    Route("/entities/{entity_id:segment}/attrs/{attr_id:segment}", update_partially, methods=["PATCH"]),
    Route("/entities/{entity_id:segment}/attrs/{attr_id:segment}", replace, methods=["PUT"]),
    Route("/entities/{entity_id:segment}/attrs/{attr_id:segment}", delete, methods=["DELETE"]),
]

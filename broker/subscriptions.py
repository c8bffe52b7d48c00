"""The subscriptions API area: create, query, retrieve, update and delete subscriptions (clauses 5.8, 6.10, 6.11).

A subscription is stored as its author wrote it, with its @context, and answered with the names compacted
by the @context of the request (by its own when the request has none).
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from broker.entities import paging
from broker.http import (
    JSON_LD,
    empty_response,
    json_response,
    link_context,
    ngsi_response,
    page_links,
    read_payload,
    response_media_type,
    tenant_of,
    with_links,
    with_tenant,
)
from broker.notifier import initial_state
from broker.representation import csv_param
from broker.store import StoredSubscription
from ngsi_ld.context import TermMap
from ngsi_ld.errors import BadRequestData, ResourceNotFound
from ngsi_ld.values import is_uri, utc_now
from subscriptions.model import READ_ONLY, epoch_seconds, merged_payload, parse_subscription
from subscriptions.notification import context_url

__all__ = ["routes"]

_TYPE_NAME = re.compile(r"[^(),;|\s]+")
_ENTITY_MEMBERS = ("id", "type", "scope")


async def create_subscription(request: Request) -> Response:
    payload = await read_payload(request)
    if not isinstance(payload.body, dict):
        raise BadRequestData("The body must be a JSON object: a subscription")
    body = {key: value for key, value in payload.body.items() if key != "@context" and key not in READ_ONLY}
    body.setdefault("id", f"urn:ngsi-ld:Subscription:{uuid.uuid4()}")
    _check(body, payload.terms, payload.context)
    now = utc_now()
    subscription_id = body.pop("id")
    stored = StoredSubscription(subscription_id, body, payload.context, now, now, initial_state())
    await request.app.state.store.create_subscription(tenant_of(request), stored)
    location = f"/ngsi-ld/v1/subscriptions/{quote(subscription_id, safe=':')}"
    return empty_response(request, 201, {"Location": location})


async def query_subscriptions(request: Request) -> Response:
    limit, offset, count = paging(request)
    sys_attrs = _sys_attrs(request)
    records, total = await request.app.state.store.subscriptions(tenant_of(request), limit, offset)
    if limit == 0:
        records = []
    target, context = await _answer_terms(request)
    rendered = [await _rendered(request, record, target, sys_attrs) for record in records]
    headers = {"NGSILD-Results-Count": str(total)} if count else {}
    links = page_links(request, offset=offset, limit=limit, more=offset + limit < total,
                       media_type=response_media_type(request))
    return with_links(_answer(request, rendered, context, headers), links)


async def retrieve_subscription(request: Request) -> Response:
    record = await _stored(request)
    target, context = await _answer_terms(request)
    content = await _rendered(request, record, target, _sys_attrs(request))
    return _answer(request, content, context or context_url(record.context))


async def update_subscription(request: Request) -> Response:
    record = await _stored(request)
    payload = await read_payload(request)
    context = payload.context if payload.context is not None else record.context
    terms = payload.terms if payload.context is not None else await request.app.state.contexts.term_map(context)
    merged = merged_payload({**record.payload, "id": record.id}, payload.body)
    _check(merged, terms, context)
    merged.pop("id")

    def change(current: StoredSubscription) -> StoredSubscription:
        return replace(current, payload=merged, context=context, modified_at=utc_now())

    await request.app.state.store.modify_subscription(tenant_of(request), record.id, change)
    return empty_response(request)


async def delete_subscription(request: Request) -> Response:
    subscription_id = _subscription_id(request)
    if not await request.app.state.store.delete_subscription(tenant_of(request), subscription_id):
        raise ResourceNotFound(f"Subscription '{subscription_id}' does not exist")
    return empty_response(request)


def _answer(request: Request, content: Any, context: str | None, headers: dict[str, str] | None = None) -> Response:
    """With application/ld+json, each subscription carries its @context already (see _rendered)."""
    media_type = response_media_type(request)
    if media_type == JSON_LD:
        return json_response(content, media_type=JSON_LD, headers=with_tenant(request, headers or {}))
    return ngsi_response(request, content, media_type=media_type, context=context, headers=headers)


def _check(payload: dict[str, Any], terms: TermMap, context: Any) -> None:
    subscription = parse_subscription(payload, terms, context)
    if subscription.expired(time.time()):
        raise BadRequestData(f"'expiresAt' is in the past: {payload['expiresAt']}")


def _subscription_id(request: Request) -> str:
    subscription_id: str = request.path_params["subscription_id"]
    if not is_uri(subscription_id):
        raise BadRequestData(f"Subscription id must be a URI, got '{subscription_id}'")
    return subscription_id


async def _stored(request: Request) -> StoredSubscription:
    subscription_id = _subscription_id(request)
    record = await request.app.state.store.subscription(tenant_of(request), subscription_id)
    if record is None:
        raise ResourceNotFound(f"Subscription '{subscription_id}' does not exist")
    return record  # type: ignore[no-any-return]


def _sys_attrs(request: Request) -> bool:
    return "sysAttrs" in (csv_param(request, "options") or ())


async def _answer_terms(request: Request) -> tuple[TermMap | None, str | None]:
    """The term map that names are compacted with: the request's @context (None: the subscription's own)."""
    link = link_context(request)
    if link is None:
        return None, None
    return await request.app.state.contexts.term_map(link), link


async def _rendered(
    request: Request, record: StoredSubscription, target: TermMap | None, sys_attrs: bool
) -> dict[str, Any]:
    payload = record.payload
    if target is not None:
        source = await request.app.state.contexts.term_map(record.context)
        payload = _recompacted(payload, lambda name: target.compact(source.expand(name)))
    notification = {**payload["notification"], **{key: value for key, value in record.state.items() if value}}
    out = {"id": record.id, "type": "Subscription", **payload, "notification": notification,
           "isActive": payload.get("isActive", True), "status": _status(payload)}
    if sys_attrs:
        out.update(createdAt=record.created_at, modifiedAt=record.modified_at)
    if response_media_type(request) == JSON_LD:
        out["@context"] = record.context if target is None else link_context(request)
    return out


def _status(payload: dict[str, Any]) -> str:
    expires_at = payload.get("expiresAt")
    if expires_at is not None and epoch_seconds(expires_at) <= time.time():
        return "expired"
    return "paused" if payload.get("isActive") is False else "active"


def _recompacted(payload: dict[str, Any], rename: Callable[[str], str]) -> dict[str, Any]:
    """The payload with its attribute and type names taken to another @context."""
    out = dict(payload)
    if "entities" in out:
        out["entities"] = [
            {**selector, "type": _TYPE_NAME.sub(lambda m: rename(m.group()), selector["type"])}
            for selector in out["entities"]
        ]
    if "watchedAttributes" in out:
        out["watchedAttributes"] = [rename(name) for name in out["watchedAttributes"]]
    if "geoQ" in out and "geoproperty" in out["geoQ"]:
        out["geoQ"] = {**out["geoQ"], "geoproperty": rename(out["geoQ"]["geoproperty"])}
    notification = dict(out["notification"])
    for member in ("attributes", "pick", "omit"):
        if member in notification:
            notification[member] = [name if name in _ENTITY_MEMBERS else rename(name) for name in notification[member]]
    out["notification"] = notification
    return out


routes = [
    Route("/subscriptions", create_subscription, methods=["POST"]),
    Route("/subscriptions", query_subscriptions, methods=["GET"]),
    Route("/subscriptions/{subscription_id}", retrieve_subscription, methods=["GET"]),
    Route("/subscriptions/{subscription_id}", update_subscription, methods=["PATCH"]),
    Route("/subscriptions/{subscription_id}", delete_subscription, methods=["DELETE"]),
]

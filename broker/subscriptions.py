"""The subscriptions API area: create, query, retrieve, update and delete subscriptions (clauses 5.8, 6.10, 6.11).

A subscription is stored as its author wrote it, with its @context, and answered with the names compacted
by the @context of the request (the core @context when the request has none, clause 5.5.7).
"""

from __future__ import annotations

import logging
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

from broker.context_store import implicit_id, is_inline, local_id_of_url
from broker.entities import paging
from broker.http import (
    JSON_LD,
    empty_response,
    json_response,
    ngsi_response,
    page_links,
    query_terms,
    read_payload,
    response_media_type,
    tenant_of,
    with_links,
    with_tenant,
)
from broker.jsonld_contexts import stored_context_url
from broker.notifier import initial_state
from broker.representation import csv_param
from broker.store import StoredSubscription
from ngsi_ld.context import CORE_CONTEXT_URL, TermMap
from ngsi_ld.errors import BadRequestData, InvalidRequest, NgsiLdError, ResourceNotFound
from ngsi_ld.query import parse_q
from ngsi_ld.query.q import decoded_q, renamed_q
from ngsi_ld.values import is_uri, utc_now
from subscriptions.model import NOTIFICATION_STATUS, READ_ONLY, epoch_seconds, merged_payload, parse_subscription
from subscriptions.outbound import OutboundRefused

__all__ = ["routes"]

log = logging.getLogger("scifi.subscriptions")

_TYPE_NAME = re.compile(r"[^(),;|\s]+")
_ENTITY_MEMBERS = ("id", "type", "scope")


async def create_subscription(request: Request) -> Response:
    payload = await read_payload(request)
    if not isinstance(payload.body, dict):
        raise InvalidRequest("The body must be a JSON object: a subscription")
    body = {key: value for key, value in payload.body.items() if key != "@context" and key not in READ_ONLY}
    body.setdefault("id", f"urn:ngsi-ld:Subscription:{uuid.uuid4()}")
    if "jsonldContext" not in body:
        _refer_to_implicit(request, body, payload.context)
    _decode_q(body)
    _check(request, body, payload.terms, payload.context)
    await _check_endpoint(request, body)
    now = utc_now()
    subscription_id = body.pop("id")
    stored = StoredSubscription(subscription_id, body, payload.context, now, now, initial_state())
    most = request.app.state.settings.max_subscriptions
    await request.app.state.store.create_subscription(tenant_of(request), stored, most)
    location = f"/ngsi-ld/v1/subscriptions/{quote(subscription_id, safe=':')}"
    return empty_response(request, 201, {"Location": location})


async def query_subscriptions(request: Request) -> Response:
    limit, offset, count = paging(request)
    sys_attrs = _sys_attrs(request)
    records, total = await request.app.state.store.subscriptions(tenant_of(request), limit, offset)
    if limit == 0:
        records = []
    target, context = await query_terms(request)
    rendered = [await _rendered(request, record, target, context, sys_attrs) for record in records]
    headers = {"NGSILD-Results-Count": str(total)} if count else {}
    links = page_links(request, offset=offset, limit=limit, more=offset + limit < total,
                       media_type=response_media_type(request))
    return with_links(_answer(request, rendered, context, headers), links)


async def retrieve_subscription(request: Request) -> Response:
    response_media_type(request)
    target, context = await query_terms(request)
    record = await _stored(request)
    content = await _rendered(request, record, target, context, _sys_attrs(request))
    return _answer(request, content, context)


async def update_subscription(request: Request) -> Response:
    payload = await read_payload(request)
    if not isinstance(payload.body, dict):
        raise InvalidRequest("The body must be a JSON object: a fragment of a subscription")
    record = await _stored(request)
    context = payload.context if payload.context is not None else record.context
    terms = payload.terms if payload.context is not None else await request.app.state.contexts.term_map(context)
    fragment = payload.body
    _decode_q(fragment)
    await _check_endpoint(request, fragment)
    rebased = await _rebase(request, record, terms, fragment) if context != record.context else None

    def change(current: StoredSubscription) -> StoredSubscription:
        stored = rebased(current.payload) if rebased is not None else current.payload
        merged = merged_payload({**stored, "id": current.id}, fragment)
        if payload.context is not None and "jsonldContext" not in fragment:
            _refer_to_implicit(request, merged, payload.context, current.context)
        _check(request, merged, terms, context, expiry="expiresAt" in fragment)
        merged.pop("id")
        return replace(current, payload=merged, context=context, modified_at=utc_now())

    await request.app.state.store.modify_subscription(tenant_of(request), record.id, change)
    return empty_response(request)


async def _rebase(request: Request, record: StoredSubscription, terms: TermMap, fragment: Any) -> Callable[
        [dict[str, Any]], dict[str, Any]]:
    """An update with another @context: the members it leaves keep their meaning, written with its @context."""
    source = await request.app.state.contexts.term_map(record.context)

    def rebased(payload: dict[str, Any]) -> dict[str, Any]:
        out = _recompacted(payload, source.expand, terms.compact)
        if isinstance(payload.get("q"), str) and not (isinstance(fragment, dict) and "q" in fragment):
            _check_same_q(out["q"], terms, payload["q"], source)
        return out

    return rebased


def _check_same_q(q: str, terms: TermMap, original: str, source: TermMap) -> None:
    """A q written for another @context must mean the same there: a name that only a URL gives cannot be
    told from a path in q (its dots)."""
    try:
        same = parse_q(q, terms.expand) == parse_q(original, source.expand)
    except NgsiLdError:
        same = False
    if not same:
        raise BadRequestData(f"The q of the subscription ({original}) cannot be written with the @context of "
                             "this request; give 'q' again with it")


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


def _check(request: Request, payload: dict[str, Any], terms: TermMap, context: Any, *, expiry: bool = True) -> None:
    """Checks a whole subscription; `expiry`: whether its expiresAt must be in the future (an update that does
    not set expiresAt may change an expired subscription, clause 5.8.2)."""
    subscription = parse_subscription(payload, terms, context)
    if expiry and subscription.expired(time.time()):
        raise BadRequestData(f"'expiresAt' is in the past: {payload['expiresAt']}")
    max_join_level = request.app.state.settings.max_join_level
    if subscription.join is not None and subscription.join.level > max_join_level:
        raise BadRequestData(f"'joinLevel' may be at most {max_join_level} on this broker, "
                             f"got {subscription.join.level}")


async def _check_endpoint(request: Request, payload: dict[str, Any]) -> None:
    """BadRequestData when the notification endpoint that the payload gives (if any) may not be called: its
    scheme, its host, or an address its host resolves to now (see subscriptions/outbound.py)."""
    notification = payload.get("notification")
    endpoint = notification.get("endpoint") if isinstance(notification, dict) else None
    uri = endpoint.get("uri") if isinstance(endpoint, dict) else None
    if not isinstance(uri, str):
        return
    try:
        await request.app.state.outbound.check(uri)
    except OutboundRefused as refusal:
        raise BadRequestData(f"'notification.endpoint.uri' {uri} may not be used: {refusal}") from refusal


def _refer_to_implicit(request: Request, payload: dict[str, Any], context: Any, earlier: Any = None) -> None:
    """Points `jsonldContext` at the implicit @context of a `context` that is not one URL (clause 5.13), so that
    notifications can name it in their Link header; a jsonldContext of the author's stays, but one that pointed
    at the implicit @context of the `earlier` context follows the new one."""
    current = payload.get("jsonldContext")
    if current is not None and (earlier is None or local_id_of_url(current) != implicit_id(earlier)):
        return
    if is_inline(context):
        payload["jsonldContext"] = stored_context_url(request, implicit_id(context))
    else:
        payload.pop("jsonldContext", None)


def _decode_q(body: dict[str, Any]) -> None:
    """Stores a percent-encoded q decoded (see decoded_q), as it is applied."""
    if isinstance(body.get("q"), str):
        body["q"] = decoded_q(body["q"])


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


async def _rendered(
    request: Request, record: StoredSubscription, target: TermMap, context: str | None, sys_attrs: bool
) -> dict[str, Any]:
    """The subscription with its names compacted by the request's @context (the core one when the request has
    none, clause 5.5.7), whatever @context it was written with."""
    payload = await _compacted(request, record, target)
    written = {key: value for key, value in payload["notification"].items() if key not in NOTIFICATION_STATUS}
    notification = {**written, **{key: value for key, value in record.state.items() if value}}
    out = {"id": record.id, "type": "Subscription", **payload, "notification": notification,
           "isActive": payload.get("isActive", True), "status": _status(payload)}
    if sys_attrs:
        out.update(createdAt=record.created_at, modifiedAt=record.modified_at)
    if response_media_type(request) == JSON_LD:
        out["@context"] = context or CORE_CONTEXT_URL
    return out


async def _compacted(request: Request, record: StoredSubscription, target: TermMap) -> dict[str, Any]:
    try:
        source = await request.app.state.contexts.term_map(record.context)
    except NgsiLdError as error:  # its remote @context is gone: its names as its author wrote them
        log.warning("subscription context unavailable id=%s error=%r", record.id, error)
        return record.payload
    return _recompacted(record.payload, source.expand, target.compact)


def _status(payload: dict[str, Any]) -> str:
    expires_at = payload.get("expiresAt")
    if expires_at is not None and epoch_seconds(expires_at) <= time.time():
        return "expired"
    return "paused" if payload.get("isActive") is False else "active"


def _recompacted(payload: dict[str, Any], expand: Callable[[str], str], compact: Callable[[str], str]) -> dict[
        str, Any]:
    """The payload with its type and attribute names (in q too) taken from one @context to another."""
    def rename(name: str) -> str:
        return compact(expand(name))

    out = dict(payload)
    if "entities" in out:
        out["entities"] = [
            {**selector, "type": _TYPE_NAME.sub(lambda m: rename(m.group()), selector["type"])}
            for selector in out["entities"]
        ]
    if "watchedAttributes" in out:
        out["watchedAttributes"] = [rename(name) for name in out["watchedAttributes"]]
    if isinstance(out.get("q"), str):
        out["q"] = _renamed_q(out["q"], expand, compact)
    if "geoQ" in out and "geoproperty" in out["geoQ"]:
        out["geoQ"] = {**out["geoQ"], "geoproperty": rename(out["geoQ"]["geoproperty"])}
    notification = dict(out["notification"])
    for member in ("attributes", "pick", "omit"):
        if member in notification:
            notification[member] = [name if name in _ENTITY_MEMBERS else rename(name) for name in notification[member]]
    out["notification"] = notification
    return out


def _renamed_q(text: str, expand: Callable[[str], str], compact: Callable[[str], str]) -> str:
    try:
        return renamed_q(text, expand, compact)
    except NgsiLdError:  # stored before a stricter q grammar: shown as written rather than not at all
        return text


routes = [
    Route("/subscriptions", create_subscription, methods=["POST"]),
    Route("/subscriptions", query_subscriptions, methods=["GET"]),
    Route("/subscriptions/{subscription_id}", retrieve_subscription, methods=["GET"]),
    Route("/subscriptions/{subscription_id}", update_subscription, methods=["PATCH"]),
    Route("/subscriptions/{subscription_id}", delete_subscription, methods=["DELETE"]),
]

"""The @context management API area (clause 5.13, binding 6.26-6.27): add, list, serve, delete and reload @contexts.

Three kinds, all kept with the store (broker/context_store.py): Hosted (added by a client), ImplicitlyCreated
(made from a payload's @context that is not one URL) and Cached (remote documents the resolver fetched,
broker/contexts.py; the built-in core context counts as one). The @contexts are the broker's, not a tenant's:
a URL names one document for everybody.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from broker.context_store import CACHED, CONTEXTS_PATH, KINDS, StoredContext, cached_id, local_id_of_url
from broker.http import empty_response, json_response, read_document, response_media_type, with_tenant
from broker.representation import boolean_param
from ngsi_ld.context import CORE_CONTEXT_URL, builtin_document, context_urls
from ngsi_ld.errors import BadRequestData, OperationNotSupported, ResourceNotFound
from ngsi_ld.values import is_uri

__all__ = ["routes", "stored_context_url"]

_CORE_ID = cached_id(CORE_CONTEXT_URL)


@dataclass(frozen=True, slots=True)
class Entry:
    """A stored @context as clause 5.13.3 lists it; `context` is None for a Cached one (not served)."""

    url: str
    local_id: str
    kind: str
    created_at: str
    context: Any = None
    built_in: bool = False

    def details(self) -> dict[str, Any]:
        details: dict[str, Any] = {"URL": self.url, "localId": self.local_id, "kind": self.kind,
                                   "createdAt": self.created_at}
        if self.built_in:
            details["extraInfo"] = {"builtIn": True}
        return details


async def add_context(request: Request) -> Response:
    context = _checked_context(await read_document(request))
    await request.app.state.contexts.term_map(context)  # a @context that JSON-LD processing refuses is refused here
    stored = await request.app.state.context_store.add(context)
    return empty_response(request, 201, {"Location": CONTEXTS_PATH + stored.local_id})


async def list_contexts(request: Request) -> Response:
    details = boolean_param(request, "details")
    kind = request.query_params.get("kind")
    if kind is not None and kind not in KINDS:
        raise BadRequestData(f"Parameter 'kind' must be one of {', '.join(KINDS)}, got '{kind}'")
    entries = [entry for entry in await _all(request) if kind is None or entry.kind == kind]
    content = [entry.details() if details else entry.url for entry in entries]
    return _answer(request, content)


async def serve_context(request: Request) -> Response:
    details = boolean_param(request, "details")
    entry = await _entry(request)
    if details:
        return _answer(request, entry.details())
    if entry.kind == CACHED:
        raise OperationNotSupported(f"The @context '{entry.url}' is Cached: fetch it from its URL (clause 5.13.4)")
    return _answer(request, {"@context": entry.context})


async def delete_context(request: Request) -> Response:
    reload = boolean_param(request, "reload")
    entry = await _entry(request, for_reload=reload)
    if entry.built_in:
        raise BadRequestData("The core @context is built into the broker: it cannot be deleted or reloaded")
    if reload:
        if entry.kind != CACHED:
            raise BadRequestData(f"Only Cached @contexts can be reloaded; '{entry.local_id}' is {entry.kind}")
        await request.app.state.contexts.reload(_cached(entry))
    elif entry.kind == CACHED:
        await request.app.state.contexts.forget(_cached(entry))
    else:
        await _refuse_if_used(request, entry)
        if not await request.app.state.context_store.delete(entry.local_id):
            raise ResourceNotFound(f"@context '{entry.local_id}' does not exist")
    return empty_response(request)


def _checked_context(body: Any) -> Any:
    """The @context of an Add @context body: a JSON object with only an @context member, a URL, an object or
    an array of them (clause 5.2.3)."""
    if not isinstance(body, dict) or "@context" not in body:
        raise BadRequestData("The body must be a JSON object with an '@context' member: a JSON-LD @context document")
    others = sorted(set(body) - {"@context"})
    if others:
        raise BadRequestData(f"A @context document holds only '@context'; found also: {', '.join(others)}")
    context = body["@context"]
    entries = context if isinstance(context, list) else [context]
    if not entries or not all(isinstance(entry, dict) or is_uri(entry) for entry in entries):
        raise BadRequestData("'@context' must be a URL, an object, or a non-empty array of URLs and objects")
    return context


async def _all(request: Request) -> list[Entry]:
    """The core @context, then the Cached ones, then the others, each oldest first."""
    kept = [_entry_of(request, stored) for stored in await request.app.state.context_store.all()]
    return [_core_entry(request), *(entry for entry in kept if entry.kind == CACHED),
            *(entry for entry in kept if entry.kind != CACHED)]


async def _entry(request: Request, *, for_reload: bool = False) -> Entry:
    """The @context the path names: by local id, or by URL (the original one of a Cached @context, or ours)."""
    context_id = unquote(request.path_params["context_id"])
    if context_id in (CORE_CONTEXT_URL, _CORE_ID):
        return _core_entry(request)
    local_id = local_id_of_url(context_id) or (cached_id(context_id) if is_uri(context_id) else context_id)
    stored = await request.app.state.context_store.get(local_id)
    if stored is not None:
        return _entry_of(request, stored)
    if for_reload and not is_uri(context_id):
        raise BadRequestData(f"'{context_id}' names no @context: reload takes the URL or local id of a Cached one")
    raise ResourceNotFound(f"@context '{context_id}' does not exist")


def _entry_of(request: Request, stored: StoredContext) -> Entry:
    if stored.kind == CACHED:
        assert stored.url is not None
        return Entry(stored.url, stored.local_id, CACHED, stored.created_at)
    context = None if stored.document is None else stored.document["@context"]
    return Entry(stored_context_url(request, stored.local_id), stored.local_id, stored.kind, stored.created_at,
                 context)


def _cached(entry: Entry) -> StoredContext:
    return StoredContext(entry.local_id, CACHED, entry.created_at, entry.url)


def _core_entry(request: Request) -> Entry:
    return Entry(CORE_CONTEXT_URL, _CORE_ID, CACHED, request.app.state.started_at,
                 builtin_document(CORE_CONTEXT_URL), built_in=True)


async def _refuse_if_used(request: Request, entry: Entry) -> None:
    """A Hosted or implicit @context that a subscription names (its @context or jsonldContext) stays: its
    notifications point at it, and the subscription needs it to be read again (clause 5.13.5)."""
    store = request.app.state.store
    for tenant in await store.tenants():
        subscriptions, _ = await store.subscriptions(tenant)
        for subscription in subscriptions:
            named = [*context_urls(subscription.context), subscription.payload.get("jsonldContext") or ""]
            if any(local_id_of_url(url) == entry.local_id for url in named):
                raise OperationNotSupported(
                    f"The {entry.kind} @context '{entry.local_id}' is in use by subscription '{subscription.id}'"
                    + (f" of tenant '{tenant}'" if tenant else "") + "; delete or change the subscription first"
                )


def _answer(request: Request, content: Any) -> Response:
    """@contexts and their details are plain JSON: no Link header (clause 6.3.6 concerns NGSI-LD elements)."""
    return json_response(content, media_type=response_media_type(request), headers=with_tenant(request, {}))


def stored_context_url(request: Request, local_id: str) -> str:
    """The URL of a Hosted or implicit @context, as the client of `request` reaches the broker."""
    return f"{request.url.scheme}://{request.url.netloc}{CONTEXTS_PATH}{local_id}"


routes = [
    Route("/jsonldContexts", add_context, methods=["POST"]),
    Route("/jsonldContexts", list_contexts, methods=["GET"]),
    Route("/jsonldContexts/{context_id}", serve_context, methods=["GET"]),
    Route("/jsonldContexts/{context_id}", delete_context, methods=["DELETE"]),
]

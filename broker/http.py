"""What every API area needs from a request: tenant, payload, @context, content negotiation, responses."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import orjson
from starlette.requests import Request
from starlette.responses import Response

from broker.context_store import is_inline
from broker.store import DEFAULT_TENANT
from ngsi_ld.context import CONTEXT_REL, CORE_CONTEXT_URL, TermMap, context_link
from ngsi_ld.errors import (
    BadRequestData,
    InvalidRequest,
    LengthRequired,
    NgsiLdError,
    NotAcceptable,
    PayloadTooLarge,
    UnsupportedMediaType,
    json_kind,
)

__all__ = [
    "GEO_JSON",
    "JSON",
    "JSON_LD",
    "MERGE_PATCH",
    "Payload",
    "empty_response",
    "json_response",
    "link_context",
    "ngsi_response",
    "page_links",
    "read_batch",
    "read_document",
    "read_ids",
    "read_payload",
    "response_media_type",
    "tenant_of",
    "with_links",
    "with_tenant",
]

JSON = "application/json"
JSON_LD = "application/ld+json"
GEO_JSON = "application/geo+json"
MERGE_PATCH = "application/merge-patch+json"
TENANT_HEADER = "NGSILD-Tenant"
_LINK = re.compile(r'\s*<([^>]*)>\s*((?:;\s*[^;,]+)*)')
_TENANT = re.compile(r"[A-Za-z0-9_\-.:]{1,64}")
_PAGING_PARAMS = frozenset({"limit", "offset"})
_URI_CHARS = "!#$&'()*+,/:;=?@[]~%"
"""What a query string keeps as it is in a link; anything else (<, >, quotes, spaces, |...) is percent-encoded."""


@dataclass(frozen=True, slots=True)
class Payload:
    """A request body with the term map of its @context."""

    body: Any
    terms: TermMap
    context: Any


def tenant_of(request: Request) -> str:
    tenant = request.headers.get(TENANT_HEADER)
    if tenant is None:
        return DEFAULT_TENANT
    if not _TENANT.fullmatch(tenant):
        raise BadRequestData(f"Tenant '{tenant}' is not a valid name (letters, digits, '_-.:', at most 64)")
    return tenant


def link_context(request: Request) -> str | None:
    """The @context URL of the request's JSON-LD Link header, if any (clause 6.3.5)."""
    header = request.headers.get("link")
    if not header:
        return None
    if _LINK.sub("", header).replace(",", "").strip():
        raise BadRequestData(f'The Link header is malformed: each link is <URL> followed by its parameters, as in '
                             f'<https://example.org/context.jsonld>; rel="{CONTEXT_REL}"; type="application/ld+json"')
    urls = []
    for match in _LINK.finditer(header):
        params = match.group(2).replace(" ", "")
        if f'rel="{CONTEXT_REL}"' in params or f"rel={CONTEXT_REL}" in params:
            urls.append(match.group(1))
    if len(urls) > 1:
        raise BadRequestData("A request may carry only one JSON-LD context Link header")
    if urls and not urls[0]:
        raise BadRequestData("The JSON-LD context Link header has no URL")
    return urls[0] if urls else None


async def read_payload(
    request: Request, *, media_types: tuple[str, ...] | None = None, geo: bool = False
) -> Payload:
    """Reads the JSON body and its @context, applying the rules of clauses 6.3.4 and 6.3.5.

    The media types default to application/json and application/ld+json, and, for PATCH, the
    application/merge-patch+json that clause 6.3.4 makes equivalent to application/json. `geo` tells
    that the operation answers GeoJSON when asked (a query); the others refuse it.
    """
    media_types = media_types or ((JSON, JSON_LD, MERGE_PATCH) if request.method == "PATCH" else (JSON, JSON_LD))
    media_type, body, link = await _read_body(request, media_types, geo=geo)
    context = _context_of(body, media_type, link)
    terms = await request.app.state.contexts.term_map(context)
    await _keep_inline(request, context)
    return Payload(body, terms, context)


async def read_document(request: Request) -> Any:
    """The JSON body of a request whose body is a document of its own (an @context to host, clause 5.13.2):
    the media type and size rules of clause 6.3.4 apply, and the body's @context is left to the caller."""
    _, body, _ = await _read_body(request, (JSON, JSON_LD))
    return body


async def read_batch(request: Request) -> list[tuple[dict[str, Any], Payload | NgsiLdError]]:
    """Reads a body that is an array of entities (batch operations, clause 6.3.5): each with the term map
    of its own @context for application/ld+json, of the Link header's for application/json. An entity
    whose @context is missing, misplaced or unavailable gets an error of its own, which the others do not
    share. BadRequestData when the body is not a non-empty array of objects, PayloadTooLarge when it holds
    more entities than a batch may."""
    media_type, body, link = await _read_body(request, (JSON, JSON_LD))
    if not isinstance(body, list) or not body:
        raise InvalidRequest("The body must be a non-empty JSON array of entities")
    for position, item in enumerate(body, 1):
        if not isinstance(item, dict):
            raise InvalidRequest(f"The body must be a JSON array of entities (JSON objects), but its element "
                                 f"number {position} is {json_kind(item)}")
    _check_batch_size(request, body)
    if media_type == JSON_LD and link is not None:
        raise BadRequestData("With Content-Type application/ld+json the @context goes in the body, not in a Link")
    shared = None if media_type == JSON_LD else await request.app.state.contexts.term_map(link)
    items: list[tuple[dict[str, Any], Payload | NgsiLdError]] = []
    for item in body:
        try:
            context = _context_of(item, media_type, link)
            terms = shared if shared is not None else await request.app.state.contexts.term_map(context)
        except NgsiLdError as error:
            items.append((item, error))
            continue
        await _keep_inline(request, context)
        items.append((item, Payload(item, terms, context)))
    return items


async def _keep_inline(request: Request, context: Any) -> None:
    """Keeps an @context that is not one URL as an ImplicitlyCreated one (clause 5.13), named by a URL of ours."""
    if is_inline(context):
        await request.app.state.context_store.implicit(context)


async def read_ids(request: Request) -> list[str]:
    """Reads a body that is a non-empty array of entity ids (Batch Entity Delete, clause 6.18)."""
    _, body, _ = await _read_body(request, (JSON, JSON_LD))
    if not isinstance(body, list) or not body or not all(isinstance(item, str) for item in body):
        raise InvalidRequest("The body must be a non-empty JSON array of entity ids")
    _check_batch_size(request, body)
    return body


def _check_batch_size(request: Request, items: list[Any]) -> None:
    limit = request.app.state.settings.max_batch_size
    if len(items) > limit:
        raise PayloadTooLarge(f"A batch holds at most {limit} entities; this one holds {len(items)}")


async def _read_body(
    request: Request, media_types: tuple[str, ...], *, geo: bool = False
) -> tuple[str, Any, str | None]:
    """The media type, the JSON body and the Link header's @context URL of a request with a body."""
    media_type = _media_type(request.headers.get("content-type"))
    if media_type not in media_types:
        raise UnsupportedMediaType(
            f"Content-Type '{media_type or '(none)'}' is not supported here; use one of {', '.join(media_types)}"
        )
    if geo:
        response_media_type(request, geo=True)
    else:
        _refuse_geo_json(request)
    return media_type, await _read_json(request), link_context(request)


def _context_of(body: Any, media_type: str, link: str | None) -> Any:
    """The @context of a JSON object of the body: in the object with ld+json, in the Link header with json."""
    if media_type == JSON_LD:
        if link is not None:
            raise BadRequestData("With Content-Type application/ld+json the @context goes in the body, not in a Link")
        if not isinstance(body, dict):
            raise InvalidRequest("The body must be a JSON object")
        if "@context" not in body:
            raise BadRequestData("With Content-Type application/ld+json the body must hold an @context")
        return body["@context"]
    if isinstance(body, dict) and "@context" in body:
        raise BadRequestData("With Content-Type application/json the @context goes in a Link header, not the body")
    return link


async def query_terms(request: Request) -> tuple[TermMap, str | None]:
    """The term map of a request that takes its @context from the Link header only (GET, DELETE)."""
    link = link_context(request)
    return await request.app.state.contexts.term_map(link), link


async def _read_json(request: Request) -> Any:
    limit = request.app.state.settings.max_body_bytes
    declared = request.headers.get("content-length")
    if declared is None:
        raise LengthRequired("A request with a body needs a Content-Length header (clause 6.3.4)")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"The body is larger than the limit of {limit} bytes")
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"The body is larger than the limit of {limit} bytes")
        chunks.append(chunk)
    try:
        return orjson.loads(b"".join(chunks))
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"The body is not valid JSON: {exc}") from exc


def _refuse_geo_json(request: Request) -> None:
    """Only Retrieve and Query Entities (GET, and POST /entityOperations/query) answer GeoJSON: other
    operations asked for it get 406 (clause 6.3.4)."""
    try:
        chosen = response_media_type(request, geo=True)
    except NotAcceptable:
        return
    if chosen == GEO_JSON:
        raise NotAcceptable(f"This operation cannot answer {GEO_JSON}; use one of {JSON}, {JSON_LD}")


def _media_type(header: str | None) -> str:
    return (header or "").split(";")[0].strip().lower()


def response_media_type(request: Request, *, geo: bool = False) -> str:
    """The media type to answer with, from the Accept header (clause 6.3.4); NotAcceptable otherwise."""
    accept = request.headers.get("accept")
    if not accept:
        return JSON
    offered = (JSON, JSON_LD, GEO_JSON) if geo else (JSON, JSON_LD)
    ranges = []
    for position, item in enumerate(accept.split(",")):
        media_type, *params = (part.strip() for part in item.split(";"))
        quality = 1.0
        for param in params:
            if param.startswith("q="):
                try:
                    quality = float(param[2:])
                except ValueError:
                    quality = 0.0
        ranges.append((-quality, position, media_type.lower()))
    for negative_quality, _, media_type in sorted(ranges):
        if negative_quality == 0:
            continue
        if media_type in offered:
            return media_type
        if media_type in ("*/*", "application/*"):
            return JSON
    raise NotAcceptable(f"None of the media types in Accept '{accept}' can be served; use one of {', '.join(offered)}")


def json_response(
    content: Any, *, status: int = 200, media_type: str = JSON, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(orjson.dumps(content), status_code=status, media_type=media_type, headers=headers)


def empty_response(request: Request, status: int = 204, headers: dict[str, str] | None = None) -> Response:
    return Response(status_code=status, headers=with_tenant(request, headers or {}))


def page_links(request: Request, *, offset: int, limit: int, more: bool, media_type: str) -> list[str]:
    """The Link header values to the previous and the next page of a paged answer (clause 5.5.9): the
    request's own path and parameters with another offset; no previous page for the first, no next page
    when `more` says that none follows, and none at all when the limit is 0 (a count alone)."""
    if limit == 0:
        return []
    links = []
    if offset > 0:
        links.append(_page_link(request, max(offset - limit, 0), limit, "prev", media_type))
    if more:
        links.append(_page_link(request, offset + limit, limit, "next", media_type))
    return links


def _page_link(request: Request, offset: int, limit: int, rel: str, media_type: str) -> str:
    kept = [item for item in request.url.query.split("&") if item and item.split("=", 1)[0] not in _PAGING_PARAMS]
    query = quote("&".join([*kept, f"limit={limit}", f"offset={offset}"]), safe=_URI_CHARS)
    return f'<{request.url.path}?{query}>; rel="{rel}"; type="{media_type}"'


def with_links(response: Response, links: list[str]) -> Response:
    """The response with one more Link header field per link (RFC 8288: a field per link, as clients expect)."""
    for value in links:
        response.headers.append("Link", value)
    return response


def ngsi_response(
    request: Request, content: Any, *, media_type: str, context: str | None, status: int = 200,
    headers: dict[str, str] | None = None, links: list[str] | None = None,
) -> Response:
    """A response carrying NGSI-LD elements, with the @context where clause 6.3.6 puts it.

    application/ld+json: in the body (of each entity of an array); application/geo+json: at the top of
    the body, unless the Prefer header asks for body=json; application/json: in a Link header.
    """
    headers = with_tenant(request, headers or {})
    context_url = context or CORE_CONTEXT_URL
    if media_type == JSON_LD or (media_type == GEO_JSON and not _prefers_json_body(request)):
        content = _with_context(content, context_url)
    else:
        headers["Link"] = context_link(context_url)
    return with_links(json_response(content, status=status, media_type=media_type, headers=headers), links or [])


def _with_context(content: Any, context_url: str) -> Any:
    """The content with an @context member: in each entity of an array, else at its top level."""
    if isinstance(content, list):
        return [{**item, "@context": context_url} for item in content]
    return {**content, "@context": context_url}


def _prefers_json_body(request: Request) -> bool:
    preferences = request.headers.get("prefer", "").replace(" ", "").split(",")
    return "body=json" in preferences


def with_tenant(request: Request, headers: dict[str, str]) -> dict[str, str]:
    """`headers` with the NGSILD-Tenant of the request, which responses carry back (clause 5.5.10)."""
    tenant = request.headers.get(TENANT_HEADER)
    if tenant is not None:
        headers[TENANT_HEADER] = tenant
    return headers

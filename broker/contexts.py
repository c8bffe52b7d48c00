"""Fetching user @contexts: once per URL, with a timeout, cached in memory and in the store.

Term maps are cached per distinct @context value, so a request pays for a look-up only. The URL of a @context
that the broker hosts itself (broker/context_store.py) is read from the store, without an HTTP round trip.
The fetched documents are the Cached @contexts of clause 5.13, kept with the store so that every process sharing
it fetches a URL once: listed, deleted and reloaded through the API.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable
from typing import Any
from urllib.parse import urljoin

import aiohttp
import orjson

from broker.context_store import ContextStore, StoredContext
from ngsi_ld.context import TermMap, build_term_map, builtin_document, context_urls
from ngsi_ld.errors import BadRequestData, LdContextNotAvailable, failure
from ngsi_ld.values import utc_now
from subscriptions.outbound import OutboundPolicy, refusal_of

__all__ = ["ContextResolver"]

log = logging.getLogger("scifi.contexts")
_MAX_NESTED_URLS = 32
_MAX_REDIRECTS = 5
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


class ContextResolver:
    """Turns the @context of a request into a TermMap, fetching the remote documents it names."""

    def __init__(self, store: ContextStore, timeout: float, max_term_maps: int,
                 known: Callable[[str], Any] | None = None, outbound: OutboundPolicy | None = None,
                 max_bytes: int = 4 * 1024 * 1024) -> None:
        """`store` keeps the @contexts the broker hosts and the documents it fetched; `known` gives the documents
        that are had without fetching (None for others): the Smart Data Models contexts of the models' source;
        `outbound`: the URLs that may be fetched (see subscriptions/outbound.py). A fetch takes at most
        `timeout` seconds and `max_bytes` bytes (the settings context_timeout and max_context_bytes)."""
        self.known = known
        self._outbound = outbound or OutboundPolicy()
        self._store = store
        store.when_changed(self._forget_all)
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._max_bytes = max_bytes
        self._max_term_maps = max_term_maps
        self._documents: dict[str, Any] = {}
        self._pending: dict[str, asyncio.Future[Any]] = {}
        self._term_maps: OrderedDict[bytes | str, TermMap] = OrderedDict()
        self._session: aiohttp.ClientSession | None = None

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def term_map(self, local_context: Any) -> TermMap:
        await self._store.refresh()
        key = local_context if isinstance(local_context, str) else orjson.dumps(local_context)
        terms = self._term_maps.get(key)
        if terms is not None:
            self._term_maps.move_to_end(key)
            return terms
        documents = await self._load_all(local_context)
        terms = build_term_map(local_context, documents.__getitem__)
        self._term_maps[key] = terms
        if len(self._term_maps) > self._max_term_maps:
            self._term_maps.popitem(last=False)
        return terms

    async def _load_all(self, local_context: Any) -> dict[str, Any]:
        """Loads every document the context names, and those their own @context members name."""
        queue = list(context_urls(local_context))
        seen: set[str] = set()
        documents: dict[str, Any] = {}
        while queue:
            url = queue.pop()
            if url in seen or builtin_document(url) is not None:
                continue
            seen.add(url)
            if len(seen) > _MAX_NESTED_URLS:
                raise BadRequestData(f"The @context refers to more than {_MAX_NESTED_URLS} documents")
            document = documents[url] = await self._document(url)
            if not isinstance(document, dict) or "@context" not in document:
                raise BadRequestData(f"The document at {url} is not a JSON-LD @context (no '@context' member)")
            queue.extend(context_urls(document["@context"]))
        return documents

    async def _document(self, url: str) -> Any:
        if url in self._documents:
            return self._documents[url]
        pending = self._pending.get(url)
        if pending is None:
            pending = self._pending[url] = asyncio.ensure_future(self._fetch_or_read(url))
            pending.add_done_callback(lambda _: self._pending.pop(url, None))
        document = await asyncio.shield(pending)
        self._documents[url] = document
        return document

    async def _fetch_or_read(self, url: str) -> Any:
        hosted = await self._store.document_at(url)
        if hosted is not None:
            return hosted
        known = self.known(url) if self.known is not None else None
        if known is not None:
            return known
        cached = await self._store.cached(url)
        if cached is not None:
            return cached.document
        return await self._download(url, utc_now())

    async def _download(self, url: str, created_at: str) -> Any:
        """Fetches a document and keeps it in the store, as a Cached @context created at `created_at`."""
        body = await self._fetch(url)
        try:
            document = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise LdContextNotAvailable(f"The @context at {url} is not JSON") from exc
        await self._store.cache(url, document, created_at)
        return document

    async def reload(self, entry: StoredContext) -> None:
        """Fetches a Cached @context again and replaces the kept copy; the old one stays if the fetch fails."""
        assert entry.url is not None
        self._documents[entry.url] = await self._download(entry.url, entry.created_at)
        self._term_maps.clear()

    async def forget(self, entry: StoredContext) -> None:
        """Deletes a Cached @context: the next request that names it fetches it again."""
        await self._store.delete(entry.local_id)

    def _forget_all(self) -> None:
        """Drops what was read from the store, which another request or process may have changed since."""
        self._documents.clear()
        self._term_maps.clear()

    async def _fetch(self, url: str) -> bytes:
        """The body at `url`, following redirects; each URL on the way is checked by the outbound policy when it
        is given and again on the address connected to (BadRequestData when refused)."""
        if not url.startswith(("http://", "https://")):
            raise BadRequestData(f"The @context '{url}' is not an http(s) URL, so it cannot be fetched")
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout, connector=self._outbound.connector())
        headers = {"Accept": "application/ld+json, application/json;q=0.9"}
        location = url
        try:
            for _ in range(_MAX_REDIRECTS + 1):
                if not location.startswith(("http://", "https://")):
                    raise LdContextNotAvailable(f"The @context {location} is not an http(s) URL")
                await self._outbound.check(location)
                async with self._session.get(location, headers=headers, allow_redirects=False) as response:
                    if response.status in _REDIRECTS and "Location" in response.headers:
                        location = urljoin(location, response.headers["Location"])
                        continue
                    if response.status != 200:
                        raise LdContextNotAvailable(f"Fetching the @context {url} answered HTTP {response.status}")
                    return await self._body(url, response)
            raise LdContextNotAvailable(f"Fetching the @context {url} was redirected more than "
                                        f"{_MAX_REDIRECTS} times")
        except TimeoutError as exc:
            log.warning("context fetch failed url=%s error=timeout", url)
            raise LdContextNotAvailable(f"The @context {url} could not be fetched within {self._timeout.total} s: "
                                        "the limit context_timeout") from exc
        except (aiohttp.ClientError, OSError) as exc:
            refusal = refusal_of(exc)
            if refusal is not None:
                log.warning("context fetch refused url=%s reason=%s", url, refusal)
                raise BadRequestData(f"The @context {location} may not be fetched: {refusal}") from exc
            log.warning("context fetch failed url=%s error=%s", url, failure(exc))
            raise LdContextNotAvailable(f"The @context {url} could not be fetched: {failure(exc)}") from exc

    async def _body(self, url: str, response: aiohttp.ClientResponse) -> bytes:
        """The body of a response, refused as soon as it is known to be larger than max_context_bytes."""
        too_large = LdContextNotAvailable(f"The @context {url} is larger than {self._max_bytes} bytes: the limit "
                                          "max_context_bytes")
        if (response.content_length or 0) > self._max_bytes:
            raise too_large
        body = bytearray()
        async for chunk in response.content.iter_any():
            body += chunk
            if len(body) > self._max_bytes:
                raise too_large
        return bytes(body)

"""Fetching user @contexts: once per URL, with a timeout, cached in memory and on disk.

Term maps are cached per distinct @context value, so a request pays for a look-up only.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from ngsi_ld.context import TermMap, build_term_map, builtin_document, context_urls
from ngsi_ld.errors import BadRequestData, LdContextNotAvailable, failure

__all__ = ["ContextResolver"]

log = logging.getLogger("scifi.contexts")
_MAX_DOCUMENT_BYTES = 1024 * 1024
_MAX_NESTED_URLS = 32


class ContextResolver:
    """Turns the @context of a request into a TermMap, fetching the remote documents it names."""

    def __init__(self, cache_dir: Path | None, timeout: float, max_term_maps: int,
                 known: Callable[[str], Any] | None = None) -> None:
        """`known` gives the documents that are had without fetching (None for others): the Smart Data Models
        contexts of the models' source."""
        self.known = known
        self._cache_dir = cache_dir
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._max_term_maps = max_term_maps
        self._documents: dict[str, Any] = {}
        self._pending: dict[str, asyncio.Future[Any]] = {}
        self._term_maps: OrderedDict[bytes | str, TermMap] = OrderedDict()
        self._session: aiohttp.ClientSession | None = None

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def term_map(self, local_context: Any) -> TermMap:
        key = local_context if isinstance(local_context, str) else orjson.dumps(local_context)
        terms = self._term_maps.get(key)
        if terms is not None:
            self._term_maps.move_to_end(key)
            return terms
        await self._load_all(local_context)
        terms = build_term_map(local_context, self._documents.__getitem__)
        self._term_maps[key] = terms
        if len(self._term_maps) > self._max_term_maps:
            self._term_maps.popitem(last=False)
        return terms

    async def _load_all(self, local_context: Any) -> None:
        """Loads every document the context names, and those their own @context members name."""
        queue = list(context_urls(local_context))
        seen: set[str] = set()
        while queue:
            url = queue.pop()
            if url in seen or builtin_document(url) is not None:
                continue
            seen.add(url)
            if len(seen) > _MAX_NESTED_URLS:
                raise BadRequestData(f"The @context refers to more than {_MAX_NESTED_URLS} documents")
            document = await self._document(url)
            if not isinstance(document, dict) or "@context" not in document:
                raise BadRequestData(f"The document at {url} is not a JSON-LD @context (no '@context' member)")
            queue.extend(context_urls(document["@context"]))

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
        known = self.known(url) if self.known is not None else None
        if known is not None:
            return known
        cached = self._cache_file(url)
        if cached is not None and cached.exists():
            return orjson.loads(cached.read_bytes())
        body = await self._fetch(url)
        try:
            document = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise LdContextNotAvailable(f"The @context at {url} is not JSON") from exc
        if cached is not None:
            cached.parent.mkdir(parents=True, exist_ok=True)
            temporary = cached.with_suffix(".tmp")
            temporary.write_bytes(body)
            temporary.replace(cached)
        return document

    async def _fetch(self, url: str) -> bytes:
        if not url.startswith(("http://", "https://")):
            raise LdContextNotAvailable(f"The @context {url} is not an http(s) URL")
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        headers = {"Accept": "application/ld+json, application/json;q=0.9"}
        try:
            async with self._session.get(url, headers=headers) as response:
                if response.status != 200:
                    raise LdContextNotAvailable(f"Fetching the @context {url} answered HTTP {response.status}")
                body = await response.content.read(_MAX_DOCUMENT_BYTES + 1)
        except (TimeoutError, aiohttp.ClientError) as exc:
            log.warning("context fetch failed url=%s error=%r", url, exc)
            raise LdContextNotAvailable(f"The @context {url} could not be fetched: {failure(exc)}") from exc
        if len(body) > _MAX_DOCUMENT_BYTES:
            raise LdContextNotAvailable(f"The @context {url} is larger than {_MAX_DOCUMENT_BYTES} bytes")
        return body

    def _cache_file(self, url: str) -> Path | None:
        if self._cache_dir is None:
            return None
        return self._cache_dir / (hashlib.sha256(url.encode()).hexdigest() + ".jsonld")

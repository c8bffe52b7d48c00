"""Fetching user @contexts: once per URL, with a timeout, cached in memory and on disk.

Term maps are cached per distinct @context value, so a request pays for a look-up only. The URL of a @context
that the broker hosts itself (broker/context_store.py) is read from its file, without an HTTP round trip.
The cached documents are the Cached @contexts of clause 5.13: listed, deleted and reloaded through the API.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from broker.context_store import ContextStore, DirectoryWatch, write_atomically
from ngsi_ld.context import TermMap, build_term_map, builtin_document, context_urls
from ngsi_ld.errors import BadRequestData, LdContextNotAvailable, failure
from ngsi_ld.values import utc_now

__all__ = ["CachedContext", "ContextResolver"]

log = logging.getLogger("scifi.contexts")
_MAX_DOCUMENT_BYTES = 1024 * 1024
_MAX_NESTED_URLS = 32
_META_SUFFIX = ".meta.json"
_DIGEST = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class CachedContext:
    """A remote @context kept on disk: its URL, its local id and when it was fetched."""

    url: str
    local_id: str
    created_at: str


class ContextResolver:
    """Turns the @context of a request into a TermMap, fetching the remote documents it names."""

    def __init__(self, cache_dir: Path | None, timeout: float, max_term_maps: int,
                 known: Callable[[str], Any] | None = None, hosted: ContextStore | None = None) -> None:
        """`known` gives the documents that are had without fetching (None for others): the Smart Data Models
        contexts of the models' source. `hosted` serves the URLs of the @contexts the broker hosts."""
        self.known = known
        self._hosted = hosted
        self._cache_dir = cache_dir
        watched = [path for path in (cache_dir, hosted.directory if hosted else None) if path is not None]
        self._watch = DirectoryWatch(*watched)
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
        if self._watch.changed():
            self._forget_all()
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
        hosted = self._hosted.document_at(url) if self._hosted is not None else None
        if hosted is not None:
            return hosted
        known = self.known(url) if self.known is not None else None
        if known is not None:
            return known
        cached = self._cache_file(url)
        if cached is not None and cached.exists():
            return orjson.loads(cached.read_bytes())
        return await self._download(url, utc_now())

    async def _download(self, url: str, created_at: str) -> Any:
        """Fetches a document and keeps it on disk, with its URL and `created_at` beside it."""
        body = await self._fetch(url)
        try:
            document = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise LdContextNotAvailable(f"The @context at {url} is not JSON") from exc
        cached = self._cache_file(url)
        if cached is not None:
            write_atomically(cached, body)
            meta = {"URL": url, "createdAt": created_at}
            write_atomically(cached.with_suffix(_META_SUFFIX), orjson.dumps(meta))
        return document

    def cached(self) -> list[CachedContext]:
        """The remote @contexts kept on disk, oldest first (those of older versions, without their URL, aside)."""
        if self._cache_dir is None or not self._cache_dir.exists():
            return []
        found = (self._cached_entry(path) for path in self._cache_dir.glob("*" + _META_SUFFIX))
        return sorted((entry for entry in found if entry is not None), key=lambda e: (e.created_at, e.url))

    def cached_by_id(self, local_id: str) -> CachedContext | None:
        if self._cache_dir is None or not _DIGEST.fullmatch(local_id):
            return None
        return self._cached_entry(self._cache_dir / (local_id + _META_SUFFIX))

    def cached_by_url(self, url: str) -> CachedContext | None:
        return self.cached_by_id(_digest(url))

    async def reload(self, entry: CachedContext) -> None:
        """Fetches a Cached @context again and replaces the kept copy; the old one stays if the fetch fails."""
        self._documents[entry.url] = await self._download(entry.url, entry.created_at)
        self._term_maps.clear()

    def forget(self, entry: CachedContext) -> None:
        """Deletes a Cached @context: the next request that names it fetches it again."""
        cached = self._cache_file(entry.url)
        if cached is not None:
            cached.with_suffix(_META_SUFFIX).unlink(missing_ok=True)
            cached.unlink(missing_ok=True)
        self._forget_all()

    def _forget_all(self) -> None:
        """Drops what was read from files that another request or worker may have changed since."""
        self._documents.clear()
        self._term_maps.clear()

    def _cached_entry(self, meta_file: Path) -> CachedContext | None:
        try:
            meta = orjson.loads(meta_file.read_bytes())
        except FileNotFoundError:
            return None
        return CachedContext(meta["URL"], meta_file.name[: -len(_META_SUFFIX)], meta["createdAt"])

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
        return self._cache_dir / (_digest(url) + ".jsonld")


def _digest(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()

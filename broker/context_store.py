"""The @contexts the broker keeps (clause 5.13): Hosted ones that clients added, ImplicitlyCreated ones made from
the inline @contexts of payloads, so that one URL can name them (in a notification's Link header), and Cached
remote documents (broker/contexts.py fetches them).

They live with the store (`EntityStore.context_documents`: files under the data directory for the embedded
store, a collection of its database for MongoDB), so that they survive a restart and every process sharing the
store sees them. A local id is a random one for a Hosted context, a digest of the @context for an implicit one
(the same inline @context always gets the same one), and a digest of the URL for a Cached one.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import orjson

from broker.store import CACHED, CONTEXT_KINDS, HOSTED, IMPLICIT, ContextDocuments, StoredContext, StoreUnavailable
from ngsi_ld.context import is_core_context_url
from ngsi_ld.values import utc_now

__all__ = ["CACHED", "CONTEXTS_PATH", "HOSTED", "IMPLICIT", "KINDS", "ContextStore", "StoredContext", "cached_id",
           "implicit_id", "is_inline", "local_id_of_url"]

log = logging.getLogger("scifi.contexts")

KINDS = CONTEXT_KINDS
CONTEXTS_PATH = "/ngsi-ld/v1/jsonldContexts/"
_LOCAL_ID = re.compile(r"[0-9a-f]{32}")
_ANY_ID = re.compile(r"[0-9a-f]{32}(?:[0-9a-f]{32})?")
_LOOK_SECONDS = 1.0


class ContextStore:
    """The @contexts of the store's ContextDocuments, and what this process knows of them: which implicit ones
    exist (so that a request with an inline @context writes nothing when it does), and, through `refresh`, when
    another process deleted or replaced one, so that what was read from them is read again."""

    def __init__(self, documents: ContextDocuments) -> None:
        self._documents = documents
        self._implicit_ids: set[str] = set()
        self._forget: list[Callable[[], None]] = [self._implicit_ids.clear]
        self._version: object = None
        self._next_look = 0.0
        self._look: asyncio.Future[None] | None = None

    def when_changed(self, forget: Callable[[], None]) -> None:
        """Calls `forget` whenever `refresh` finds that the @contexts changed."""
        self._forget.append(forget)

    async def refresh(self) -> None:
        """Looks, at most once a second, whether any process deleted or replaced a @context since the last look;
        the requests that come while it looks wait for its answer, so that none uses what it made stale."""
        now = time.monotonic()
        if now >= self._next_look:
            self._next_look = now + _LOOK_SECONDS
            self._look = asyncio.ensure_future(self._look_at_version())
        if self._look is not None and not self._look.done():
            await asyncio.shield(self._look)

    async def _look_at_version(self) -> None:
        try:
            version = await self._documents.version()
        except StoreUnavailable as error:  # what is in memory stays in use; the next look tries again
            log.warning("@contexts not looked at error=%s", error.detail)
            return
        if version != self._version:
            self._version = version
            for forget in self._forget:
                forget()

    async def add(self, context: Any) -> StoredContext:
        """Keeps a Hosted @context under a new local id."""
        stored = StoredContext(uuid.uuid4().hex, HOSTED, utc_now(), document={"@context": context})
        await self._documents.add(stored)
        return stored

    async def implicit(self, context: Any) -> str:
        """The local id of the implicit @context made of `context`, kept when it was not yet."""
        local_id = implicit_id(context)
        await self.refresh()
        if local_id not in self._implicit_ids:
            await self._documents.add(StoredContext(local_id, IMPLICIT, utc_now(), document={"@context": context}))
            self._implicit_ids.add(local_id)
        return local_id

    async def cache(self, url: str, document: Any, created_at: str) -> None:
        """Keeps (or replaces) the document fetched from `url` as a Cached @context."""
        await self._documents.put(StoredContext(cached_id(url), CACHED, created_at, url, document))

    async def get(self, local_id: str) -> StoredContext | None:
        """A @context of any kind, by its local id."""
        return await self._documents.get(local_id) if _ANY_ID.fullmatch(local_id) else None

    async def all(self) -> list[StoredContext]:
        """Every kept @context, without its document, oldest first."""
        return await self._documents.all()

    async def delete(self, local_id: str) -> bool:
        """Deletes a @context; this process forgets what it read of it at once, the others at their next look."""
        if not _ANY_ID.fullmatch(local_id) or not await self._documents.delete(local_id):
            return False
        for forget in self._forget:
            forget()
        return True

    async def document_at(self, url: str) -> dict[str, Any] | None:
        """The document of a Hosted or implicit @context named by its URL (whatever host the URL names), else
        None; without a look at the store for any other URL."""
        local_id = local_id_of_url(url)
        stored = None if local_id is None else await self._documents.get(local_id)
        return None if stored is None or stored.kind == CACHED else stored.document

    async def cached(self, url: str) -> StoredContext | None:
        """The Cached @context fetched from `url`, with its document, if it is kept."""
        stored = await self._documents.get(cached_id(url))
        return stored if stored is not None and stored.kind == CACHED else None


def is_inline(context: Any) -> bool:
    """Whether a @context is not one URL: an object, or an array with an object or with several URLs (the core
    context aside, which always applies). Such a @context needs an implicit one to be named by a URL."""
    if isinstance(context, dict):
        return True
    if not isinstance(context, list):
        return False
    entries = [entry for entry in context if not (isinstance(entry, str) and is_core_context_url(entry))]
    return len(entries) > 1 or any(isinstance(entry, dict) for entry in entries)


def implicit_id(context: Any) -> str:
    return hashlib.sha256(orjson.dumps(context, option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]


def cached_id(url: str) -> str:
    """The local id of the Cached @context fetched from `url`."""
    return hashlib.sha256(url.encode()).hexdigest()


def local_id_of_url(url: str) -> str | None:
    """The local id in a URL of the form <any host>/ngsi-ld/v1/jsonldContexts/<local id>, else None."""
    path = urlsplit(url).path
    if not path.startswith(CONTEXTS_PATH):
        return None
    local_id = path[len(CONTEXTS_PATH):]
    return local_id if _LOCAL_ID.fullmatch(local_id) else None

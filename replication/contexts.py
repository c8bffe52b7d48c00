"""The @context documents a pilot's entities use, fetched for its package: the document at the pilot's
@context URL and those it refers to. The core context is taken from the copy the library carries."""

from __future__ import annotations

from typing import Any

import aiohttp
import orjson

from ngsi_ld.context.core import builtin_document
from replication.errors import UsageError

__all__ = ["context_documents"]

MAX_DOCUMENTS = 20


async def context_documents(url: str, timeout: float = 30.0) -> dict[str, bytes]:
    """The documents by URL: `url`'s and those its @context names, at most MAX_DOCUMENTS of them."""
    documents: dict[str, bytes] = {}
    waiting = [url]
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session:
        while waiting and len(documents) < MAX_DOCUMENTS:
            current = waiting.pop(0)
            if current in documents:
                continue
            content = await _document(session, current)
            documents[current] = content
            waiting.extend(_referred(orjson.loads(content)))
    return documents


async def _document(session: aiohttp.ClientSession, url: str) -> bytes:
    known = builtin_document(url)
    if known is not None:
        return orjson.dumps(known)
    try:
        async with session.get(url, headers={"Accept": "application/ld+json, application/json"}) as response:
            content = await response.read()
            if response.status != 200:
                raise UsageError(f"the @context {url} cannot be fetched (it answered {response.status})")
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        raise UsageError(f"the @context {url} cannot be fetched ({exc or type(exc).__name__})") from exc
    try:
        orjson.loads(content)
    except orjson.JSONDecodeError:
        raise UsageError(f"the @context {url} is not JSON") from None
    return content


def _referred(document: Any) -> list[str]:
    context = document.get("@context") if isinstance(document, dict) else None
    items = context if isinstance(context, list) else [context]
    return [item for item in items if isinstance(item, str)]

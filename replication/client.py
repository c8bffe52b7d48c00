"""The HTTP client of one NGSI-LD broker (and tenant), as the copy uses it: paged reads of the entities of a
type with their count, reads by id, batch upserts whose answer is read entity by entity, and subscriptions.

It sends what the specification asks of a client and nothing more, so that it works with any broker:
normalized entities as `application/json` with the @context in a Link header (clause 6.3.5), the tenant in
`NGSILD-Tenant`, limit/offset paging with `count=true` read from `NGSILD-Results-Count` (clause 6.3.10,
6.3.13), and `POST /entityOperations/upsert` (clause 6.15).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp
import orjson

from ngsi_ld.context.core import context_link
from replication.errors import BrokerError, BrokerUnavailable, UsageError

__all__ = ["API", "BatchAnswer", "Broker", "ID_CHUNK", "problem_text"]

API = "/ngsi-ld/v1"
ID_CHUNK = 100
"""Ids asked for in one GET (their list is in the URL, which brokers and proxies limit to a few KB)."""
_UNAVAILABLE = frozenset({502, 503, 504})


@dataclass(slots=True)
class BatchAnswer:
    """What became of each entity of one upsert: the ids written, and the reason each other one failed."""

    success: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)


class Broker:
    """A broker at `url` (its root, or its /ngsi-ld/v1), in `tenant` (None: the default one), whose entity
    and subscription names are compacted with the @context at `context` (None: the core context only)."""

    def __init__(self, url: str, tenant: str | None = None, context: str | None = None, *,
                 timeout: float = 60.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise UsageError(f"{url}: not the http:// or https:// URL of a broker")
        root = url.rstrip("/")
        self.base = root if root.endswith(API) else root + API
        self.root = root
        self.tenant = tenant
        self.context = context
        self.label = root + (f" (tenant {tenant})" if tenant else "")
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Broker:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout),
                                              connector=aiohttp.TCPConnector(limit=16))
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # Entities

    async def count(self, entity_type: str, q: str | None = None, *, missing_ok: bool = True) -> int:
        """How many entities of the type (that match q) the broker holds: none in a tenant that does not exist
        (yet), unless not `missing_ok` (a source), where that is a BrokerError."""
        params = {"type": entity_type, "limit": "1", "count": "true", **({"q": q} if q else {})}
        status, headers, _ = await self._call("GET", "/entities", params=params,
                                              accept=(200, 404) if missing_ok else (200,))
        if status == 404:
            return 0
        try:
            return int(headers["ngsild-results-count"])
        except (KeyError, ValueError):
            raise BrokerError(f"{self.label}: GET /entities?count=true answered without a NGSILD-Results-Count "
                              "header") from None

    async def page(self, entity_type: str, offset: int, limit: int, q: str | None = None) -> list[dict[str, Any]]:
        """The entities of the type from `offset` on, at most `limit` of them, in normalized form."""
        params = {"type": entity_type, "offset": str(offset), "limit": str(limit), **({"q": q} if q else {})}
        status, _, data = await self._call("GET", "/entities", params=params, accept=(200, 404))
        return _entities(data, self.label) if status == 200 else []

    async def entities(self, entity_type: str, ids: list[str]) -> dict[str, dict[str, Any]]:
        """The entities of the type among `ids` that the broker holds, by id (a query names a type, attrs,
        q or a geo-query, clause 5.7.2: ids alone are not enough)."""
        chunks = [ids[start:start + ID_CHUNK] for start in range(0, len(ids), ID_CHUNK)]
        pages = await asyncio.gather(*(self._by_ids(chunk, {"type": entity_type}) for chunk in chunks))
        return {entity["id"]: entity for page in pages for entity in page}

    async def _by_ids(self, ids: list[str], extra: dict[str, str]) -> list[dict[str, Any]]:
        """The entities of `ids` (and `extra` parameters); none in a tenant that does not exist yet (404)."""
        params = {"id": ",".join(ids), "limit": str(len(ids)), **extra}
        status, _, data = await self._call("GET", "/entities", params=params, accept=(200, 404))
        return _entities(data, self.label) if status == 200 else []

    async def present(self, ids: list[str], types: list[str], q: str | None = None) -> set[str]:
        """Which of `ids` are ids of entities of `types` (that match q) in the broker. Whole entities are read:
        `pick` (v1.8) would lighten the answers, but brokers of earlier versions refuse it."""
        extra = {"type": ",".join(types), **({"q": q} if q else {})}
        chunks = [ids[start:start + ID_CHUNK] for start in range(0, len(ids), ID_CHUNK)]
        pages = await asyncio.gather(*(self._by_ids(chunk, extra) for chunk in chunks))
        return {entity["id"] for page in pages for entity in page}

    async def upsert(self, entities: list[dict[str, Any]]) -> BatchAnswer:
        """Creates or replaces the entities in one batch; each one's outcome, from a 201, 204 or 207 answer.
        A batch refused whole (400, 413...) fails each of its entities with the broker's reason."""
        ids = [entity["id"] for entity in entities]
        status, _, data = await self._call("POST", "/entityOperations/upsert", params={"options": "replace"},
                                           body=entities, accept=range(200, 500))
        if status in (200, 201, 204):
            return BatchAnswer(success=ids)
        if status == 207 and isinstance(data, dict):
            errors = {item.get("entityId", ""): problem_text(item.get("error"))
                      for item in data.get("errors") or [] if isinstance(item, dict)}
            return BatchAnswer([str(item) for item in data.get("success") or []], errors)
        reason = f"the batch was refused ({status}: {problem_text(data)})"
        return BatchAnswer(errors={entity_id: reason for entity_id in ids})

    # Subscriptions

    async def subscriptions(self, page_size: int = 100) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        while True:
            params = {"limit": str(page_size), "offset": str(len(found))}
            _, _, data = await self._call("GET", "/subscriptions", params=params)
            if not isinstance(data, list):
                raise BrokerError(f"{self.label}: GET /subscriptions did not answer with an array")
            found.extend(item for item in data if isinstance(item, dict))
            if len(data) < page_size:
                return found

    async def subscription(self, subscription_id: str) -> dict[str, Any] | None:
        status, _, data = await self._call("GET", f"/subscriptions/{quote(subscription_id, safe='')}",
                                           accept=(200, 404))
        return data if status == 200 and isinstance(data, dict) else None

    async def create_subscription(self, subscription: dict[str, Any]) -> str | None:
        """Creates the subscription; the broker's reason when it refuses it (None when it is created)."""
        status, _, data = await self._call("POST", "/subscriptions", body=subscription, accept=range(200, 500))
        return None if status == 201 else f"{status}: {problem_text(data)}"

    async def delete_subscription(self, subscription_id: str) -> None:
        await self._call("DELETE", f"/subscriptions/{quote(subscription_id, safe='')}", accept=(204, 404))

    # HTTP

    def _headers(self, with_body: bool) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if with_body:
            headers["Content-Type"] = "application/json"
        if self.context:
            headers["Link"] = context_link(self.context)
        if self.tenant:
            headers["NGSILD-Tenant"] = self.tenant
        return headers

    async def _call(self, method: str, path: str, *, params: dict[str, str] | None = None, body: Any = None,
                    accept: range | tuple[int, ...] = (200,)) -> tuple[int, dict[str, str], Any]:
        """Status, headers (names in lower case) and JSON body of one request; BrokerUnavailable when the
        broker cannot be reached or says it is (502-504), BrokerError for any other status not in `accept`."""
        assert self._session is not None, "use the Broker in `async with`"
        data = None if body is None else orjson.dumps(body)
        try:
            async with self._session.request(method, self.base + path, params=params, data=data,
                                             headers=self._headers(body is not None)) as response:
                raw = await response.read()
                status = response.status
                headers = {name.lower(): value for name, value in response.headers.items()}
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            reason = str(exc) or type(exc).__name__
            raise BrokerUnavailable(f"{self.label} cannot be reached ({reason})") from exc
        try:
            answer = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            answer = raw.decode("utf-8", "replace")[:200]
        if status in _UNAVAILABLE:
            raise BrokerUnavailable(f"{self.label} is unavailable ({status}: {problem_text(answer)})")
        if status not in accept:
            raise BrokerError(f"{self.label}: {method} {path} answered {status}: {problem_text(answer)}")
        return status, headers, answer


def problem_text(problem: Any) -> str:
    """A ProblemDetails (or whatever a broker answered) in one line."""
    if isinstance(problem, dict):
        parts = [str(problem[key]) for key in ("title", "detail") if problem.get(key)]
        return " - ".join(parts) or str(problem.get("type", "no details"))
    text = " ".join(str(problem).split()) if problem else "no details"
    return text[:300]


def _entities(data: Any, label: str) -> list[dict[str, Any]]:
    if not isinstance(data, list):
        raise BrokerError(f"{label}: GET /entities did not answer with an array")
    return [entity for entity in data if isinstance(entity, dict) and isinstance(entity.get("id"), str)]

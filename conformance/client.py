"""HTTP to the broker, and the evidence of each exchange: what was sent and what came back."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson

__all__ = ["API", "BrokerClient", "Exchange", "Reply", "Unreachable", "trimmed"]

API = "/ngsi-ld/v1"
BODY_SHOWN = 1500
"""Characters of a body kept as evidence; the rest is cut."""
_SHOWN_HEADERS = ("content-type", "accept", "link", "location", "ngsild-tenant", "ngsild-results-count",
                  "content-length", "allow", "accept-patch", "content-language")


class Unreachable(Exception):
    """The broker cannot be reached at all (connection refused, DNS, timeout of the first request)."""


def trimmed(body: bytes | str | None) -> str:
    """A body as text, cut to BODY_SHOWN characters."""
    if body is None:
        return ""
    text = body if isinstance(body, str) else body.decode("utf-8", errors="replace")
    return text if len(text) <= BODY_SHOWN else text[:BODY_SHOWN] + f"... ({len(text) - BODY_SHOWN} more)"


def _shown(headers: Any) -> dict[str, str]:
    return {name: value for name, value in headers.items() if name.lower() in _SHOWN_HEADERS}


@dataclass(slots=True)
class Reply:
    status: int
    headers: dict[str, str]
    """The headers, names in lower case (a repeated header joined with ', ')."""
    body: bytes

    def json(self) -> Any:
        """The body as JSON; None when it is not JSON."""
        try:
            return orjson.loads(self.body) if self.body else None
        except orjson.JSONDecodeError:
            return None

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @property
    def media_type(self) -> str:
        return (self.header("content-type") or "").split(";")[0].strip().lower()


@dataclass(slots=True)
class Exchange:
    """One request and its reply (or what kept it from getting one), kept as evidence."""

    method: str
    url: str
    request_headers: dict[str, str]
    request_body: str
    status: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: str = ""
    error: str | None = None
    seconds: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return {"request": {"method": self.method, "url": self.url, "headers": self.request_headers,
                            "body": self.request_body},
                "response": {"status": self.status, "headers": self.response_headers, "body": self.response_body,
                             "error": self.error, "seconds": round(self.seconds, 3)}}

    def text(self) -> str:
        lines = [f"> {self.method} {self.url}", *(f"> {k}: {v}" for k, v in self.request_headers.items())]
        if self.request_body:
            lines.append(f"> {self.request_body}")
        if self.error:
            lines.append(f"< no reply: {self.error}")
        else:
            lines += [f"< {self.status}", *(f"< {k}: {v}" for k, v in self.response_headers.items())]
            if self.response_body:
                lines.append(f"< {self.response_body}")
        return "\n".join(lines)


class BrokerClient:
    """Requests to the NGSI-LD API of one broker (base URL without /ngsi-ld/v1), with a tenant and a timeout."""

    def __init__(self, base_url: str, tenant: str | None = None, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.tenant = tenant
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> BrokerClient:
        self._session = aiohttp.ClientSession(timeout=self.timeout, auto_decompress=True)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else f"{self.base_url}{API}{path}"

    async def request(self, method: str, path: str, *, json: Any = None, body: bytes | None = None,
                      headers: dict[str, str] | None = None, params: dict[str, str] | None = None,
                      tenant: str | None = None) -> tuple[Reply | None, Exchange]:
        """Sends one request; the reply is None when none came (the exchange says why)."""
        assert self._session is not None, "use BrokerClient in `async with`"
        sent = dict(headers or {})
        if json is not None:
            body = orjson.dumps(json)
            sent.setdefault("Content-Type", "application/json")
        tenant = tenant if tenant is not None else self.tenant
        if tenant:
            sent.setdefault("NGSILD-Tenant", tenant)
        url = self.url(path)
        shown_url = url + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")
        exchange = Exchange(method, shown_url, sent, trimmed(body))
        started = time.monotonic()
        try:
            async with self._session.request(method, url, data=body, headers=sent, params=params,
                                             allow_redirects=False) as response:
                content = await response.read()
                reply = Reply(response.status, {k.lower(): ", ".join(response.headers.getall(k))
                                                for k in response.headers.keys()}, content)
        except (aiohttp.ClientError, TimeoutError) as exc:
            exchange.error = f"{type(exc).__name__}: {exc}"
            exchange.seconds = time.monotonic() - started
            return None, exchange
        exchange.seconds = time.monotonic() - started
        exchange.status = reply.status
        exchange.response_headers = _shown(reply.headers)
        exchange.response_body = trimmed(content)
        return reply, exchange

    async def reachable(self) -> str | None:
        """Why the broker cannot be reached (None when it answers GET /entities?type=... at all)."""
        reply, exchange = await self.request("GET", "/types")
        return exchange.error if reply is None else None

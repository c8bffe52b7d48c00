"""The checker's own HTTP server: it receives the notifications of the subscriptions the checks make, and
serves the @context documents the checks link to. The broker must reach it at --receiver-host:--receiver-port
(the host of the checker as the broker sees it, e.g. from inside a container)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

__all__ = ["Notification", "Receiver"]

LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True, slots=True)
class Notification:
    path: str
    headers: dict[str, str]
    body: Any
    raw: bytes
    at: float


class Receiver:
    """Records what is POSTed to /notify/<path>; serves GET /contexts/<name> from `contexts`."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.contexts: dict[str, Any] = {}
        self.received: dict[str, list[Notification]] = {}
        self._arrived = asyncio.Condition()
        self._runner: web.AppRunner | None = None

    async def start(self) -> Receiver:
        app = web.Application()
        app.router.add_post("/notify/{path:.*}", self._notify)
        app.router.add_get("/contexts/{name}", self._context)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        bind = self.host if self.host in LOOPBACK else "0.0.0.0"
        site = web.TCPSite(self._runner, bind, self.port)
        await site.start()
        if self.port == 0:
            server = site._server
            assert server is not None
            self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        return self

    async def aclose(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def url(self, path: str) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{path}"

    def endpoint(self, name: str) -> str:
        """The URI of a notification endpoint whose notifications are recorded under `name`."""
        return self.url(f"/notify/{name}")

    def context_url(self, name: str) -> str:
        return self.url(f"/contexts/{name}")

    async def wait(self, name: str, count: int = 1, timeout: float = 5.0) -> list[Notification]:
        """The notifications of `name` once there are `count` of them, or those there are after `timeout`."""
        deadline = time.monotonic() + timeout
        async with self._arrived:
            while len(self.received.get(name, [])) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    await asyncio.wait_for(self._arrived.wait(), remaining)
                except TimeoutError:
                    break
        return list(self.received.get(name, []))

    async def _notify(self, request: web.Request) -> web.Response:
        raw = await request.read()
        try:
            body = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            body = None
        name = request.match_info["path"]
        notification = Notification(name, {k.lower(): v for k, v in request.headers.items()}, body, raw, time.time())
        async with self._arrived:
            self.received.setdefault(name, []).append(notification)
            self._arrived.notify_all()
        return web.Response(status=204)

    async def _context(self, request: web.Request) -> web.Response:
        document = self.contexts.get(request.match_info["name"])
        if document is None:
            return web.Response(status=404)
        return web.Response(body=orjson.dumps(document), content_type="application/ld+json")

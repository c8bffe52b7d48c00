"""Structured logs: one line per request, with its tenant and request id."""

from __future__ import annotations

import logging
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["RequestLog", "configure_logging"]

log = logging.getLogger("scifi.requests")


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format='time=%(asctime)s level=%(levelname)s logger=%(name)s %(message)s',
    )


class RequestLog:
    """Logs each HTTP request once it is answered, and gives it an id (echoed as X-Request-Id)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        request_id = headers.get(b"x-request-id", b"").decode("latin-1")[:64] or uuid.uuid4().hex
        tenant = headers.get(b"ngsild-tenant", b"").decode("latin-1")
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode("latin-1"))]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if log.isEnabledFor(logging.INFO):
                log.info(
                    'method=%s path="%s" status=%d ms=%.2f tenant="%s" request_id=%s', scope["method"], scope["path"],
                    status, (time.perf_counter() - started) * 1000, tenant, request_id,
                )

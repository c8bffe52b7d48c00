"""Structured logs: one line per event, with its tenant and request id; and what every answer carries (its request
id and the security headers).

Each request has an id: the client's X-Request-Id when it is well formed (letters, digits and `._~:/+=-`, at
most 128), else a new one; the answer carries it back, and every line logged while the request is served has it
(`request_id=`), so that a client's report and the log meet.

Every line is one line: the values of requests in it are escaped (quotes, backslashes and control characters,
so that no request can forge a line or write a NUL), and a traceback is trimmed to its last frames and written
on the line of its event, once. A request that fails gets its request line and one error line:

    level=INFO logger=scifi.requests method=GET path="/ngsi-ld/v1/entities/urn:x\\n1" status=404 error=...
    level=ERROR logger=scifi.errors internal error method=GET path="..." request_id=... error=RecursionError ...
"""

from __future__ import annotations

import logging
import re
import time
import traceback
import uuid
from contextvars import ContextVar
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ngsi_ld.errors import NgsiLdError

__all__ = ["LOG_STATE", "REQUEST_ID", "SECURITY_HEADERS", "LineFormatter", "RequestLog", "configure_logging",
           "escaped", "internal_detail", "trimmed_traceback"]

log = logging.getLogger("scifi.requests")
errors = logging.getLogger("scifi.errors")

LOG_STATE = "scifi.log"
"""The scope key of a request's log state: handlers put the name of the error they answer with in it."""
TRACEBACK_FRAMES = 12
"""The frames of a traceback that its line keeps: the innermost ones."""
_MESSAGE_LENGTH = 500
REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)
"""The id of the request being served (None outside requests: the notifier's lines)."""
_REQUEST_ID = re.compile(rb"[A-Za-z0-9._~:/+=-]{1,128}")
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
    (b"referrer-policy", b"no-referrer"),
]
"""Headers of every answer: an API answer is never a page to render, frame or sniff, nor a referrer. No HSTS:
TLS is terminated by the reverse proxy in front, which sets it (docs/security.md)."""
_NO_STORE = (b"cache-control", b"no-store")
"""Also on every answer that does not say otherwise: answers hold a tenant's data, and no validator (ETag,
Last-Modified) is given that would make a cached copy safe to reuse."""

_CONTROLS = [*range(0x20), 0x7F, *range(0x80, 0xA0), 0x2028, 0x2029]
_CONTROL_ESCAPES = {code: f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" for code in _CONTROLS}
_CONTROL_ESCAPES.update({ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t"})
_ESCAPES = {**_CONTROL_ESCAPES, ord('"'): '\\"', ord("\\"): "\\\\"}
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def escaped(value: str, limit: int | None = None) -> str:
    """A value for a quoted field of a log line: quotes, backslashes and control characters escaped, and cut at
    `limit` characters."""
    if limit is not None and len(value) > limit:
        value = value[:limit] + "..."
    return value.translate(_ESCAPES)


def trimmed_traceback(exc: BaseException, frames: int = TRACEBACK_FRAMES) -> str:
    """The innermost frames of an exception's traceback on one line (a RecursionError has a thousand)."""
    summary = traceback.extract_tb(exc.__traceback__)
    kept = [f"{frame.filename}:{frame.lineno} in {frame.name}" for frame in summary[-frames:]]
    left_out = len(summary) - len(kept)
    return (f"({left_out} outer frames left out) " if left_out else "") + " > ".join(kept)


class LineFormatter(logging.Formatter):
    """Formats a record on one line: an exception becomes fields of it (error, message, trimmed traceback), and
    any control character that a message holds is escaped."""

    def format(self, record: logging.LogRecord) -> str:
        exc_info, record.exc_info, record.exc_text = record.exc_info, None, None
        try:
            line = super().format(record)
        finally:
            record.exc_info = exc_info
        if exc_info and exc_info[1] is not None:
            exc = exc_info[1]
            line += (f' error={type(exc).__name__} message="{escaped(str(exc), _MESSAGE_LENGTH)}" '
                     f'traceback="{escaped(trimmed_traceback(exc))}"')
        request_id = REQUEST_ID.get()
        if request_id is not None and "request_id=" not in line:
            line += f" request_id={request_id}"
        return line if _CONTROL.search(line) is None else line.translate(_CONTROL_ESCAPES)


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level.upper())
    formatter = LineFormatter("time=%(asctime)s level=%(levelname)s logger=%(name)s %(message)s")
    for handler in logging.getLogger().handlers:
        handler.setFormatter(formatter)


class RequestLog:
    """Logs each HTTP request once it is answered, and gives it an id (echoed as X-Request-Id, with the security
    headers). An exception that no handler took is answered here, with a 500 ProblemDetails, and logged once."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        given = headers.get(b"x-request-id", b"")
        request_id = given.decode("ascii") if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        REQUEST_ID.set(request_id)
        tenant = headers.get(b"ngsild-tenant", b"").decode("latin-1")
        started = time.perf_counter()
        state: dict[str, Any] = {"status": 500, "started": False}
        scope[LOG_STATE] = state
        answer_headers = [(b"x-request-id", request_id.encode("ascii")), *SECURITY_HEADERS]

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"], state["started"] = message["status"], True
                sent = message.get("headers", [])
                cache = [] if any(name.lower() == b"cache-control" for name, _ in sent) else [_NO_STORE]
                message["headers"] = [*sent, *answer_headers, *cache]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            errors.error('internal error method=%s path="%s" request_id=%s', escaped(scope["method"]),
                         escaped(scope["path"], _MESSAGE_LENGTH), escaped(request_id), exc_info=exc)
            state["error"] = "InternalError"
            if not state["started"]:
                await _internal_error(send_with_id, request_id)
        finally:
            if log.isEnabledFor(logging.INFO):
                error = f" error={state['error']}" if "error" in state else ""
                log.info(
                    'method=%s path="%s" status=%d%s ms=%.2f tenant="%s" request_id=%s', escaped(scope["method"]),
                    escaped(scope["path"], _MESSAGE_LENGTH), state["status"], error,
                    (time.perf_counter() - started) * 1000, escaped(tenant), escaped(request_id),
                )


async def _internal_error(send: Send, request_id: str) -> None:
    """Answers a request that failed before its response started: what failed is in the log, not in the answer."""
    problem = NgsiLdError(internal_detail(request_id)).problem()
    body = orjson.dumps(problem)
    await send({"type": "http.response.start", "status": 500,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def internal_detail(request_id: str | None) -> str:
    """The detail of an answer that the broker could not give: where to look, and nothing of the cause."""
    return f"The broker could not answer this request; its log tells why under request id {request_id}"

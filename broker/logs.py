"""Structured logs: one line per event, with its tenant and request id.

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
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ngsi_ld.errors import NgsiLdError

__all__ = ["LOG_STATE", "LineFormatter", "RequestLog", "configure_logging", "escaped", "trimmed_traceback"]

log = logging.getLogger("scifi.requests")
errors = logging.getLogger("scifi.errors")

LOG_STATE = "scifi.log"
"""The scope key of a request's log state: handlers put the name of the error they answer with in it."""
TRACEBACK_FRAMES = 12
"""The frames of a traceback that its line keeps: the innermost ones."""
_MESSAGE_LENGTH = 500

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
        return line if _CONTROL.search(line) is None else line.translate(_CONTROL_ESCAPES)


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level.upper())
    formatter = LineFormatter("time=%(asctime)s level=%(levelname)s logger=%(name)s %(message)s")
    for handler in logging.getLogger().handlers:
        handler.setFormatter(formatter)


class RequestLog:
    """Logs each HTTP request once it is answered, and gives it an id (echoed as X-Request-Id). An exception
    that no handler took is answered here, with a 500 ProblemDetails, and logged once."""

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
        state: dict[str, Any] = {"status": 500, "started": False}
        scope[LOG_STATE] = state

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"], state["started"] = message["status"], True
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode("latin-1"))]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            errors.error('internal error method=%s path="%s" request_id=%s', escaped(scope["method"]),
                         escaped(scope["path"], _MESSAGE_LENGTH), escaped(request_id), exc_info=exc)
            state["error"] = "InternalError"
            if not state["started"]:
                await _internal_error(send_with_id, exc)
        finally:
            if log.isEnabledFor(logging.INFO):
                error = f" error={state['error']}" if "error" in state else ""
                log.info(
                    'method=%s path="%s" status=%d%s ms=%.2f tenant="%s" request_id=%s', escaped(scope["method"]),
                    escaped(scope["path"], _MESSAGE_LENGTH), state["status"], error,
                    (time.perf_counter() - started) * 1000, escaped(tenant), escaped(request_id),
                )


async def _internal_error(send: Send, exc: Exception) -> None:
    """Answers a request that failed before its response started."""
    problem = NgsiLdError(f"{type(exc).__name__}: {str(exc)[:_MESSAGE_LENGTH]}").problem()
    body = orjson.dumps(problem)
    await send({"type": "http.response.start", "status": 500,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})

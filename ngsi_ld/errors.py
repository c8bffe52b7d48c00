"""The errors of the NGSI-LD API, each rendered as a ProblemDetails object (clause 5.5.2, 6.3.2).

    NgsiLdError (500 InternalError)
     ├── InvalidRequest (400)
     ├── BadRequestData (400)
     ├── ResourceNotFound (404)
     │    └── NonexistentTenant (404)
     ├── AlreadyExists (409)
     ├── OperationNotSupported (422)
     ├── TooManyResults (403)
     ├── TooComplexQuery (403)
     ├── LdContextNotAvailable (504 since v1.8.1; 503 before)
     ├── NotAcceptable (406)
     ├── UnsupportedMediaType (415)
     ├── LengthRequired (411)
     └── PayloadTooLarge (413)
"""

from __future__ import annotations

import json
import os
from typing import Any

__all__ = [
    "ERROR_TYPE_BASE",
    "AlreadyExists",
    "BadRequestData",
    "InvalidRequest",
    "LengthRequired",
    "LdContextNotAvailable",
    "NgsiLdError",
    "NonexistentTenant",
    "NotAcceptable",
    "OperationNotSupported",
    "PayloadTooLarge",
    "ResourceNotFound",
    "TooComplexQuery",
    "TooManyResults",
    "UnsupportedMediaType",
    "failure",
    "json_kind",
    "shown",
]

ERROR_TYPE_BASE = "https://uri.etsi.org/ngsi-ld/errors/"


class NgsiLdError(Exception):
    """An error the API answers with; `name` completes the spec's error type URI."""

    name = "InternalError"
    status = 500
    title = "Internal error"
    headers: dict[str, str] | None = None
    """Header fields the answer carries besides the body (WWW-Authenticate, say)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    @property
    def type_uri(self) -> str:
        return ERROR_TYPE_BASE + self.name

    def problem(self) -> dict[str, Any]:
        return {"type": self.type_uri, "title": self.title, "status": self.status, "detail": self.detail}


class InvalidRequest(NgsiLdError):
    name = "InvalidRequest"
    status = 400
    title = "Invalid request"


class BadRequestData(NgsiLdError):
    name = "BadRequestData"
    status = 400
    title = "Bad request data"


class ResourceNotFound(NgsiLdError):
    name = "ResourceNotFound"
    status = 404
    title = "Resource not found"


class NonexistentTenant(ResourceNotFound):
    name = "NonexistentTenant"
    title = "Nonexistent tenant"


class AlreadyExists(NgsiLdError):
    name = "AlreadyExists"
    status = 409
    title = "Already exists"


class OperationNotSupported(NgsiLdError):
    name = "OperationNotSupported"
    status = 422
    title = "Operation not supported"


class TooManyResults(NgsiLdError):
    name = "TooManyResults"
    status = 403
    title = "Too many results"


class TooComplexQuery(NgsiLdError):
    name = "TooComplexQuery"
    status = 403
    title = "Too complex query"


class LdContextNotAvailable(NgsiLdError):
    name = "LdContextNotAvailable"
    status = 504
    title = "@context not available"


class NotAcceptable(NgsiLdError):
    name = "NotAcceptable"
    status = 406
    title = "Not acceptable"


class UnsupportedMediaType(NgsiLdError):
    name = "UnsupportedMediaType"
    status = 415
    title = "Unsupported media type"


class LengthRequired(NgsiLdError):
    name = "LengthRequired"
    status = 411
    title = "Length required"


class PayloadTooLarge(NgsiLdError):
    name = "PayloadTooLarge"
    status = 413
    title = "Payload too large"


def shown(value: Any, limit: int = 80) -> str:
    """A value for an error message: as the JSON it was written in (not a Python repr), cut at `limit`."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = str(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def json_kind(value: Any) -> str:
    """What kind of JSON value this is, in words: 'an object', 'a string', 'null'..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"{json.dumps(value)} (a boolean)"
    kinds = ((dict, "an object"), (list, "an array"), (str, "a string"), ((int, float), "a number"))
    kind = next((words for types, words in kinds if isinstance(value, types)), "a value")
    return f"{kind}, {shown(value, 40)}" if kind != "an object" else kind


def failure(exc: BaseException) -> str:
    """Why a connection failed, for people: the system's words for its error number, else the exception's own
    message, never its Python repr (`Connect call failed ('127.0.0.1', 9)`)."""
    if isinstance(exc, TimeoutError):
        return "timed out: no answer in time"
    if isinstance(exc, OSError) and isinstance(exc.errno, int) and exc.errno > 0:
        text = str(exc).strip()
        where = text.split(" [", 1)[0] if " [" in text and not text.startswith("[") else ""
        return f"{where}: {os.strerror(exc.errno)}" if where else os.strerror(exc.errno)
    return str(exc).strip() or "the connection failed"

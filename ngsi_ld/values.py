"""Checks of the primitive values NGSI-LD names: URIs, DateTimes, names of types and attributes, scopes."""

from __future__ import annotations

import re
from datetime import datetime, timezone

__all__ = ["is_datetime", "is_name", "is_scope", "is_uri", "utc_now"]

_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:[^\s<>\"{}|\\^`]+")
_SCOPE = re.compile(r"/[^/#+\s]+(/[^/#+\s]+)*")
# Characters that the query languages use as syntax, or that no JSON-LD term may hold (clause 4.6.2).
_NAME_FORBIDDEN = re.compile(r"[\s<>\"'=;()\[\]{}|\\^`&?,]")


def is_uri(value: object) -> bool:
    """Whether `value` is an absolute URI (a scheme followed by ':' and at least one character)."""
    return isinstance(value, str) and _URI.fullmatch(value) is not None


def is_datetime(value: object) -> bool:
    """Whether `value` is an ISO 8601 date-time string with a time part."""
    if not isinstance(value, str) or "T" not in value:
        return False
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def is_name(value: object) -> bool:
    """Whether `value` may name an entity type or an attribute (a term or an IRI)."""
    return isinstance(value, str) and value != "" and _NAME_FORBIDDEN.search(value) is None


def is_scope(value: object) -> bool:
    """Whether `value` is a scope path such as /Madrid/Gardens (clause 4.18)."""
    return isinstance(value, str) and _SCOPE.fullmatch(value) is not None


def utc_now() -> str:
    """The current time as the DateTime string the broker writes in system attributes."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

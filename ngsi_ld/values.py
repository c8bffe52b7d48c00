"""Checks of the primitive values NGSI-LD names: URIs, DateTimes, names of types and attributes, scopes."""

from __future__ import annotations

import re
from datetime import UTC, datetime

__all__ = ["DATETIME_RULE", "is_datetime", "is_name", "is_scope", "is_uri", "normalized_datetime", "utc_now"]

_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:[^\s<>\"{}|\\^`]+")
# Clause 4.6.3: YYYY-MM-DDThh:mm:ss[.ffffff]Z, every component present, UTC only; requests may use ',' for '.'.
DATETIME_RULE = ("a DateTime is in UTC and ends with Z, such as 2026-11-27T08:00:00Z or 2026-11-27T08:00:00.250Z "
                 "(no time zone offset such as +01:00)")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:[.,]\d{1,6})?Z")
# Clause 4.6.2: name = unicodeLetter *(unicodeLetter / unicodeNumber / "_"), optionally prefix:name.
_TERM = r"[^\W\d_]\w*"
_NAME = re.compile(rf"(?:{_TERM}:)?{_TERM}")
# Clause 4.18: Scope = ["/"] ScopeLevel *("/" ScopeLevel), a ScopeLevel being a name as above.
_SCOPE = re.compile(rf"/?{_TERM}(?:/{_TERM})*")


def is_uri(value: object) -> bool:
    """Whether `value` is an absolute URI (a scheme followed by ':' and at least one character)."""
    return isinstance(value, str) and _URI.fullmatch(value) is not None


def is_datetime(value: object) -> bool:
    """Whether `value` is a DateTime of clause 4.6.3, such as 2024-03-01T12:00:00.5Z."""
    if not isinstance(value, str) or _DATETIME.fullmatch(value) is None:
        return False
    try:
        datetime.fromisoformat(normalized_datetime(value)[:19])
    except ValueError:
        return False
    return True


def normalized_datetime(value: str) -> str:
    """A DateTime with a decimal point, the separator responses use (requests may give a comma)."""
    return value.replace(",", ".")


def is_name(value: object) -> bool:
    """Whether `value` may name an entity type or an attribute: a term of clause 4.6.2, or an IRI."""
    return isinstance(value, str) and (_NAME.fullmatch(value) is not None or is_uri(value))


def is_scope(value: object) -> bool:
    """Whether `value` is a scope path such as /Madrid/Gardens (clause 4.18)."""
    return isinstance(value, str) and _SCOPE.fullmatch(value) is not None


def utc_now() -> str:
    """The current time as the DateTime string the broker writes in system attributes."""
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")  # strftime: 2.5x the time

"""The values a query compares: reading literals of the q language and normalizing DateTimes, Dates, Times.

Stored values and query literals go through the same functions, so that the Python evaluator and the
store index compare the very same strings.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from typing import Any

__all__ = [
    "comparable_number", "literal_kinds", "normalized_date", "normalized_datetime", "normalized_time", "scalar_kinds",
]

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_NUMBER = re.compile(r"-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?")
_NORMALIZED_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIME = re.compile(r"\d{2}:\d{2}:\d{2}([.,]\d{1,6})?Z?")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}([.,]\d{1,6})?(Z|[+-]\d{2}:\d{2})")


def normalized_datetime(text: str) -> str | None:
    """A DateTime as a fixed-width UTC string (so that text order is time order), None if it is none."""
    if _NORMALIZED_DATETIME.fullmatch(text):
        return text  # already in this form, as every system timestamp the broker writes is
    if not _DATETIME.fullmatch(text):
        return None
    try:
        moment = datetime.fromisoformat(text.replace(",", "."))
    except ValueError:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def normalized_date(text: str) -> str | None:
    if not _DATE.fullmatch(text):
        return None
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        return None


def normalized_time(text: str) -> str | None:
    if not _TIME.fullmatch(text):
        return None
    try:
        return time.fromisoformat(text.rstrip("Z").replace(",", ".")).strftime("%H:%M:%S.%f")
    except ValueError:
        return None


def comparable_number(value: int | float) -> int | float:
    """A number as queries compare it: integers beyond 64 bits (which JSON parsers give up to 2**64 - 1, but
    which neither SQLite nor MongoDB hold) become the nearest double, in the stored value and the literal alike."""
    if isinstance(value, int) and not _INT64_MIN <= value <= _INT64_MAX:
        return float(value)
    return value


def scalar_kinds(value: Any) -> list[tuple[str, Any]]:
    """The (kind, comparable value) pairs a stored scalar offers to a query."""
    if isinstance(value, bool):
        return [("bool", value)]
    if isinstance(value, (int, float)):
        return [("number", comparable_number(value))]
    if not isinstance(value, str):
        return []
    kinds: list[tuple[str, Any]] = [("string", value)]
    for kind, normalize in (("datetime", normalized_datetime), ("date", normalized_date), ("time", normalized_time)):
        normalized = normalize(value)
        if normalized is not None:
            kinds.append((kind, normalized))
    return kinds


def literal_kinds(text: str) -> tuple[str, Any] | None:
    """The kind and value of an unquoted literal of the q language, None when it is not one."""
    if text in ("true", "false"):
        return "bool", text == "true"
    if _NUMBER.fullmatch(text):
        if any(c in text for c in ".eE") or len(text) > len(str(_INT64_MIN)):
            return "number", float(text)  # beyond 64 bits, an integer is a double (and never too long to read)
        return "number", comparable_number(int(text))
    for kind, normalize in (("datetime", normalized_datetime), ("date", normalized_date), ("time", normalized_time)):
        normalized = normalize(text)
        if normalized is not None:
            return kind, normalized
    return None

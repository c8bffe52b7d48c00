"""The limits of what one request may hold, checked while its payload or its query is read.

The checks run inside the walks that reading already makes (the parsers, the attribute reader), so they cost a
comparison each. The broker sets them once per process from its settings (`configure`); the defaults are
generous, so that large but legal input passes:

    configure(Limits(value_depth=64, query_terms=2000))

Exceeding a limit is an error that names the limit and its setting (`max_<name>` of the broker): a
PayloadTooLarge (413) for a body holding too many or too long things, a BadRequestData (400) otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from ngsi_ld.errors import BadRequestData, PayloadTooLarge

__all__ = ["LIMITS", "Limits", "configure", "exceeded"]


@dataclass(slots=True)
class Limits:
    value_depth: int = 64
    """Deepest nesting of JSON objects and arrays in the value of an attribute."""
    attribute_depth: int = 16
    """Deepest nesting of sub-attributes (an attribute's sub-attribute is at depth 1)."""
    attributes: int = 1000
    """Most attributes of an entity fragment, or sub-attributes of an attribute, in one request."""
    id_length: int = 2048
    """Longest entity id (characters)."""
    name_length: int = 512
    """Longest name of a type or an attribute (characters), as given or as an IRI."""
    string_length: int = 1_000_000
    """Longest string in a value (characters)."""
    query_terms: int = 2000
    """Most terms (comparisons, scopes) in a q or scopeQ expression; a value list counts as one term."""
    query_depth: int = 32
    """Deepest nesting of parentheses in a q or scopeQ expression."""
    selectors: int = 1000
    """Most entity selectors in a query or a subscription."""
    order_keys: int = 15
    """Most keys of an orderBy (MongoDB sorts by at most 32 fields, and a key takes two)."""
    regex_length: int = 1000
    """Longest regular expression (idPattern, `~=`), in characters."""


LIMITS = Limits()
"""The limits in force in this process."""


def configure(limits: Limits) -> None:
    """Puts `limits` in force in this process."""
    for limit in fields(Limits):
        setattr(LIMITS, limit.name, getattr(limits, limit.name))


def exceeded(what: str, name: str, *, too_large: bool = False) -> BadRequestData | PayloadTooLarge:
    """The error of a request where `what` exceeds the limit `name` (a field of Limits)."""
    detail = f"{what}: the limit max_{name} is {getattr(LIMITS, name)}"
    return PayloadTooLarge(detail) if too_large else BadRequestData(detail)

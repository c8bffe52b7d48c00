"""Nodes of the parsed query languages: q (clause 4.9) and scopeQ (clause 4.19).

Attribute names in paths are expanded IRIs; a path's key (`Path.key`) is the same string under which the
store indexes the values of that path, so every consumer of the AST speaks of a path in one way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "And", "Compare", "Exists", "Literal", "Node", "Not", "Or", "Path", "Pattern", "Range", "ScopeMatch",
    "SEPARATOR",
]

SEPARATOR = "|"
"""Joins the names of a path in its key; no attribute name or IRI may hold it."""


@dataclass(frozen=True, slots=True)
class Path:
    """An attribute, then sub-attributes or a metadata member (observedAt...), then a trailing member path."""

    names: tuple[str, ...]
    members: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        key = SEPARATOR.join(self.names)
        return f"{key}[{'.'.join(self.members)}]" if self.members else key

    @property
    def attribute(self) -> str:
        return self.names[0]


@dataclass(frozen=True, slots=True)
class Literal:
    """A value of a query: `kind` is number, string, bool, datetime, date or time (values normalized)."""

    kind: str
    value: Any
    vocab: str | None = None
    """For a string: its expansion by the @context, which a VocabProperty value is compared with."""


@dataclass(frozen=True, slots=True)
class Exists:
    path: Path


@dataclass(frozen=True, slots=True)
class Compare:
    """path op value; `values` has several items only for == and != with a value list."""

    path: Path
    op: str
    values: tuple[Literal, ...]


@dataclass(frozen=True, slots=True)
class Range:
    path: Path
    low: Literal
    high: Literal


@dataclass(frozen=True, slots=True)
class Pattern:
    path: Path
    regex: str


@dataclass(frozen=True, slots=True)
class ScopeMatch:
    """One scope expression: /a/b (exactly), /a/+/c (one level any), /a/# (a and below), /# (any scope)."""

    levels: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Not:
    """Holds where `item` does not, among the entities where `requires` holds (all entities if None)."""

    item: Node
    requires: Node | None = None


@dataclass(frozen=True, slots=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple[Node, ...]


Node = Exists | Compare | Range | Pattern | ScopeMatch | Not | And | Or

"""The checks: each a coroutine with a stable id, the clause of ETSI GS CIM 009 v1.8.1 it checks and a one-line
statement, registered by `@check` in the module of its area.

    ConformanceIssue
     ├── CheckFailed   the broker answered other than the clause requires (the check fails)
     └── NotOffered    the broker does not offer an optional feature the check needs
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conformance.trial import Trial

__all__ = ["AREAS", "Check", "CheckFailed", "NotOffered", "REGISTRY", "check", "register", "selected"]

AREAS = {
    "entities": "Entities and attributes",
    "representations": "Representations",
    "context": "@context handling",
    "errors": "Content negotiation and errors",
    "query": "Query",
    "discovery": "Discovery",
    "batch": "Batch operations",
    "subscriptions": "Subscriptions and notifications",
    "tenancy": "Tenancy",
    "optional": "Optional features",
}
"""The areas of MIM1, in the order they run and are reported; the first segment of each check id names one."""


class ConformanceIssue(Exception):
    pass


class CheckFailed(ConformanceIssue):
    """What the clause requires, and (in `observed`) what came instead."""

    def __init__(self, requirement: str, observed: str = "") -> None:
        super().__init__(requirement)
        self.requirement = requirement
        self.observed = observed


class NotOffered(ConformanceIssue):
    """The optional feature the check needs, and how the broker said it does not offer it."""


CheckFunction = Callable[["Trial"], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Check:
    id: str
    clause: str
    statement: str
    writes: bool
    run: CheckFunction

    @property
    def area(self) -> str:
        return self.id.split(".", 1)[0]


REGISTRY: dict[str, Check] = {}


def check(check_id: str, clause: str, statement: str, *, writes: bool = True) -> Callable[[CheckFunction],
                                                                                          CheckFunction]:
    """Registers the decorated coroutine as the check `check_id`; `writes` says whether it creates data."""
    assert check_id.split(".", 1)[0] in AREAS, check_id
    assert check_id not in REGISTRY, f"two checks named {check_id}"

    def register(function: CheckFunction) -> CheckFunction:
        REGISTRY[check_id] = Check(check_id, clause, statement, writes, function)
        return function
    return register


def register(check_id: str, clause: str, statement: str, function: CheckFunction, *, writes: bool = True) -> None:
    """Registers a check made from a table (a closure), as `@check` does for a function."""
    check(check_id, clause, statement, writes=writes)(function)


def selected(areas: list[str] | None, read_only: bool) -> list[Check]:
    """The registered checks to run, area by area in the order of AREAS."""
    import conformance.mim1  # noqa: F401  (registers the checks)

    order = list(AREAS)
    chosen = [c for c in REGISTRY.values() if (areas is None or c.area in areas) and not (read_only and c.writes)]
    return sorted(chosen, key=lambda c: order.index(c.area))

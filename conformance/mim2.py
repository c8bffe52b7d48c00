"""MIM2: the broker's entities checked against their Smart Data Models, type by type, a page at a time.

Only counts, the most frequent violations and the violations of (at most NONCOMPLIANT_KEPT) non-compliant
entities per type are kept, so the run holds one page of entities at a time, whatever the broker holds."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from conformance.client import BrokerClient
from smart_data_models.cli import BrokenTree, Catalogue, Item, Unresolved, check

__all__ = ["Mim2Report", "TypeReport", "check_data"]

PAGE = 100
NONCOMPLIANT_KEPT = 200
"""Non-compliant entities of a type whose violations the report lists; the others are only counted."""
TOP_VIOLATIONS = 5
DISTINCT_VIOLATIONS = 1000
"""Distinct violation texts counted per type; the others are counted together (a text may hold a value)."""
OTHER = "(other violations)"


@dataclass
class TypeReport:
    type: str
    model: str | None
    """The Smart Data Model ('dataModel.Parking/OffStreetParking'); None when the type is not one."""
    checked: int = 0
    compliant: int = 0
    violations: Counter[str] = field(default_factory=Counter)
    noncompliant: list[dict[str, Any]] = field(default_factory=list)
    """Each non-compliant entity kept: {"id", "violations": [{"pointer", "message"}]}."""

    @property
    def share(self) -> float:
        return self.compliant / self.checked if self.checked else 1.0

    def as_json(self) -> dict[str, Any]:
        return {"type": self.type, "model": self.model, "checked": self.checked, "compliant": self.compliant,
                "noncompliant": self.checked - self.compliant,
                "frequentViolations": [{"violation": text, "entities": count}
                                       for text, count in self.violations.most_common(TOP_VIOLATIONS)],
                "noncompliantEntities": self.noncompliant,
                "noncompliantNotListed": max(0, self.checked - self.compliant - len(self.noncompliant))}


@dataclass
class Mim2Report:
    types: list[TypeReport] = field(default_factory=list)
    error: str | None = None
    """Why the data could not be checked to the end (the broker stopped answering, a broken model tree)."""

    @property
    def models(self) -> list[TypeReport]:
        return [report for report in self.types if report.model is not None]

    @property
    def not_models(self) -> list[TypeReport]:
        return [report for report in self.types if report.model is None]

    @property
    def passed(self) -> bool:
        return self.error is None and all(r.compliant == r.checked for r in self.models)

    def as_json(self) -> dict[str, Any]:
        checked = sum(r.checked for r in self.models)
        return {"checked": checked, "compliant": sum(r.compliant for r in self.models), "error": self.error,
                "types": [r.as_json() for r in self.models],
                "notSmartDataModels": [{"type": r.type, "entities": r.checked} for r in self.not_models]}


async def broker_types(client: BrokerClient) -> list[str]:
    reply, exchange = await client.request("GET", "/types")
    if reply is None or reply.status != 200:
        raise RuntimeError(f"GET /types: {exchange.error or exchange.status}")
    body = reply.json()
    return [name for name in (body or {}).get("typeList", []) if isinstance(name, str)]


async def pages(client: BrokerClient, entity_type: str) -> AsyncIterator[list[dict[str, Any]]]:
    """The entities of a type, up to PAGE at a time (offset paging, in the broker's order), until a page is empty:
    a broker may answer fewer than asked for (a maximum page size of its own)."""
    offset = 0
    while True:
        params = {"type": entity_type, "limit": str(PAGE), "offset": str(offset)}
        reply, exchange = await client.request("GET", "/entities", params=params)
        if reply is None or reply.status != 200 or not isinstance(reply.json(), list):
            raise RuntimeError(f"GET /entities?type={entity_type}&offset={offset}: "
                               f"{exchange.error or exchange.status} {exchange.response_body[:200]}")
        page = [entity for entity in reply.json() if isinstance(entity, dict)]
        if not page:
            return
        yield page
        offset += len(page)


async def count_of(client: BrokerClient, entity_type: str) -> int:
    reply, _ = await client.request("GET", "/entities", params={"type": entity_type, "count": "true", "limit": "0"})
    try:
        return int((reply.header("ngsild-results-count") if reply else None) or 0)
    except ValueError:
        return 0


async def check_data(client: BrokerClient, catalogue: Catalogue, types: list[str] | None,
                     progress: Callable[[str, int], None] | None = None) -> Mim2Report:
    """Every entity of `types` (all the broker's types when None) checked against its model."""
    report = Mim2Report()
    try:
        for entity_type in types or await broker_types(client):
            report.types.append(await _check_type(client, catalogue, entity_type, progress))
    except (RuntimeError, BrokenTree) as exc:
        report.error = str(exc)
    return report


async def _check_type(client: BrokerClient, catalogue: Catalogue, entity_type: str,
                      progress: Callable[[str, int], None] | None) -> TypeReport:
    try:
        model = catalogue.model_for({"type": entity_type})
    except Unresolved:
        return TypeReport(entity_type, None, checked=await count_of(client, entity_type))
    report = TypeReport(entity_type, model.name)
    async for page in pages(client, entity_type):
        for entity in page:
            _tally(report, entity, catalogue, model.terms.compact)
        if progress is not None:
            progress(entity_type, report.checked)
    return report


def _tally(report: TypeReport, entity: dict[str, Any], catalogue: Catalogue, compact: Callable[[str], str]) -> None:
    named = {name if name in ("id", "type", "@context") else compact(name): value for name, value in entity.items()}
    entity_id = str(entity.get("id"))
    result = check(Item("broker", report.checked, None, entity_id, named), catalogue, "normalized")
    report.checked += 1
    if result.valid:
        report.compliant += 1
        return
    listed = [{"pointer": v.pointer, "message": v.message} for v in result.violations]
    report.violations.update(_counted(report.violations, {f"{v['pointer'] or '(entity)'}: {v['message']}"
                                                          for v in listed}))
    if len(report.noncompliant) < NONCOMPLIANT_KEPT:
        report.noncompliant.append({"id": entity_id, "violations": listed})


def _counted(counted: Counter[str], texts: set[str]) -> set[str]:
    """The keys under which an entity's violation texts are counted: each text, until DISTINCT_VIOLATIONS texts
    are known; then a new text is counted as OTHER (once per entity)."""
    room = DISTINCT_VIOLATIONS - len(counted)
    keys = set()
    for text in sorted(texts):
        if text in counted or room > 0:
            room -= text not in counted
            keys.add(text)
        else:
            keys.add(OTHER)
    return keys

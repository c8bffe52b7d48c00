"""The outcome of a run (MIM1 results, MIM2 report) and its JSON form, which the other reports read too."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from conformance.mim2 import Mim2Report
from conformance.registry import AREAS
from conformance.runner import FAILED, NOT_OFFERED, PASSED, Result

__all__ = ["Report", "json_report"]


@dataclass
class Report:
    broker: str
    tenant: str | None
    started: str
    """UTC, ISO 8601."""
    seconds: float
    results: list[Result]
    mim2: Mim2Report | None
    read_only: bool = False
    prefix: str | None = None
    """What the ids, types and tenants of the data the checks made contain."""

    def count(self, outcome: str) -> int:
        return sum(result.outcome == outcome for result in self.results)

    @property
    def passed(self) -> bool:
        return self.count(FAILED) == 0 and (self.mim2 is None or self.mim2.passed)

    def by_area(self) -> dict[str, list[Result]]:
        groups: dict[str, list[Result]] = {area: [] for area in AREAS}
        for result in self.results:
            groups[result.check.area].append(result)
        return {area: results for area, results in groups.items() if results}

    def area_scores(self) -> dict[str, dict[str, int]]:
        """Per area: passed, failed, not offered."""
        return {area: {outcome: sum(r.outcome == outcome for r in results) for outcome in (PASSED, FAILED, NOT_OFFERED)}
                for area, results in self.by_area().items()}


def json_report(report: Report) -> bytes:
    document: dict[str, Any] = {
        "broker": report.broker, "tenant": report.tenant, "started": report.started,
        "seconds": round(report.seconds, 2), "readOnly": report.read_only, "runPrefix": report.prefix,
        "passed": report.passed,
        "mim1": None if not report.results else {
            "checks": len(report.results), "passed": report.count(PASSED), "failed": report.count(FAILED),
            "notOffered": report.count(NOT_OFFERED),
            "areas": {area: {"title": AREAS[area], **score} for area, score in report.area_scores().items()},
            "results": [result.as_json() for result in report.results]},
        "mim2": None if report.mim2 is None else report.mim2.as_json(),
    }
    return orjson.dumps(document, option=orjson.OPT_INDENT_2)

"""Runs the checks one after the other, each with its own Trial, and keeps the outcome and its evidence."""

from __future__ import annotations

import asyncio
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from conformance.client import Exchange
from conformance.registry import Check, CheckFailed, NotOffered
from conformance.trial import Session, Trial

__all__ = ["FAILED", "NOT_OFFERED", "PASSED", "Result", "run_checks", "sweep"]

PASSED, FAILED, NOT_OFFERED = "passed", "failed", "not offered"
EXCHANGES_KEPT = 6
"""The last exchanges of a check kept as evidence."""


@dataclass(slots=True)
class Result:
    check: Check
    outcome: str
    requirement: str = ""
    observed: str = ""
    exchanges: list[Exchange] = field(default_factory=list)
    seconds: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return {"id": self.check.id, "area": self.check.area, "clause": self.check.clause,
                "statement": self.check.statement, "outcome": self.outcome, "requirement": self.requirement,
                "observed": self.observed, "seconds": round(self.seconds, 3),
                "exchanges": [exchange.as_json() for exchange in self.exchanges]}


async def run_check(check: Check, session: Session, limit: float) -> Result:
    trial = Trial(session)
    started = time.monotonic()
    try:
        await asyncio.wait_for(check.run(trial), limit)
        result = Result(check, PASSED, exchanges=trial.exchanges[-EXCHANGES_KEPT:])
    except CheckFailed as exc:
        result = Result(check, FAILED, exc.requirement, exc.observed, trial.exchanges[-EXCHANGES_KEPT:])
    except NotOffered as exc:
        result = Result(check, NOT_OFFERED, "", str(exc), trial.exchanges[-2:])
    except TimeoutError:
        result = Result(check, FAILED, f"{check.clause}: {check.statement}", f"no outcome within {limit:.0f} s",
                        trial.exchanges[-EXCHANGES_KEPT:])
    except Exception as exc:  # an answer of a shape the check could not read: the broker's answer is wrong
        where = traceback.extract_tb(exc.__traceback__)[-1]
        result = Result(check, FAILED, f"{check.clause}: {check.statement}",
                        f"unexpected answer ({type(exc).__name__}: {exc} at {where.name}:{where.lineno})",
                        trial.exchanges[-EXCHANGES_KEPT:])
    finally:
        await trial.clean()
    result.seconds = time.monotonic() - started
    return result


async def run_checks(checks: list[Check], session: Session, limit: float,
                     progress: Callable[[Result], None] | None = None) -> list[Result]:
    """Every check in order; `progress` is told of each result."""
    results = []
    for check in checks:
        result = await run_check(check, session, limit)
        results.append(result)
        if progress is not None:
            progress(result)
    return results


async def sweep(session: Session) -> None:
    """Removes the data the checks shared, then any entity of the run's types left behind (by a check cut
    short, or a broker that did not delete), in the default tenant and the run's own."""
    for path, tenant in reversed(session.leftovers):
        await session.client.request("DELETE", path, tenant=tenant)
    session.leftovers.clear()
    for tenant in (None, session.tenant("a"), session.tenant("b")):
        await _sweep_tenant(session, tenant)


async def _sweep_tenant(session: Session, tenant: str | None) -> None:
    client = session.client
    reply, _ = await client.request("GET", "/types", tenant=tenant)
    body = reply.json() if reply is not None and reply.status == 200 else None
    types = [name for name in (body or {}).get("typeList", []) if isinstance(name, str)
             and name.startswith(session.type(""))] if isinstance(body, dict) else []
    for entity_type in types:
        found, _ = await client.request("GET", "/entities", params={"type": entity_type, "limit": "100"},
                                        tenant=tenant)
        entities = found.json() if found is not None and found.status == 200 else None
        ids = [e["id"] for e in entities or [] if isinstance(e, dict) and session.prefix in str(e.get("id"))]
        if ids:
            await client.request("POST", "/entityOperations/delete", json=ids, tenant=tenant)

"""The copy itself: page by page from a source to a target broker, each page rewritten by the rules, compared
with what the target holds, and what differs written in one batch upsert.

Per page: learn which relationship objects are entities of the copy (asked of the source, remembered), rewrite
the entities, validate them (`--validate`), read the entities of the same ids from the target, and upsert
those that are missing or differ (system attributes aside). So a second run writes nothing, and a run that
was stopped and is run again rewrites at most the page it was stopped in. A page is planned while the batch
of the one before is being written; the state file is saved once a batch is written. Only a few pages (the
one written, the one planned, the one read ahead) are in memory at a time.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from replication.client import Broker
from replication.compare import same_entity
from replication.errors import UsageError
from replication.report import Report, TypeCounts
from replication.rules import Rewritten, Rules, relationship_objects
from replication.sources import Membership, Source, without_system
from replication.state import State, Tally

__all__ = ["EntityValidator", "Job", "run_copy"]


class EntityValidator:
    """Checks entities against their Smart Data Models (the validator of `scifi validate`), from a local
    tree of the models; `stop` makes the first invalid entity stop the copy, else it is skipped."""

    def __init__(self, tree: Path, stop: bool) -> None:
        from smart_data_models.cli import Catalogue

        if not tree.is_dir() or not any(tree.glob("dataModel.*/*/schema.json")):
            raise UsageError(f"--sdm-dir {tree}: not a tree of the Smart Data Models (no dataModel.*/<Model>/"
                             "schema.json)")
        self.catalogue = Catalogue(tree)
        self.stop = stop

    def violations(self, entity: dict[str, Any]) -> list[str]:
        from smart_data_models.cli import BrokenTree, Item, check

        try:
            result = check(Item("copy", 0, None, entity["id"], entity), self.catalogue, "normalized")
        except BrokenTree as exc:
            raise UsageError(f"the Smart Data Models tree is broken or incomplete: {exc}") from exc
        return [f"{violation.pointer or '(entity)'} {violation.message}" for violation in result.violations]


class InvalidEntity(UsageError):
    """An entity that breaks its model, with `--on-invalid stop`."""


@dataclass
class Job:
    source: Source
    target: Broker
    types: list[str]
    rules: Rules
    state: State
    report: Report
    batch_size: int = 500
    dry_run: bool = False
    subscriptions: bool = False
    validator: EntityValidator | None = None


async def run_copy(job: Job) -> Tally:
    """Copies every type not done yet, then the subscriptions; the state is saved as the copy goes."""
    membership = Membership(job.source)
    tally = job.state.tally
    for entity_type in job.types:
        if entity_type not in job.state.done:
            await _copy_type(job, entity_type, membership, tally)
    if job.subscriptions and not job.state.subscriptions_done:
        await _copy_subscriptions(job, membership, tally)
        if not job.dry_run:
            job.state.subscriptions_done = True
            job.state.save()
    return tally


async def _copy_type(job: Job, entity_type: str, membership: Membership, tally: Tally) -> None:
    """The pages of one type; a page is planned (rewritten, compared) while the one before is being written."""
    total = await job.source.count(entity_type)
    offset = job.state.offsets.get(entity_type, 0)
    counts = job.report.start(entity_type, total, offset)
    writing: asyncio.Future[None] | None = None
    try:
        async for page in job.source.pages(entity_type, offset, job.batch_size, total):
            writes, held = await _plan_page(job, entity_type, page, membership, counts, tally)
            if writing is not None:
                await writing
                _save_offset(job, entity_type, offset)
            offset += len(page)
            writing = asyncio.ensure_future(_write_page(job, writes, held, counts, tally))
            job.report.advance(entity_type, len(page))
        if writing is not None:
            await writing
            _save_offset(job, entity_type, offset)
    finally:
        if writing is not None and not writing.done():
            writing.cancel()
        elif writing is not None and not writing.cancelled():
            writing.exception()  # read: a write that failed while the next page failed too is not logged
    job.report.finish(entity_type)
    if not job.dry_run:
        job.state.done.append(entity_type)
        job.state.save()


def _save_offset(job: Job, entity_type: str, offset: int) -> None:
    """Every entity before `offset` is written."""
    if not job.dry_run:
        job.state.offsets[entity_type] = offset
        job.state.save()


async def _plan_page(job: Job, entity_type: str, page: list[dict[str, Any]], membership: Membership,
                     counts: TypeCounts, tally: Tally) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The entities of the page to write (rewritten, missing in the target or different there), and those of
    their ids that the target holds."""
    await membership.learn((target for entity in page for target in relationship_objects(entity)),
                           (entity["id"] for entity in page))
    wanted: list[dict[str, Any]] = []
    for entity in page:
        rewritten = job.rules.entity(entity, membership)
        _note_rewrites(entity["id"], rewritten, counts, tally)
        if _valid(job, rewritten.entity, counts, tally):
            wanted.append(rewritten.entity)
    held = await job.target.entities(entity_type, [entity["id"] for entity in wanted])
    writes: list[dict[str, Any]] = []
    for entity in wanted:
        if same_entity(entity, held.get(entity["id"])):
            counts.unchanged += 1
            tally.unchanged += 1
        else:
            writes.append(entity)
    return writes, held


async def _write_page(job: Job, writes: list[dict[str, Any]], held: dict[str, Any], counts: TypeCounts,
                      tally: Tally) -> None:
    if job.dry_run:
        _count_written(counts, tally, [entity["id"] for entity in writes], held)
        return
    if writes:
        answer = await job.target.upsert(writes)
        _count_written(counts, tally, answer.success, held)
        for entity_id, reason in answer.errors.items():
            counts.failed += 1
            tally.fail(entity_id, reason)


def _note_rewrites(old_id: str, rewritten: Rewritten, counts: TypeCounts, tally: Tally) -> None:
    counts.sample_id(old_id, rewritten.entity["id"])
    for path, old, new in rewritten.relationships:
        counts.sample_relationship(rewritten.entity["id"], path, old, new)
    for path, target in rewritten.outside:
        tally.point_outside(rewritten.entity["id"], path, target)


def _valid(job: Job, entity: dict[str, Any], counts: TypeCounts, tally: Tally) -> bool:
    if job.validator is None:
        return True
    violations = job.validator.violations(entity)
    if not violations:
        return True
    if job.validator.stop:
        raise InvalidEntity(f"{entity['id']} breaks its Smart Data Model: {'; '.join(violations[:3])} (the copy "
                            "stopped here; --on-invalid skip leaves such entities out)")
    counts.failed += 1
    tally.fail(entity["id"], "breaks its Smart Data Model: " + "; ".join(violations[:3]))
    return False


def _count_written(counts: TypeCounts, tally: Tally, ids: list[str], held: dict[str, Any]) -> None:
    for entity_id in ids:
        if entity_id in held:
            counts.updated += 1
            tally.updated += 1
        else:
            counts.created += 1
            tally.created += 1


async def _copy_subscriptions(job: Job, membership: Membership, tally: Tally) -> None:
    """Creates the subscriptions the target lacks, and replaces (delete, create) those that differ."""
    subscriptions = await job.source.subscriptions()
    await membership.learn(selector["id"] for item in subscriptions for selector in item.get("entities") or []
                           if isinstance(selector, dict) and isinstance(selector.get("id"), str))
    counts = tally.subscriptions
    for original in subscriptions:
        subscription = job.rules.subscription(original, membership)
        held = await job.target.subscription(subscription["id"]) if "id" in subscription else None
        if held is not None and _same_subscription(subscription, held):
            counts["unchanged"] += 1
            continue
        outcome = "updated" if held is not None else "created"
        if job.dry_run:
            counts[outcome] += 1
            continue
        if held is not None:
            await job.target.delete_subscription(subscription["id"])
        reason = await job.target.create_subscription(subscription)
        if reason is None:
            counts[outcome] += 1
        else:
            counts["failed"] += 1
            tally.fail(str(subscription.get("id")), f"subscription refused ({reason})")


def _same_subscription(wanted: dict[str, Any], held: dict[str, Any]) -> bool:
    return without_system(wanted) == without_system(held)

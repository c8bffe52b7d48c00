"""What a copy tells its user: a progress bar per type on a terminal (plain lines otherwise), the plan of a dry
run (counts per type, samples of rewritten ids and relationships), and the summary at the end."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, TextIO

from replication.state import Tally

__all__ = ["Report", "TypeCounts", "summary_json"]

SAMPLES = 3
"""Rewritten ids and relationships shown per type in a plan."""
_BAR = 30
_PLAIN_EVERY = 2.0
"""Seconds between two plain progress lines of one type."""


@dataclass(slots=True)
class TypeCounts:
    total: int
    done: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    ids: list[tuple[str, str]] = field(default_factory=list)
    relationships: list[tuple[str, str, str, str]] = field(default_factory=list)

    def sample_id(self, old: str, new: str) -> None:
        if len(self.ids) < SAMPLES and old != new:
            self.ids.append((old, new))

    def sample_relationship(self, entity_id: str, path: str, old: str, new: str) -> None:
        if len(self.relationships) < SAMPLES:
            self.relationships.append((entity_id, path, old, new))


class Report:
    """Progress on `progress` (a bar when it is a terminal), the plan and summary on `out`."""

    def __init__(self, out: TextIO, progress: TextIO, *, dry_run: bool = False, quiet: bool = False,
                 exporting: bool = False) -> None:
        self.out = out
        self.exporting = exporting
        self.progress = progress
        self.bar = progress.isatty()
        self.dry_run = dry_run
        self.quiet = quiet
        self.types: dict[str, TypeCounts] = {}
        self._drawn_at = 0.0

    def start(self, entity_type: str, total: int, done: int) -> TypeCounts:
        counts = self.types[entity_type] = TypeCounts(total, done)
        if done and not self.quiet:
            self.progress.write(f"{entity_type}: resuming after {done} of {total} entities\n")
        self._draw(entity_type, force=True)
        return counts

    def advance(self, entity_type: str, read: int) -> None:
        self.types[entity_type].done += read
        self._draw(entity_type)

    def finish(self, entity_type: str) -> None:
        counts = self.types[entity_type]
        if self.bar and not self.quiet:
            self._draw(entity_type, force=True)
            self.progress.write("\n")
        if self.exporting:
            self.out.write(f"{entity_type}: {counts.done} entities exported\n")
            self.out.flush()
            return
        verb = "would be " if self.dry_run else ""
        self.out.write(f"{entity_type}: {counts.total} entities; {verb}created {counts.created}, {verb}updated "
                       f"{counts.updated}, unchanged {counts.unchanged}, failed {counts.failed}\n")
        if self.dry_run:
            for old, new in counts.ids:
                self.out.write(f"  id  {old} -> {new}\n")
            for entity_id, path, old, new in counts.relationships:
                self.out.write(f"  relationship  {entity_id} {path}: {old} -> {new}\n")
        self.out.flush()

    def _draw(self, entity_type: str, force: bool = False) -> None:
        now = time.monotonic()
        if self.quiet or (not force and now - self._drawn_at < (0.1 if self.bar else _PLAIN_EVERY)):
            return
        self._drawn_at = now
        counts = self.types[entity_type]
        if self.bar:
            share = min(1.0, counts.done / counts.total) if counts.total else 1.0
            filled = int(_BAR * share)
            self.progress.write(f"\r{entity_type[:24]:<24} [{'#' * filled}{'.' * (_BAR - filled)}] "
                                f"{counts.done}/{counts.total}")
        elif counts.done or not counts.total:
            self.progress.write(f"{entity_type}: {counts.done}/{counts.total} entities read\n")
        self.progress.flush()

    def summary(self, tally: Tally, *, subscriptions: bool) -> None:
        out, verb = self.out, "would be " if self.dry_run else ""
        out.write(f"{'plan' if self.dry_run else 'summary'}: {verb}created {tally.created}, {verb}updated "
                  f"{tally.updated}, unchanged {tally.unchanged}, failed {tally.failed} entities\n")
        if subscriptions:
            counts = tally.subscriptions
            out.write(f"subscriptions: {verb}created {counts['created']}, {verb}updated {counts['updated']}, "
                      f"unchanged {counts['unchanged']}, failed {counts['failed']}\n")
        if tally.failures:
            out.write("failed:\n")
            for entity_id, reason in tally.failures:
                out.write(f"  {entity_id}: {reason}\n")
            if tally.failed > len(tally.failures):
                out.write(f"  ... and {tally.failed - len(tally.failures)} more\n")
        if tally.outside:
            out.write(f"relationships pointing outside the copy (kept as they were): {tally.outside_count}\n")
            for target, (references, example) in sorted(tally.outside.items()):
                out.write(f"  {target}  ({references} reference(s), e.g. {example})\n")
        if self.dry_run:
            out.write("dry run: nothing was written\n")
        out.flush()


def summary_json(tally: Tally, report: Report) -> dict[str, Any]:
    """The summary as one JSON document (`--json`)."""
    return {
        "dryRun": report.dry_run,
        "types": {name: {"total": c.total, "created": c.created, "updated": c.updated, "unchanged": c.unchanged,
                         "failed": c.failed} for name, c in report.types.items()},
        "created": tally.created, "updated": tally.updated, "unchanged": tally.unchanged, "failed": tally.failed,
        "failures": [{"id": entity_id, "reason": reason} for entity_id, reason in tally.failures],
        "subscriptions": tally.subscriptions,
        "outside": [{"object": target, "references": int(refs), "example": example}
                    for target, (refs, example) in sorted(tally.outside.items())],
    }

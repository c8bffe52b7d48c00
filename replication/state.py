"""The state file of a copy: how far it got, so that a run that was stopped (Ctrl-C, a broker that went away,
a killed process) goes on where it stopped when run again, and its summary counts what earlier runs did.

The file is small (offsets per type, counters, at most a few hundred reasons and outside references), written
after each batch to a temporary file then renamed, so a kill never leaves half a file. It belongs to one job:
a file written for other brokers, tenants, types or rules is not resumed from. It is removed once the copy is
complete.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson

from replication.errors import UsageError

__all__ = ["MAX_LISTED", "State", "Tally", "job_key"]

MAX_LISTED = 200
"""Failures and outside references kept with their details (the counts go on beyond)."""


@dataclass(slots=True)
class Tally:
    """What a copy did (or, in a dry run, would do), for the summary."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    failures: list[list[str]] = field(default_factory=list)
    """[id, reason] of the first failures."""
    outside: dict[str, list[str]] = field(default_factory=dict)
    """Each object that points outside the copy: [references, an entity id and attribute that refers to it]."""
    outside_count: int = 0
    subscriptions: dict[str, int] = field(default_factory=lambda: {"created": 0, "updated": 0, "unchanged": 0,
                                                                     "failed": 0})

    def fail(self, entity_id: str, reason: str) -> None:
        self.failed += 1
        if len(self.failures) < MAX_LISTED:
            self.failures.append([entity_id, reason])

    def point_outside(self, entity_id: str, path: str, target: str) -> None:
        if target in self.outside:
            self.outside[target][0] = str(int(self.outside[target][0]) + 1)
        elif len(self.outside) < MAX_LISTED:
            self.outside[target] = ["1", f"{entity_id} {path}"]
        self.outside_count += 1

    @property
    def changed(self) -> int:
        return self.created + self.updated + self.subscriptions["created"] + self.subscriptions["updated"]


def job_key(*parts: Any) -> str:
    """A digest of what makes a job: the brokers, tenants, types, q, @context and rules."""
    return hashlib.sha256(orjson.dumps(parts)).hexdigest()[:16]


@dataclass(slots=True)
class State:
    path: Path | None
    key: str
    offsets: dict[str, int] = field(default_factory=dict)
    """The offset of the next page to read, per type."""
    done: list[str] = field(default_factory=list)
    """The types whose entities were all copied."""
    subscriptions_done: bool = False
    tally: Tally = field(default_factory=Tally)
    resumed: bool = False

    @classmethod
    def load(cls, path: Path | None, key: str) -> State:
        """The state of the job `key` from `path`, or a fresh one (no path, no file, or another job's)."""
        if path is None or not path.exists():
            return cls(path, key)
        try:
            saved = orjson.loads(path.read_bytes())
            if saved.get("key") != key:
                return cls(path, key)
            return cls(path, key, {str(k): int(v) for k, v in saved["offsets"].items()}, list(saved["done"]),
                       bool(saved["subscriptions_done"]), Tally(**saved["tally"]), resumed=True)
        except (OSError, orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
            raise UsageError(f"state file {path} cannot be read ({exc}); remove it to start afresh") from None

    def save(self) -> None:
        if self.path is None:
            return
        content = {"key": self.key, "offsets": self.offsets, "done": self.done,
                   "subscriptions_done": self.subscriptions_done, "tally": asdict(self.tally)}
        partial = self.path.with_name(self.path.name + ".tmp")
        try:
            partial.write_bytes(orjson.dumps(content))
            os.replace(partial, self.path)
        except OSError as exc:
            raise UsageError(f"state file {self.path} cannot be written ({exc.strerror or exc})") from exc

    def remove(self) -> None:
        if self.path is not None:
            self.path.unlink(missing_ok=True)

"""What a create writes to SQLite's write-ahead log: frames (pages of 4 KB) per entity, one transaction per
create against creates committed in groups (as the store's group commit makes them under concurrency).

    python -m bench.wal [--entities N] [--groups 1 8 32] [--statements]

Each run writes N OffStreetParking entities (bench.entities.parking) into an empty store, with the automatic
checkpoint off so that the log keeps every frame written, and reports frames per entity and entities per
second of CPU time. `--statements` also times each SQL statement of the creates (microseconds per entity, by
the statement's first words).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import sqlite3
import tempfile
import time
from collections.abc import Callable
from typing import Any

from bench.entities import parking
from broker.store import sqlite
from broker.store.base import creation
from broker.store.sqlite import SQLiteStore
from broker.store.sqlite_plan import PlannedConnection
from ngsi_ld.context import build_term_map
from ngsi_ld.entity import Entity, parse_entity
from ngsi_ld.updates import new_entity
from ngsi_ld.values import utc_now

_statement_seconds: collections.Counter[str] = collections.Counter()
_timing = False


class _TimedConnection(PlannedConnection):
    """The store's connection, adding the time of each statement to _statement_seconds while _timing."""

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        return _timed(sql, lambda: super(_TimedConnection, self).execute(sql, *args))

    def executemany(self, sql: str, *args: Any) -> sqlite3.Cursor:
        return _timed(sql, lambda: super(_TimedConnection, self).executemany(sql, *args), "(many) ")


def _timed(sql: str, run: Callable[[], sqlite3.Cursor], prefix: str = "") -> sqlite3.Cursor:
    started = time.perf_counter()
    try:
        return run()
    finally:
        if _timing:
            _statement_seconds[prefix + " ".join(sql.split()[:4])] += time.perf_counter() - started


async def frames_per_entity(entities: list[Entity], group: int) -> tuple[float, float]:
    """(log frames per entity, entities per CPU second) for creates committed `group` at a time."""
    global _timing
    with tempfile.TemporaryDirectory() as directory:
        store = SQLiteStore(directory)  # not opened: no checkpoint thread, so the log keeps every frame written
        try:
            connection = store._connection("", True)  # noqa: SLF001
            connection.execute("PRAGMA wal_autocheckpoint=0")
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            started, _timing = time.process_time(), True
            for start in range(0, len(entities), group):
                await asyncio.gather(*(store.write("", [creation(entity)]) for entity in entities[start:start + group]))
            cpu, _timing = time.process_time() - started, False
            frames = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1]
        finally:
            await store.aclose()
    return frames / len(entities), len(entities) / cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entities", type=int, default=2000)
    parser.add_argument("--groups", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--statements", action="store_true", help="also time each SQL statement of the creates")
    arguments = parser.parse_args()
    if arguments.statements:
        sqlite.PlannedConnection = _TimedConnection  # type: ignore[misc]
    terms = build_term_map(None, lambda url: None)
    entities = [new_entity(parse_entity(parking(number), terms), utc_now()) for number in range(arguments.entities)]
    print("| creates per transaction | WAL frames per entity | entities per CPU second |")
    print("|---|---|---|")
    for group in arguments.groups:
        _statement_seconds.clear()
        frames, rate = asyncio.run(frames_per_entity(entities, group))
        print(f"| {group} | {frames:.1f} | {rate:,.0f} |")
        for statement, seconds in _statement_seconds.most_common(8 if arguments.statements else 0):
            print(f"|   {statement} | {seconds / len(entities) * 1e6:.1f} us per entity | |")


if __name__ == "__main__":
    main()

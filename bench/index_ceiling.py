"""What SQLite alone can write of a query index, with no Python work per entity: the ceiling of batch writes.

    python -m bench.index_ceiling [--entities 20000]

Rows shaped like those of table attr_values for the entity of bench.batches (21 value rows: 4 attributes
with their value, observedAt, unitCode, createdAt and modifiedAt, and an 'exists' row), inserted with
executemany in transactions of 1,000 entities, under four layouts:

- the store's: clustered by entity, with an index by (path, kind, value), paths as IRIs;
- the same with paths as integers (interned);
- no index by value (what the clustered table alone costs);
- paths as integers and only the 8 'exists' and value rows in the index by value.
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import tempfile
import time
from collections.abc import Callable
from typing import Any

CLUSTERED = ("CREATE TABLE attr_values (seq INTEGER NOT NULL, path {path} NOT NULL, kind TEXT NOT NULL, val NOT NULL, "
             "instance INTEGER NOT NULL, relationship INTEGER NOT NULL, "
             "PRIMARY KEY (seq, path, kind, val, instance)) WITHOUT ROWID")
BY_VALUE = "CREATE INDEX attr_values_lookup ON attr_values (path, kind, val, relationship)"
VALUES_ONLY = ("CREATE TABLE value_index (path INTEGER NOT NULL, kind TEXT NOT NULL, val NOT NULL, "
               "seq INTEGER NOT NULL, PRIMARY KEY (path, kind, val, seq)) WITHOUT ROWID")
MEMBERS = ("", "|observedAt", "|unitCode", "|createdAt", "|modifiedAt")
ATTRIBUTES = 4


def rows_of(seq: int, rng: random.Random, interned: bool) -> list[tuple[Any, ...]]:
    stamp = f"2026-11-27T08:{seq // 60 % 60:02d}:{seq % 60:02d}.000000Z"
    rows: list[tuple[Any, ...]] = []
    for attribute in range(ATTRIBUTES):
        iri = f"https://smartdatamodels.org/dataModel.Environment/measure{attribute}"
        for number, member in enumerate(MEMBERS):
            path = attribute * len(MEMBERS) + number if interned else iri + member
            value = (("number", rng.random()) if not member else
                     ("string", "GQ") if member == "|unitCode" else ("datetime", stamp))
            rows.append((seq, path, *value, 0, 0))
    rows.append((seq, -1 if interned else "https://smartdatamodels.org/dataModel.Environment/location",
                 "exists", "GeoProperty", 0, 0))
    return rows


def measure(schema: list[str], interned: bool, entities: int, index_values: bool = False) -> float:
    rng = random.Random(1)
    with tempfile.TemporaryDirectory() as directory:
        connection = sqlite3.connect(os.path.join(directory, "ceiling.sqlite"), isolation_level=None)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "cache_size=-65536"):
            connection.execute(f"PRAGMA {pragma}")
        for statement in schema:
            connection.execute(statement)
        batches = [[row for seq in range(first, first + 1000) for row in rows_of(seq, rng, interned)]
                   for first in range(0, entities, 1000)]
        start = time.perf_counter()
        for rows in batches:
            connection.execute("BEGIN")
            connection.executemany("INSERT OR IGNORE INTO attr_values VALUES (?, ?, ?, ?, ?, ?)", rows)
            if index_values:
                connection.executemany("INSERT OR IGNORE INTO value_index VALUES (?, ?, ?, ?)",
                                       [(r[1], r[2], r[3], r[0]) for r in rows if r[2] in ("number", "exists")])
            connection.execute("COMMIT")
        elapsed = time.perf_counter() - start
        connection.close()
    return entities / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entities", type=int, default=20_000)
    args = parser.parse_args()
    layouts: dict[str, Callable[[], float]] = {
        "IRI paths, index by value (the store's)": lambda: measure(
            [CLUSTERED.format(path="TEXT"), BY_VALUE], False, args.entities),
        "interned paths, index by value": lambda: measure(
            [CLUSTERED.format(path="INTEGER"), BY_VALUE], True, args.entities),
        "IRI paths, no index by value": lambda: measure([CLUSTERED.format(path="TEXT")], False, args.entities),
        "interned paths, values only in the index": lambda: measure(
            [CLUSTERED.format(path="INTEGER"), VALUES_ONLY], True, args.entities, index_values=True),
    }
    for label, run in layouts.items():
        print(f"{label:<45}{run():10.0f} entities/s")


if __name__ == "__main__":
    main()

"""WAL checkpoints in a thread of their own, off the request path.

SQLite's automatic checkpoint runs inside the commit that crosses its threshold: that commit (on the event
loop, with every request of its group waiting) copies thousands of pages into the database file. Here the
request connections never checkpoint (`wal_autocheckpoint=0`); a thread runs a PASSIVE checkpoint of every
open file whose log was written since its last look (each `CHECKPOINT_SECONDS`), which copies what no reader
still needs without waiting for anyone. SQLite releases the GIL while it works, so the loop goes on serving.
A tenant whose log has not changed costs a stat; the thread keeps no connection of its own between rounds.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

__all__ = ["CHECKPOINT_SECONDS", "Checkpointer"]

log = logging.getLogger("scifi.store")

CHECKPOINT_SECONDS = 0.5
"""Between two checkpoints: the log holds at most this long's writes beyond what readers still need."""


class Checkpointer:
    """A thread that checkpoints the files `paths()` names (the store's open tenants) until `close`."""

    def __init__(self, paths: Callable[[], Iterable[Path]]) -> None:
        self._stop = threading.Event()
        self._failing = False
        self._thread = threading.Thread(target=self._run, args=(paths,), name="scifi-checkpoint", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stops the thread, after the checkpoint it may be running (milliseconds)."""
        self._stop.set()
        self._thread.join()

    def _run(self, paths: Callable[[], Iterable[Path]]) -> None:
        seen: dict[Path, int] = {}
        while not self._stop.wait(CHECKPOINT_SECONDS):
            self._checkpoint(seen, paths())

    def _checkpoint(self, seen: dict[Path, int], paths: Iterable[Path]) -> None:
        """Checkpoints the files whose log changed since `seen` (the log's modification time at the last look)."""
        failures = []
        for path in paths:
            try:
                written = os.stat(f"{path}-wal").st_mtime_ns
                if seen.get(path) == written:
                    continue
                if _checkpoint(path):
                    seen[path] = written
            except FileNotFoundError:
                continue
            except (sqlite3.Error, OSError) as exc:
                failures.append(f"file={path.name} error={exc}")
        # The log keeps every write; a checkpoint that works later (space or permission back) copies it.
        if failures and not self._failing:
            log.warning("checkpoint failed %s", "; ".join(failures))
        self._failing = bool(failures)


def _checkpoint(path: Path) -> bool:
    """Whether every frame of the log is now in the database file (readers may hold some back)."""
    # mode=rw: a file removed meanwhile is an error here, not a new empty database
    connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True, isolation_level=None)
    try:
        busy, frames, copied = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    finally:
        connection.close()
    return bool(busy == 0 and frames == copied)

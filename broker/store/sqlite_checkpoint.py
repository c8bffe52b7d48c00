"""WAL checkpoints in a thread of their own, off the request path.

SQLite's automatic checkpoint runs inside the commit that crosses its threshold: that commit (on the event
loop, with every request of its group waiting) copies thousands of pages into the database file. Here the
request connections never checkpoint (`wal_autocheckpoint=0`); a thread runs a PASSIVE checkpoint of every
open file whose log was written since its last look (each `CHECKPOINT_SECONDS`), which copies what no reader
still needs without waiting for anyone. SQLite releases the GIL while it works, so the loop goes on serving.
A tenant whose log has not changed costs a stat; the thread keeps no connection of its own between rounds.

A writer starts the log afresh when it begins after a checkpoint that copied every frame. Under writes that
never pause, a PASSIVE checkpoint never catches up with the end of the log (frames are appended while it copies),
so the log grows without end: 500 MB after a minute of batch upserts, and every page lookup searches a longer
log index. Once the log is `RESTART_FRAMES` long, the thread also tries a RESTART checkpoint: when no writer
holds the file's write lock, it takes it for as long as it copies what the PASSIVE one left and syncs the files
(the store's writers wait on their event loop, as for another process's transaction), and when no reader still
reads the log, the next writer starts it from its beginning. It never waits for the lock or the readers
(SQLite's busy handler would hold the lock, and the writers, through its sleeps): when either is busy, the next
round tries again. The log file keeps its size to be written over (a `journal_size_limit` would have the
writer that starts the log afresh cut it, on its event loop: 400 ms for a file of a few hundred MB).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

__all__ = ["CHECKPOINT_SECONDS", "RESTART_FRAMES", "Checkpointer"]

log = logging.getLogger("scifi.store")

CHECKPOINT_SECONDS = 0.5
"""Between two checkpoints: the log holds at most this long's writes beyond what readers still need."""
RESTART_FRAMES = 262_144
"""A log of this many pages (1 GB) or more is restarted. A RESTART checkpoint holds the write lock for 10 to 100
ms (the copy and two syncs, under the load of the writes), which the requests waiting for it feel: so it is for a
write load that never pauses (this machine's heaviest makes a log of 1 GB in about 20 s). Any pause of the writes
longer than a PASSIVE checkpoint lets the log start afresh without one."""


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
                if _checkpoint_file(path):
                    seen[path] = written
            except FileNotFoundError:
                continue
            except (sqlite3.Error, OSError) as exc:
                failures.append(f"file={path.name} error={exc}")
        # The log keeps every write; a checkpoint that works later (space or permission back) copies it.
        if failures and not self._failing:
            log.warning("checkpoint failed %s", "; ".join(failures))
        self._failing = bool(failures)


def _checkpoint_file(path: Path) -> bool:
    """Whether every frame of the log is now in the database file (readers may hold some back)."""
    # mode=rw: a file removed meanwhile is an error here, not a new empty database
    connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True, isolation_level=None, timeout=0)
    try:
        busy, frames, copied = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        if frames >= RESTART_FRAMES:
            busy, frames, copied = connection.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
    finally:
        connection.close()
    return bool(busy == 0 and frames == copied)

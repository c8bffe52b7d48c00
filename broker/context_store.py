"""The @contexts the broker keeps for clients (clause 5.13): Hosted ones that clients added, and ImplicitlyCreated
ones made from the inline @contexts of payloads, so that one URL can name them (in a notification's Link header).

Each context is one file under `<data-dir>/jsonld-contexts/`, written atomically, so that it survives a restart
and every worker process of the broker sees it. Its local id is also its file name: a random one for a Hosted
context, a digest of the @context for an implicit one (the same inline @context always gets the same one).
"""

from __future__ import annotations

import hashlib
import os
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

from ngsi_ld.context import is_core_context_url
from ngsi_ld.values import utc_now

__all__ = ["CACHED", "CONTEXTS_PATH", "HOSTED", "IMPLICIT", "KINDS", "ContextStore", "DirectoryWatch",
           "StoredContext", "implicit_id", "is_inline", "local_id_of_url", "write_atomically"]

HOSTED = "Hosted"
CACHED = "Cached"
IMPLICIT = "ImplicitlyCreated"
KINDS = (HOSTED, CACHED, IMPLICIT)
CONTEXTS_PATH = "/ngsi-ld/v1/jsonldContexts/"
_LOCAL_ID = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True, slots=True)
class StoredContext:
    local_id: str
    kind: str
    created_at: str
    context: Any
    """The value of the document's @context member."""

    @property
    def document(self) -> dict[str, Any]:
        return {"@context": self.context}


class DirectoryWatch:
    """Tells, at most once per `interval` seconds, whether files were added, replaced or removed in some
    directories since the last look (by their modification times): how a worker learns of another's changes."""

    def __init__(self, *directories: Path, interval: float = 1.0) -> None:
        self._directories = directories
        self._interval = interval
        self._next_look = 0.0
        self._seen = self._times()

    def changed(self) -> bool:
        now = time.monotonic()
        if now < self._next_look:
            return False
        self._next_look = now + self._interval
        times = self._times()
        if times == self._seen:
            return False
        self._seen = times
        return True

    def _times(self) -> tuple[int, ...]:
        return tuple(_modified(directory) for directory in self._directories)


class ContextStore:
    """Hosted and implicitly created @contexts, one file each; every read goes to the files, so all workers agree."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._implicit_ids: set[str] = set()
        self._watch = DirectoryWatch(directory)

    def add(self, context: Any) -> StoredContext:
        """Stores a Hosted @context under a new local id."""
        stored = StoredContext(uuid.uuid4().hex, HOSTED, utc_now(), context)
        self._write(stored)
        return stored

    def implicit(self, context: Any) -> str:
        """The local id of the implicit @context made of `context`, stored when it was not yet."""
        local_id = implicit_id(context)
        if self._watch.changed():
            self._implicit_ids.clear()
        if local_id not in self._implicit_ids:
            if not self._file(local_id).exists():
                self._write(StoredContext(local_id, IMPLICIT, utc_now(), context))
            self._implicit_ids.add(local_id)
        return local_id

    def get(self, local_id: str) -> StoredContext | None:
        if not _LOCAL_ID.fullmatch(local_id):
            return None
        try:
            record = orjson.loads(self._file(local_id).read_bytes())
        except FileNotFoundError:
            return None
        return StoredContext(local_id, record["kind"], record["createdAt"], record["@context"])

    def all(self) -> list[StoredContext]:
        """Every stored @context, oldest first."""
        if not self.directory.exists():
            return []
        found = (self.get(path.stem) for path in self.directory.glob("*.json"))
        return sorted((stored for stored in found if stored is not None), key=lambda s: (s.created_at, s.local_id))

    def delete(self, local_id: str) -> bool:
        if not _LOCAL_ID.fullmatch(local_id):
            return False
        self._implicit_ids.discard(local_id)
        try:
            self._file(local_id).unlink()
        except FileNotFoundError:
            return False
        return True

    def document_at(self, url: str) -> dict[str, Any] | None:
        """The document of a stored @context named by its URL (whatever host the URL names), else None."""
        local_id = local_id_of_url(url)
        stored = None if local_id is None else self.get(local_id)
        return None if stored is None else stored.document

    def _write(self, stored: StoredContext) -> None:
        record = {"localId": stored.local_id, "kind": stored.kind, "createdAt": stored.created_at,
                  "@context": stored.context}
        write_atomically(self._file(stored.local_id), orjson.dumps(record))

    def _file(self, local_id: str) -> Path:
        return self.directory / f"{local_id}.json"


def is_inline(context: Any) -> bool:
    """Whether a @context is not one URL: an object, or an array with an object or with several URLs (the core
    context aside, which always applies). Such a @context needs an implicit one to be named by a URL."""
    if isinstance(context, dict):
        return True
    if not isinstance(context, list):
        return False
    entries = [entry for entry in context if not (isinstance(entry, str) and is_core_context_url(entry))]
    return len(entries) > 1 or any(isinstance(entry, dict) for entry in entries)


def implicit_id(context: Any) -> str:
    return hashlib.sha256(orjson.dumps(context, option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]


def local_id_of_url(url: str) -> str | None:
    """The local id in a URL of the form <any host>/ngsi-ld/v1/jsonldContexts/<local id>, else None."""
    path = urlsplit(url).path
    if not path.startswith(CONTEXTS_PATH):
        return None
    local_id = path[len(CONTEXTS_PATH):]
    return local_id if _LOCAL_ID.fullmatch(local_id) else None


def write_atomically(path: Path, content: bytes) -> None:
    """Writes a file so that readers see either the old content or the whole new one, even after a crash."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
    with open(temporary, "wb") as file:
        file.write(content)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)


def _modified(directory: Path) -> int:
    try:
        return directory.stat().st_mtime_ns
    except FileNotFoundError:
        return 0

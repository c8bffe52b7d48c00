"""The @contexts of the embedded store: files under the data directory, its home, which the processes of the
machine share.

- `<data-dir>/jsonld-contexts/<local id>.json`: a Hosted or ImplicitlyCreated @context, as
  {"localId", "kind", "createdAt", "@context"};
- `<data-dir>/contexts/<local id>.jsonld`: the document of a Cached one (its local id is a digest of its URL),
  and `<local id>.meta.json` beside it: {"URL", "createdAt"}.

Each file is written atomically, so a reader sees the old content or the whole new one. The version is the
modification times of the two directories, which every addition, replacement and deletion changes.
"""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path

import orjson

from broker.store.base import CACHED, ContextDocuments, StoredContext
from broker.store.sqlite_connection import served

__all__ = ["ContextFiles"]

_SERVED_ID = re.compile(r"[0-9a-f]{32}")
_CACHED_ID = re.compile(r"[0-9a-f]{64}")
_META_SUFFIX = ".meta.json"


@served
class ContextFiles(ContextDocuments):
    def __init__(self, data_dir: Path) -> None:
        self._served = data_dir / "jsonld-contexts"
        """Hosted and ImplicitlyCreated @contexts."""
        self._cached = data_dir / "contexts"

    async def add(self, stored: StoredContext) -> bool:
        if await self.get(stored.local_id) is not None:
            return False
        await self.put(stored)
        return True

    async def put(self, stored: StoredContext) -> None:
        if stored.kind == CACHED:
            document_file = self._cached / f"{stored.local_id}.jsonld"
            _write_atomically(document_file, orjson.dumps(stored.document))
            meta = {"URL": stored.url, "createdAt": stored.created_at}
            _write_atomically(self._cached / (stored.local_id + _META_SUFFIX), orjson.dumps(meta))
            return
        record = {"localId": stored.local_id, "kind": stored.kind, "createdAt": stored.created_at,
                  "@context": stored.document["@context"]}
        _write_atomically(self._served / f"{stored.local_id}.json", orjson.dumps(record))

    async def get(self, local_id: str) -> StoredContext | None:
        if _SERVED_ID.fullmatch(local_id):
            return _served(self._served / f"{local_id}.json", with_document=True)
        if _CACHED_ID.fullmatch(local_id):
            return _cached(self._cached / (local_id + _META_SUFFIX), with_document=True)
        return None

    async def all(self) -> list[StoredContext]:
        served = [_served(path, with_document=False) for path in _listed(self._served, "*.json")]
        cached = [_cached(path, with_document=False) for path in _listed(self._cached, "*" + _META_SUFFIX)]
        found = [stored for stored in (*served, *cached) if stored is not None]
        return sorted(found, key=lambda stored: (stored.created_at, stored.local_id))

    async def delete(self, local_id: str) -> bool:
        if _SERVED_ID.fullmatch(local_id):
            return _removed(self._served / f"{local_id}.json")
        if _CACHED_ID.fullmatch(local_id):
            existed = _removed(self._cached / (local_id + _META_SUFFIX))
            _removed(self._cached / f"{local_id}.jsonld")
            return existed
        return False

    async def version(self) -> object:
        return _modified(self._served), _modified(self._cached)


def _served(path: Path, *, with_document: bool) -> StoredContext | None:
    try:
        record = orjson.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    document = {"@context": record["@context"]} if with_document else None
    return StoredContext(path.stem, record["kind"], record["createdAt"], document=document)


def _cached(meta_file: Path, *, with_document: bool) -> StoredContext | None:
    """A Cached @context from its meta file and the document beside it (None when either is missing: a document
    kept by an older version, without its URL, is fetched again)."""
    local_id = meta_file.name[: -len(_META_SUFFIX)]
    try:
        meta = orjson.loads(meta_file.read_bytes())
        document = orjson.loads((meta_file.parent / f"{local_id}.jsonld").read_bytes()) if with_document else None
    except FileNotFoundError:
        return None
    return StoredContext(local_id, CACHED, meta["createdAt"], meta["URL"], document)


def _listed(directory: Path, pattern: str) -> list[Path]:
    return list(directory.glob(pattern)) if directory.exists() else []


def _removed(path: Path) -> bool:
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True


def _modified(directory: Path) -> int:
    try:
        return directory.stat().st_mtime_ns
    except FileNotFoundError:
        return 0


def _write_atomically(path: Path, content: bytes) -> None:
    """Writes a file so that readers see either the old content or the whole new one, even after a crash."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
    try:
        with open(temporary, "wb") as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except OSError:  # a full disk: no partial file is left behind
        temporary.unlink(missing_ok=True)
        raise

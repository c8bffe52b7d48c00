"""The @contexts the broker keeps, in the MongoDB store: the collection `contexts` of the default tenant's
database, which the broker processes of every machine share.

- `_id`: the local id; `kind`: Hosted, ImplicitlyCreated or Cached; `url`: where a Cached one was fetched from;
  `createdAt`; `doc`: the JSON-LD document as JSON text (a @context's terms may hold dots and '$').

Every deletion or replacement increments the counter `meta/contexts` of that database (`version`), which each
process reads at most once a second to learn that what it holds in memory may be stale; additions need no
bump, as every process reads what it does not hold from the collection.
"""

from __future__ import annotations

from typing import Any

import orjson

from broker.store.base import ContextDocuments, StoredContext
from broker.store.mongo_session import Database, Document, served

__all__ = ["MongoContexts"]

_VERSION = "contexts"
_LISTED = {"kind": 1, "url": 1, "createdAt": 1}


def _document(stored: StoredContext) -> Document:
    """The fields of a @context's document but its `_id`."""
    return {"kind": stored.kind, "url": stored.url, "createdAt": stored.created_at,
            "doc": orjson.dumps(stored.document).decode()}


def _stored(found: Document) -> StoredContext:
    document: Any = orjson.loads(found["doc"]) if "doc" in found else None
    return StoredContext(found["_id"], found["kind"], found["createdAt"], found.get("url"), document)


@served
class MongoContexts(ContextDocuments):
    def __init__(self, database: Database) -> None:
        self._collection = database.contexts
        self._meta = database.meta

    async def add(self, stored: StoredContext) -> bool:
        added = await self._collection.update_one(
            {"_id": stored.local_id}, {"$setOnInsert": _document(stored)}, upsert=True)
        return added.upserted_id is not None

    async def put(self, stored: StoredContext) -> None:
        written = await self._collection.replace_one({"_id": stored.local_id}, _document(stored), upsert=True)
        if written.upserted_id is None:
            await self._bump()

    async def get(self, local_id: str) -> StoredContext | None:
        found = await self._collection.find_one({"_id": local_id})
        return None if found is None else _stored(found)

    async def all(self) -> list[StoredContext]:
        cursor = self._collection.find({}, _LISTED).sort([("createdAt", 1), ("_id", 1)])
        return [_stored(found) async for found in cursor]

    async def delete(self, local_id: str) -> bool:
        deleted = await self._collection.delete_one({"_id": local_id})
        if deleted.deleted_count == 0:
            return False
        await self._bump()
        return True

    async def version(self) -> object:
        found = await self._meta.find_one({"_id": _VERSION}, {"version": 1})
        return 0 if found is None else found["version"]

    async def _bump(self) -> None:
        await self._meta.update_one({"_id": _VERSION}, {"$inc": {"version": 1}}, upsert=True)

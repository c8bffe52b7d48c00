"""The MongoDB store: one database per tenant, an entity per document (see mongo_layout), on PyMongo's native
async API.

Every write runs in a transaction (MongoDB needs a replica set for them; a single-node one will do), so an
entity is written whole or not at all, and a batch and the changes it records for the notifier commit
together. Sequence numbers (creation order, the order of the log of changes) come from counter documents
incremented in the same transaction: two transactions that take numbers of the same counter conflict, and
the later one is retried, so the log's order is the order of the commits.

Several broker processes, on one machine or many, may share the database: the notifier's leader holds a
lease in it, and learns of the changes other processes record through a change stream (by polling every
notification_poll seconds when the deployment has none). A lost connection is StoreUnavailable (503); the
driver reconnects on its own when the server is back.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import logging
import os
import random
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import orjson
import pymongo
from pymongo import AsyncMongoClient, DeleteMany, DeleteOne, InsertOne, ReplaceOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import ConnectionFailure, DuplicateKeyError, OperationFailure, PyMongoError
from pymongo.operations import IndexModel
from pymongo.uri_parser import parse_uri

from broker.store.base import (
    DEFAULT_TENANT,
    AttributeDetails,
    Change,
    ContextDocuments,
    EntityQuery,
    EntityStore,
    Outcome,
    QueryResult,
    StoreUnavailable,
    TypeDetails,
    too_slow,
)
from broker.store.mongo_contexts import MongoContexts
from broker.store.mongo_layout import entity_document, geometry_documents
from broker.store.mongo_query import GEOMETRY_INDEXES, INDEXES, query_documents
from broker.store.mongo_session import Database, Document, next_seqs, reason, served
from broker.store.mongo_subscriptions import SubscriptionCollections, record_changes
from ngsi_ld.entity import Entity
from ngsi_ld.errors import NgsiLdError, NonexistentTenant
from ngsi_ld.query.ast import SEPARATOR
from ngsi_ld.query.targets import SCOPE_PATH
from ngsi_ld.values import utc_now

__all__ = ["MongoStore", "database_name"]

log = logging.getLogger("scifi.store")

T = TypeVar("T")

DEFAULT_PREFIX = "scifi"
"""The name of the default tenant's database, and the prefix of the others', when the URL names none."""

_CLIENT_DEFAULTS: dict[str, Any] = {"serverSelectionTimeoutMS": 5000, "connectTimeoutMS": 5000, "w": "majority"}
"""Client options the URL may override: a request waits at most 5 s for a lost server (then 503), as long for a
connection to a host that does not answer, and a write is acknowledged once a majority of the replica set
has it."""

LEASE_SECONDS = 10.0
"""How long the notifier's lease lasts unless renewed; the leader renews it every few seconds."""

_TRANSACTION_SECONDS = 10.0
"""How long a write retries a transaction that conflicts with others before it gives up."""
_ABORT_SECONDS = 2.0
_SERVER_GRACE_SECONDS = 2.0
"""How much longer than query_timeout the broker waits for a server that does not stop a query in time."""
_BACKOFF_FIRST = 0.002
_BACKOFF_MAX = 0.02
"""A transaction that conflicted waits a random while before it tries again, up to twice as long each time
(seconds): writers of one entity retrying at once would conflict again and again."""
_INDEX_CONFLICTS = (85, 86)
"""IndexOptionsConflict, IndexKeySpecsConflict: an index of that name exists with other options or keys."""
_INDEX_ATTEMPTS = 5
"""Rounds of index creation against a process creating the same indexes (each round makes one at least)."""
_LEASE = "notifier"
_WATCH_RETRY_SECONDS = 1.0
_WATCH_AWAIT_MS = 1000
"""How long the change stream waits for a change before it hands back (and the watcher looks whether to stop)."""
_NO_STREAM_RETRY_SECONDS = 60.0
_TENANT_INDEXES: dict[str, list[IndexModel]] = {
    "subscriptions": [IndexModel([("seq", 1)], unique=True)],
    "notifications": [IndexModel([("sub", 1), ("_id", 1)])],
    "dead_letters": [IndexModel([("sub", 1), ("_id", 1)])],
}


def database_name(prefix: str, tenant: str) -> str:
    """The database of a tenant: `prefix` for the default one, else `prefix_t` and the tenant in lower-case
    base32 (MongoDB names are case-insensitive and cannot hold /\\. "$), or `prefix_h` and a hash of it when
    that would exceed MongoDB's 63 bytes (the tenant's name is then read from the database)."""
    if tenant == DEFAULT_TENANT:
        return prefix
    encoded = f"{prefix}_t{base64.b32encode(tenant.encode()).decode().rstrip('=').lower()}"
    if len(encoded) <= 63:
        return encoded
    return f"{prefix}_h{hashlib.sha256(tenant.encode()).hexdigest()[:40]}"


def _decoded(prefix: str, name: str) -> str | None:
    """The tenant of a database named by `database_name` with base32 (None for a hashed name or another)."""
    if not name.startswith(f"{prefix}_t"):
        return None
    encoded = name[len(prefix) + 2:].upper()
    try:
        return base64.b32decode(encoded + "=" * (-len(encoded) % 8)).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None


def _conflict(exc: PyMongoError) -> bool:
    """Whether a transaction failed for a conflict with another one (worth running again at once)."""
    return exc.has_error_label("TransientTransactionError") and not isinstance(exc, ConnectionFailure)


def _top_level(path: str) -> bool:
    return path != SCOPE_PATH and SEPARATOR not in path and "[" not in path


def _exists_rows() -> dict[str, Any]:
    """The projection of a document's 'exists' value rows (one per attribute instance; `v`: its type)."""
    return {"$filter": {"input": "$vals", "as": "row", "cond": {"$eq": ["$$row.k", "exists"]}}}


class StripedLocks:
    """Locks by entity, in a fixed number of stripes: the writes of one process to an entity wait for one another
    instead of conflicting in the database, where concurrent transactions on one document abort and retry (and
    many writers of one entity could retry for seconds). Writes from other processes still conflict there."""

    def __init__(self, stripes: int = 64) -> None:
        self._locks = [asyncio.Lock() for _ in range(stripes)]

    @contextlib.asynccontextmanager
    async def held(self, tenant: str, entity_ids: set[str]) -> AsyncIterator[None]:
        """Holds the stripes of the entities, taken in one order so that two writers never wait for each other."""
        stripes = sorted({hash((tenant, entity_id)) % len(self._locks) for entity_id in entity_ids})
        async with contextlib.AsyncExitStack() as held:
            for stripe in stripes:
                await held.enter_async_context(self._locks[stripe])
            yield


@served
class MongoStore(SubscriptionCollections, EntityStore):
    def __init__(self, url: str) -> None:
        parsed = parse_uri(url)
        self.hosts = ",".join(f"{host}:{port}" for host, port in parsed["nodelist"])
        self.prefix: str = parsed["database"] or DEFAULT_PREFIX
        given = {name.lower() for name in parsed["options"]}
        options = {name: value for name, value in _CLIENT_DEFAULTS.items() if name.lower() not in given}
        self.client: AsyncMongoClient[Document] = AsyncMongoClient(url, **options)
        self.on_change: Callable[[str], None] | None = None
        """Called with the tenant after a write that recorded changes for the notifier."""
        self._known: set[str] = set()
        self._hashed: dict[str, str] = {}
        self._holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4()}"
        self._lease_renewed: float | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._watching = False
        self._entity_locks = StripedLocks()

    async def open(self) -> None:
        waited = self.client.options.server_selection_timeout
        try:
            hello = await self.client.admin.command("hello")
        except ConnectionFailure as exc:
            raise StoreUnavailable(f"MongoDB at {self.hosts} unreachable (waited {waited:g} s): {reason(exc)}") from exc
        if "setName" not in hello and hello.get("msg") != "isdbgrid":
            raise StoreUnavailable(f"MongoDB at {self.hosts} is not a replica set: the store needs transactions, "
                                   "which need one (a single-node replica set will do)")
        await self._created(DEFAULT_TENANT)

    async def aclose(self) -> None:
        self._stop_watching()
        await self.client.close()
        if self._watcher is not None:  # the client is closed: nothing of the driver's is waited for any more
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher

    async def ping(self) -> None:
        with pymongo.timeout(self.client.options.server_selection_timeout):  # also a server that does not answer
            await self.client.admin.command("ping")

    async def tenant_exists(self, tenant: str) -> bool:
        if tenant in self._known:
            return True
        if await self._database(tenant).meta.find_one({"_id": "tenant"}) is None:
            return False
        self._known.add(tenant)
        return True

    def context_documents(self, data_dir: Path) -> ContextDocuments:
        """The collection `contexts` of the default tenant's database (see mongo_contexts), which the processes
        of every machine share."""
        return MongoContexts(self._database(DEFAULT_TENANT))

    async def tenants(self) -> list[str]:
        others = []
        for name in await self.client.list_database_names():
            tenant = _decoded(self.prefix, name)
            if tenant is None and name.startswith(f"{self.prefix}_h"):
                tenant = await self._hashed_tenant(name)
            if tenant is not None:
                others.append(tenant)
        return [DEFAULT_TENANT, *sorted(others)]

    async def write(self, tenant: str, changes: Sequence[Change], *, create_tenant: bool = False) -> list[Outcome]:
        database = await (self._created(tenant) if create_tenant else self._existing(tenant))
        changes = self.checked(tenant, changes)

        async def attempt(session: AsyncClientSession) -> tuple[list[Outcome], bool]:
            return await _write(database, session, changes)
        async with self._entity_locks.held(tenant, {change.entity_id for change in changes}):
            outcomes, recorded = await self._transaction(attempt)
        if recorded and self.on_change is not None:
            self.on_change(tenant)
        return outcomes

    async def get(self, tenant: str, entity_id: str) -> Entity | None:
        found = await (await self._existing(tenant)).entities.find_one({"_id": entity_id}, {"doc": 1})
        return None if found is None else orjson.loads(found["doc"])

    async def get_many(self, tenant: str, entity_ids: set[str]) -> list[Entity]:
        if not entity_ids or not await self.tenant_exists(tenant):
            return []
        cursor = self._database(tenant).entities.find({"_id": {"$in": list(entity_ids)}}, {"doc": 1})
        return [orjson.loads(found["doc"]) async for found in cursor]

    async def query(self, tenant: str, query: EntityQuery) -> QueryResult:
        database = await self._existing(tenant)
        try:
            # maxTimeMS asks the server to stop; the driver's own deadline, a little later, bounds the wait
            # where a server checks it seldom (SecantusDB's is cooperative).
            with pymongo.timeout(self.query_timeout + _SERVER_GRACE_SECONDS):
                documents, count = await query_documents(database.entities, database.geometries, query,
                                                         self.query_timeout)
        except PyMongoError as exc:
            if not exc.timeout:
                raise
            raise too_slow(self.query_timeout) from exc
        return QueryResult([orjson.loads(document) for document in documents], count)

    async def entity_types(self, tenant: str) -> list[str]:
        return sorted(await (await self._existing(tenant)).entities.distinct("types"))

    async def type_details(self, tenant: str, entity_type: str | None = None) -> list[TypeDetails]:
        database = await self._existing(tenant)
        only = [] if entity_type is None else [{"$match": {"types": entity_type}}]
        counts = await database.entities.aggregate([
            *only, {"$unwind": "$types"}, *only, {"$group": {"_id": "$types", "n": {"$sum": 1}}}
        ])
        rows = await database.entities.aggregate([
            *only, {"$project": {"types": 1, "vals": _exists_rows()}}, {"$unwind": "$types"}, *only,
            {"$unwind": "$vals"}, {"$group": {"_id": {"t": "$types", "p": "$vals.p", "v": "$vals.v"}}},
        ])
        attributes: dict[str, dict[str, set[str]]] = {}
        async for row in rows:
            if _top_level(row["_id"]["p"]):
                attributes.setdefault(row["_id"]["t"], {}).setdefault(row["_id"]["p"], set()).add(row["_id"]["v"])
        details = [TypeDetails(found["_id"], found["n"], {path: tuple(sorted(kinds)) for path, kinds in
                                                          sorted(attributes.get(found["_id"], {}).items())})
                   async for found in counts]
        return sorted(details, key=lambda detail: detail.type)

    async def attribute_names(self, tenant: str) -> list[str]:
        # distinct("vals.p") would say it in one call on MongoDB, but SecantusDB does not look into arrays there
        paths = await (await self._existing(tenant)).entities.aggregate([
            {"$project": {"vals": _exists_rows()}}, {"$unwind": "$vals"}, {"$group": {"_id": "$vals.p"}},
        ])
        return sorted([found["_id"] async for found in paths if _top_level(found["_id"])])

    async def attribute_details(self, tenant: str, attribute: str | None = None) -> list[AttributeDetails]:
        database = await self._existing(tenant)
        only = [] if attribute is None else [{"$match": {"vals": {"$elemMatch": {"p": attribute, "k": "exists"}}}}]
        rows = await database.entities.aggregate([
            *only, {"$project": {"types": 1, "vals": _exists_rows()}}, {"$unwind": "$vals"},
            *([] if attribute is None else [{"$match": {"vals.p": attribute}}]),
            {"$group": {"_id": {"p": "$vals.p", "v": "$vals.v"}, "n": {"$sum": 1}, "types": {"$push": "$types"}}},
        ])
        totals: dict[str, int] = {}
        kinds: dict[str, set[str]] = {}
        types: dict[str, set[str]] = {}
        async for row in rows:
            path = row["_id"]["p"]
            if _top_level(path):
                totals[path] = totals.get(path, 0) + row["n"]
                kinds.setdefault(path, set()).add(row["_id"]["v"])
                types.setdefault(path, set()).update(type_iri for listed in row["types"] for type_iri in listed)
        return [AttributeDetails(path, totals[path], tuple(sorted(kinds[path])), tuple(sorted(types[path])))
                for path in sorted(totals)]

    async def take_lead(self, lock_path: Path) -> bool:
        """Takes the lease of the database when it is free or has expired. Its times are those of the brokers'
        clocks (SecantusDB does not compare with $$NOW): the machines keep time with NTP, far better than the
        lease's seconds."""
        now = datetime.now(UTC)
        try:
            await self.client[self.prefix].leases.update_one(
                {"_id": _LEASE, "$or": [{"holder": self._holder}, {"until": {"$lt": now}}]},
                {"$set": {"holder": self._holder, "until": now + timedelta(seconds=LEASE_SECONDS)}}, upsert=True,
            )
        except DuplicateKeyError:  # another process holds it
            return False
        self._lease_renewed = time.monotonic()
        self._start_watching()
        return True

    async def keep_lead(self) -> bool:
        """Renews the lease; False once another process holds it, or when it could not be renewed in time."""
        if self._lease_renewed is None:
            return False
        try:
            renewed = await self._renew_lease(None)
        except PyMongoError as exc:
            renewed = time.monotonic() < self._lease_renewed + LEASE_SECONDS / 2
            log.warning("notifier lease not renewed error=%s", reason(exc))
        else:
            if renewed:
                self._lease_renewed = time.monotonic()
        if not renewed:
            self._lease_renewed = None
            self._stop_watching()
        return renewed

    async def give_up_lead(self) -> None:
        """Frees the lease at once, so that another process takes over without waiting for it to expire."""
        self._stop_watching()
        if self._lease_renewed is None:
            return
        self._lease_renewed = None
        try:
            await self.client[self.prefix].leases.delete_one({"_id": _LEASE, "holder": self._holder})
        except PyMongoError as exc:
            log.warning("notifier lease not freed error=%s", reason(exc))

    async def _renew_lease(self, session: AsyncClientSession | None) -> bool:
        renewed = await self.client[self.prefix].leases.update_one(
            {"_id": _LEASE, "holder": self._holder},
            {"$set": {"until": datetime.now(UTC) + timedelta(seconds=LEASE_SECONDS)}}, session=session,
        )
        return renewed.matched_count == 1

    async def _fence(self, session: AsyncClientSession) -> None:
        """In a transaction of the leader that consumes the log: fails it when the lease was taken over, so
        that two processes never both turn the same changes into notifications."""
        if self._lease_renewed is not None and not await self._renew_lease(session):
            raise StoreUnavailable("The notifier's lease was taken over by another process")

    def _start_watching(self) -> None:
        self._watching = True
        if self._watcher is None or self._watcher.done():
            self._watcher = asyncio.create_task(self._watch())

    def _stop_watching(self) -> None:
        """Lets the watcher end by itself within a second: cancelling a task inside the driver's server selection
        can leave the driver's topology lock taken (Python 3.11), after which no operation ever ends."""
        self.changes_watched = False
        self._watching = False

    async def _watch(self) -> None:
        """Wakes the notifier for every change another process records (inserts into a `changes` collection)."""
        pipeline: list[Document] = [{"$match": {"operationType": "insert", "ns.coll": "changes"}},
                                    {"$project": {"ns": 1}}]
        while self._watching:
            try:
                async with await self.client.watch(pipeline, max_await_time_ms=_WATCH_AWAIT_MS) as stream:
                    self.changes_watched = True
                    self._changed(self.prefix)  # a look for what was recorded before the stream began
                    while self._watching:
                        event = await stream.try_next()
                        if event is not None:
                            self._changed(event["ns"]["db"])
            except OperationFailure as exc:
                self.changes_watched = False
                log.warning("no change stream (%s): the notifier polls every notification_poll seconds",
                            reason(exc))
                await asyncio.sleep(_NO_STREAM_RETRY_SECONDS)
            except PyMongoError:
                self.changes_watched = False
                await asyncio.sleep(_WATCH_RETRY_SECONDS)

    def _changed(self, name: str) -> None:
        tenant = DEFAULT_TENANT if name == self.prefix else _decoded(self.prefix, name) or self._hashed.get(name)
        if tenant is not None and self.on_change is not None:
            self.on_change(tenant)

    async def _transaction(self, attempt: Callable[[AsyncClientSession], Awaitable[T]]) -> T:
        """Runs `attempt` in a transaction, again from the start while it conflicts with another one (for at
        most a few seconds). Unlike the driver's with_transaction, it does not wait two minutes for a lost
        server: that fails at once (StoreUnavailable, and the write was not acknowledged)."""
        deadline = time.monotonic() + _TRANSACTION_SECONDS
        async with self.client.start_session() as session:
            retries = 0
            while True:
                await session.start_transaction()
                try:
                    result = await attempt(session)
                    await session.commit_transaction()
                except PyMongoError as exc:
                    await _abandon(session)
                    if _conflict(exc) and time.monotonic() < deadline:
                        retries += 1
                        await asyncio.sleep(random.uniform(0, min(_BACKOFF_MAX, _BACKOFF_FIRST * 2 ** retries)))
                        continue
                    raise
                except BaseException:
                    await _abandon(session)
                    raise
                return result

    def _database(self, tenant: str) -> Database:
        return self.client[database_name(self.prefix, tenant)]

    async def _existing(self, tenant: str) -> Database:
        if not await self.tenant_exists(tenant):
            raise NonexistentTenant(f"Tenant '{tenant}' does not exist")
        return self._database(tenant)

    async def _created(self, tenant: str) -> Database:
        database = self._database(tenant)
        if tenant in self._known:
            return database
        await database.meta.update_one({"_id": "tenant"}, {"$setOnInsert": {"name": tenant}}, upsert=True)
        for collection, indexes in {"entities": INDEXES, "geometries": GEOMETRY_INDEXES, **_TENANT_INDEXES}.items():
            await _ensure_indexes(database[collection], indexes)
        self._known.add(tenant)
        return database

    async def _hashed_tenant(self, name: str) -> str | None:
        if name not in self._hashed:
            meta = await self.client[name].meta.find_one({"_id": "tenant"})
            if meta is None:
                return None
            self._hashed[name] = meta["name"]
        return self._hashed[name]


async def _abandon(session: AsyncClientSession) -> None:
    """Aborts the session's transaction, if any, waiting a few seconds at most for the server: the driver may
    otherwise wait without end for a server that went away (and the server drops the transaction itself)."""
    if session.in_transaction:
        with pymongo.timeout(_ABORT_SECONDS):
            await session.abort_transaction()


async def _ensure_indexes(collection: Any, indexes: list[IndexModel]) -> None:
    """Creates the indexes the collection lacks, by name: a server may store an index with more options than were
    asked (SecantusDB adds a 2dsphere version), and asking for it again is then a conflict. Another process
    creating the tenant at the same time makes the same indexes: a conflict with one of them is taken as that
    index made, and the others are asked for again (the other process may not have made them yet)."""
    for attempt in range(_INDEX_ATTEMPTS):
        existing = set(await collection.index_information())
        missing = [index for index in indexes if index.document["name"] not in existing]
        if not missing:
            return
        try:
            await collection.create_indexes(missing)
            return
        except OperationFailure as exc:
            if exc.code not in _INDEX_CONFLICTS or attempt == _INDEX_ATTEMPTS - 1:
                raise


async def _write(database: Database, session: AsyncClientSession, changes: Sequence[Change]) -> tuple[list[Outcome],
                                                                                                       bool]:
    """Applies the changes in the transaction of `session`: reads the entities once, writes them in one
    bulk_write; the outcomes, and whether changes were recorded for the notifier."""
    ids = list(dict.fromkeys(change.entity_id for change in changes))
    original: dict[str, tuple[int, str]] = {}
    async for found in database.entities.find({"_id": {"$in": ids}}, {"seq": 1, "doc": 1}, session=session):
        original[found["_id"]] = (found["seq"], found["doc"])
    current: dict[str, tuple[int | None, str, Entity] | None] = {
        entity_id: (seq, doc, {}) for entity_id, (seq, doc) in original.items()
    }
    outcomes: list[Outcome] = []
    written: list[tuple[str | None, str | None, str]] = []
    for change in changes:
        stored = current.get(change.entity_id)
        doc = None if stored is None else stored[1]
        try:
            entity = change.apply(None if doc is None else orjson.loads(doc))
        except NgsiLdError as error:
            outcomes.append(Outcome(doc is not None, error))
            continue
        if entity is None:
            current[change.entity_id] = None  # a later change that creates it again gives it a new seq
            if doc is not None:
                written.append((doc, None, utc_now()))
        else:
            new_doc = orjson.dumps(entity).decode()
            current[change.entity_id] = (None if stored is None else stored[0], new_doc, entity)
            if new_doc != doc:
                written.append((doc, new_doc, entity["modifiedAt"]))
        outcomes.append(Outcome(doc is not None))
    await _store(database, session, original, current)
    return outcomes, await record_changes(database, session, written)


async def _store(database: Database, session: AsyncClientSession, original: dict[str, tuple[int, str]],
                 current: dict[str, tuple[int | None, str, Entity] | None]) -> None:
    """Writes what the changes made of each entity, in one bulk_write, and of its geometries, in another."""
    created = [entity_id for entity_id, now in current.items() if now is not None and now[0] is None]
    # Outside the transaction: concurrent creates of a tenant would all conflict on the counter.
    seqs = iter(await next_seqs(database, None, "entities", len(created)) if created else ())
    operations: list[InsertOne[Document] | ReplaceOne[Document] | DeleteOne] = []
    geometries: list[InsertOne[Document] | DeleteMany] = []
    for entity_id, now in current.items():
        before = original.get(entity_id)
        if before is not None and (now is None or now[0] is None):
            operations.append(DeleteOne({"_id": entity_id}))
        if now is None:
            geometries += _geometry_changes(entity_id, before, None)
            continue
        seq, doc, entity = now
        if seq is None:
            operations.append(InsertOne(entity_document(entity, next(seqs))))
        elif before is not None and doc != before[1]:
            operations.append(ReplaceOne({"_id": entity_id}, entity_document(entity, seq)))
        if before is None or doc != before[1]:
            geometries += _geometry_changes(entity_id, before, entity)
    if operations:
        await database.entities.bulk_write(operations, ordered=True, session=session)
    if geometries:
        await database.geometries.bulk_write(geometries, ordered=True, session=session)


def _geometry_changes(entity_id: str, before: tuple[int, str] | None,
                      entity: Entity | None) -> list[InsertOne[Document] | DeleteMany]:
    """The writes that replace the entity's geometries, when its GeoProperties changed."""
    now = [] if entity is None else geometry_documents(entity)
    if before is None:
        return [InsertOne(document) for document in now]
    if now == geometry_documents(orjson.loads(before[1])):
        return []
    return [DeleteMany({"e": entity_id}), *(InsertOne(document) for document in now)]

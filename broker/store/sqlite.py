"""The embedded store: one SQLite file per tenant, in WAL mode, entities kept as expanded JSON.

SQLite calls run on the event loop itself: a read by id takes microseconds and, in WAL mode with
synchronous=NORMAL, a commit does not wait for the disk, so a hop to a thread would cost more than the
call (measured: 4.6k reads/s through a one-thread executor, 56k/s inline; see docs/benchmarks.md).
Several processes share the files through SQLite's own locking.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, unquote

import orjson

from broker.store.base import (
    DEFAULT_TENANT,
    AttributeDetails,
    Change,
    ContextDocuments,
    EntityQuery,
    EntityStore,
    Outcome,
    QueryResult,
    TypeDetails,
)
from broker.store.context_files import ContextFiles
from broker.store.sqlite_checkpoint import Checkpointer
from broker.store.sqlite_connection import served, snapshot, time_limit, transaction
from broker.store.sqlite_paths import PathIds
from broker.store.sqlite_plan import DRIVER_CAP, PlannedConnection, count_statement, page_documents
from broker.store.sqlite_subscriptions import SUBSCRIPTION_TABLES, SubscriptionTables, record_changes
from broker.store.sqlite_writer import GroupWriter, Written
from ngsi_ld.entity import Entity
from ngsi_ld.errors import NgsiLdError, NonexistentTenant
from ngsi_ld.geojson import bounds
from ngsi_ld.query.ast import SEPARATOR
from ngsi_ld.query.geo import GeoQuery, distance_metres, geo_matches
from ngsi_ld.query.scope import scope_matches
from ngsi_ld.query.targets import INDEXED_METADATA, SCOPE_PATH, Row, changed_rows, entity_rows, system_time_values
from ngsi_ld.regex import search
from ngsi_ld.values import utc_now

__all__ = ["SQLiteStore"]

T = TypeVar("T")

_IDS_PER_STATEMENT = 500
_OPEN_WAIT = 5.0
"""Seconds a process opening a tenant's file waits for another that is creating it (as long as SQLite's busy
timeout of the connections)."""

SCHEMA_VERSION = 4
"""Version of the index tables, kept in the file's user_version: a file of another version is re-indexed."""

_ENTITIES = """
CREATE TABLE IF NOT EXISTS entities (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    doc TEXT NOT NULL,
    modified_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS entities_modified_at ON entities (modified_at);
"""
# What queries look up, all derived from the documents of table entities. Table attr_values is clustered by
# entity, so probing one entity's values is one seek; its index by value also holds seq (and relationship),
# so listing the entities with a value never reads the table.
_INDEX_TABLES = ("entity_types", "attr_values", "path_ids", "geo_shapes", "geo_index")
_INDEX_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS entity_types (
        type TEXT NOT NULL,
        seq INTEGER NOT NULL,
        PRIMARY KEY (type, seq)
    ) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS entity_types_seq ON entity_types (seq)",
    """CREATE TABLE IF NOT EXISTS attr_values (
        seq INTEGER NOT NULL,
        path INTEGER NOT NULL,
        kind TEXT NOT NULL,
        val NOT NULL,
        instance INTEGER NOT NULL,
        relationship INTEGER NOT NULL,
        PRIMARY KEY (seq, path, kind, val, instance)
    ) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS attr_values_lookup ON attr_values (path, kind, val, relationship) WHERE path > 0",
    "CREATE TABLE IF NOT EXISTS path_ids (id INTEGER PRIMARY KEY, iri TEXT NOT NULL UNIQUE)",
    """CREATE TABLE IF NOT EXISTS geo_shapes (
        id INTEGER PRIMARY KEY,
        seq INTEGER NOT NULL,
        path TEXT NOT NULL,
        geometry TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS geo_shapes_seq ON geo_shapes (seq)",
    "CREATE VIRTUAL TABLE IF NOT EXISTS geo_index USING rtree (id, min_x, max_x, min_y, max_y)",
)

# Discovery of types and attributes. The distinct values of an indexed column are found by a skip-scan, one index
# seek per value, so listing them costs little however many entities there are. A top-level attribute instance
# has one 'exists' value row, whose value is its attribute type; the paths of sub-attributes and metadata hold the
# separator, those of members of values a '['.
_ALL_TYPES = """WITH RECURSIVE types(type) AS (
    SELECT MIN(type) FROM entity_types
    UNION ALL SELECT (SELECT MIN(type) FROM entity_types WHERE type > types.type) FROM types WHERE type IS NOT NULL
)"""
_ALL_PATHS = """WITH paths(id, path) AS (SELECT id, iri FROM path_ids p WHERE id > 0
    AND EXISTS (SELECT 1 FROM attr_values WHERE path = p.id AND path > 0 AND kind = 'exists'))"""
_ONE_PATH = "WITH paths(id, path) AS (SELECT id, iri FROM path_ids WHERE iri = ?)"
_INSTANCES = "paths p CROSS JOIN attr_values a ON a.path = p.id AND a.path > 0 AND a.kind = 'exists'"
_TYPED_INSTANCES = f"{_INSTANCES} CROSS JOIN entity_types t ON t.seq = a.seq"


def _top_level(path: str) -> str:
    """The SQL condition that `path` (a column) is the path of a top-level attribute (false for NULL)."""
    return f"{path} != '{SCOPE_PATH}' AND instr({path}, '{SEPARATOR}') = 0 AND instr({path}, '[') = 0"


@served
class SQLiteStore(SubscriptionTables, EntityStore):
    def __init__(self, location: str) -> None:
        self.root = Path(location or "data")
        self.driver_cap = DRIVER_CAP
        self.on_change: Callable[[str], None] | None = None
        """Called with the tenant after a write that recorded changes for the notifier."""
        self._connections: dict[str, sqlite3.Connection] = {}
        self._writers: dict[str, GroupWriter] = {}
        self._path_ids: dict[str, PathIds] = {}
        self._prepared: Prepared = {}
        self._checkpointer: Checkpointer | None = None

    async def open(self) -> None:
        self._checkpointer = Checkpointer(lambda: [self._path(tenant) for tenant in tuple(self._connections)])
        self._connection(DEFAULT_TENANT, True)

    async def aclose(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.close()
            self._checkpointer = None
        self._close_all()

    async def tenant_exists(self, tenant: str) -> bool:
        return tenant == DEFAULT_TENANT or tenant in self._connections or self._path(tenant).exists()

    def context_documents(self, data_dir: Path) -> ContextDocuments:
        """Files under the data directory, as the embedded store's other files (see context_files)."""
        return ContextFiles(data_dir)

    async def tenants(self) -> list[str]:
        others = sorted(unquote(path.stem) for path in (self.root / "tenants").glob("*.sqlite"))
        return [DEFAULT_TENANT, *others]

    async def write(self, tenant: str, changes: Sequence[Change], *, create_tenant: bool = False) -> list[Outcome]:
        changes = self.checked(tenant, changes)
        connection = self._connection(tenant, create_tenant)
        # The rows of the new entities are computed here, while another request's group may hold the write lock;
        # not for an entity already stored (an upsert replaces it: its rows are compared in the transaction).
        created = [(change.created, change.replaces) for change in changes if change.created is not None]
        replacing = {entity["id"] for entity, replaces in created if replaces}
        stored = {entity_id for entity_id, in _by_id(connection, "", replacing)}
        prepared = {id(entity): (entity, _stored_rows(entity)) for entity, _ in created if entity["id"] not in stored}
        self._prepared.update(prepared)
        try:
            return await self._writers[tenant].write(changes)
        finally:
            for key in prepared:
                del self._prepared[key]

    async def get(self, tenant: str, entity_id: str) -> Entity | None:
        row = self._connection(tenant, False).execute("SELECT doc FROM entities WHERE id = ?", (entity_id,)).fetchone()
        return None if row is None else orjson.loads(row[0])

    async def get_many(self, tenant: str, entity_ids: set[str]) -> list[Entity]:
        if not entity_ids or not await self.tenant_exists(tenant):
            return []
        with snapshot(self._connection(tenant, False)) as connection:
            return [orjson.loads(doc) for _, doc in _stored(connection, entity_ids).values()]

    async def query(self, tenant: str, query: EntityQuery) -> QueryResult:
        entities: list[Entity] = []
        count = None
        connection = self._connection(tenant, False)
        with time_limit(connection, self.query_timeout), snapshot(connection):
            if query.limit > 0:
                entities = [orjson.loads(doc) for doc in page_documents(connection, query, self.driver_cap)]
            if query.count:
                total = count_statement(connection, query, self.driver_cap)
                count = connection.execute(total.text, total.params).fetchone()[0]
        return QueryResult(entities, count)

    async def entity_types(self, tenant: str) -> list[str]:
        rows = self._connection(tenant, False).execute(
            f"{_ALL_TYPES} SELECT type FROM types WHERE type IS NOT NULL ORDER BY type"
        )
        return [entity_type for (entity_type,) in rows]

    async def type_details(self, tenant: str, entity_type: str | None = None) -> list[TypeDetails]:
        if entity_type is None:
            params: tuple[str, ...] = ()
            counts_sql = "SELECT type, COUNT(*) FROM entity_types GROUP BY type ORDER BY type"
            attributes_sql = (
                f"{_ALL_PATHS} SELECT t.type, p.path, a.val FROM {_TYPED_INSTANCES} "
                f"WHERE {_top_level('p.path')} GROUP BY t.type, p.path, a.val"
            )
        else:
            params = (entity_type,)
            counts_sql = "SELECT type, COUNT(*) FROM entity_types WHERE type = ? GROUP BY type"
            attributes_sql = (
                "SELECT t.type, p.iri, a.val FROM entity_types t CROSS JOIN attr_values a ON a.seq = t.seq "
                "CROSS JOIN path_ids p ON p.id = a.path "
                f"WHERE t.type = ? AND a.kind = 'exists' AND {_top_level('p.iri')} GROUP BY t.type, p.iri, a.val"
            )
        with snapshot(self._connection(tenant, False)) as connection:
            counts = connection.execute(counts_sql, params).fetchall()
            rows = connection.execute(attributes_sql + " ORDER BY 1, 2, 3", params).fetchall()
        attributes: dict[str, dict[str, tuple[str, ...]]] = {}
        for type_iri, path, attribute_type in rows:
            by_path = attributes.setdefault(type_iri, {})
            by_path[path] = (*by_path.get(path, ()), attribute_type)
        return [TypeDetails(type_iri, count, attributes.get(type_iri, {})) for type_iri, count in counts]

    async def attribute_names(self, tenant: str) -> list[str]:
        rows = self._connection(tenant, False).execute(
            f"{_ALL_PATHS} SELECT p.path FROM paths p WHERE {_top_level('p.path')} ORDER BY p.path"
        )
        return [path for (path,) in rows]

    async def attribute_details(self, tenant: str, attribute: str | None = None) -> list[AttributeDetails]:
        paths, params = (_ALL_PATHS, ()) if attribute is None else (_ONE_PATH, (attribute,))
        where = f"WHERE {_top_level('p.path')}"
        with snapshot(self._connection(tenant, False)) as connection:
            counts = connection.execute(
                f"{paths} SELECT p.path, a.val, COUNT(*) FROM {_INSTANCES} {where} GROUP BY p.path, a.val "
                "ORDER BY p.path, a.val",
                params,
            ).fetchall()
            types = connection.execute(
                f"{paths} SELECT DISTINCT p.path, t.type FROM {_TYPED_INSTANCES} {where} ORDER BY p.path, t.type",
                params,
            ).fetchall()
        totals: dict[str, int] = {}
        attribute_types: dict[str, tuple[str, ...]] = {}
        for path, attribute_type, count in counts:
            totals[path] = totals.get(path, 0) + count
            attribute_types[path] = (*attribute_types.get(path, ()), attribute_type)
        type_iris: dict[str, tuple[str, ...]] = {}
        for path, type_iri in types:
            type_iris[path] = (*type_iris.get(path, ()), type_iri)
        return [AttributeDetails(path, total, attribute_types[path], type_iris[path]) for path, total in totals.items()]

    def _path(self, tenant: str) -> Path:
        if tenant == DEFAULT_TENANT:
            return self.root / "entities.sqlite"
        return self.root / "tenants" / f"{quote(tenant, safe='')}.sqlite"

    def _connection(self, tenant: str, create: bool) -> sqlite3.Connection:
        connection = self._connections.get(tenant)
        if connection is not None:
            return connection
        path = self._path(tenant)
        if not create and not path.exists():
            raise NonexistentTenant(f"Tenant '{tenant}' does not exist")
        path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(path, isolation_level=None, check_same_thread=True, factory=PlannedConnection)
        _set_wal_mode(connection)
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute("PRAGMA busy_timeout=5000")
        # 32 MB of page cache and no memory map: pages read through a map count in the worker's resident memory.
        # With 100,000 entities stored: 208 MB per worker with a 256 MB map and 64 MB of cache, 131 MB now
        # (python -m bench.http --only rss). Reading through the OS's file cache costs GET by id about 5 %.
        connection.execute("PRAGMA cache_size=-32768")
        connection.execute("PRAGMA temp_store=MEMORY")
        # An opened store checkpoints in a thread; a store used without open() keeps SQLite's own checkpoints.
        connection.execute(f"PRAGMA wal_autocheckpoint={0 if self._checkpointer else 10000}")
        connection.create_function("regexp", 2, search, deterministic=True)
        connection.create_function("scope_match", 2, _scope_match, deterministic=True)
        connection.create_function("geo_match", 5, _geo_match, deterministic=True)
        connection.create_function("geo_distance", 2, _geo_distance, deterministic=True)
        connection.create_function("system_times", 2, _system_times, deterministic=True)
        connection.executescript(_ENTITIES + SUBSCRIPTION_TABLES)
        self._path_ids[tenant] = PathIds()
        _migrate_index(connection, self._path_ids[tenant])
        self._connections[tenant] = connection
        paths = self._path_ids[tenant]
        self._writers[tenant] = GroupWriter(connection, partial(_apply_group, paths, self._prepared), paths.settled,
                                            lambda written: self._changed(tenant))
        return connection

    def _changed(self, tenant: str) -> None:
        if self.on_change is not None:
            self.on_change(tenant)

    def _close_all(self) -> None:
        for connection in self._connections.values():
            connection.close()
        self._connections.clear()
        self._writers.clear()
        self._path_ids.clear()



def _only(column: str, value: str | None) -> tuple[str, tuple[str, ...]]:
    """A condition keeping the rows whose `column` is `value`, or every row when `value` is None."""
    return ("1", ()) if value is None else (f"{column} = ?", (value,))


def _stored(connection: sqlite3.Connection, entity_ids: set[str]) -> dict[str, tuple[int, str]]:
    """The seq and document of each of the entities that exist."""
    return {entity_id: (seq, doc) for entity_id, seq, doc in _by_id(connection, ", seq, doc", entity_ids)}


def _by_id(connection: sqlite3.Connection, columns: str, entity_ids: set[str]) -> Iterator[tuple[Any, ...]]:
    """The id and `columns` (", a, b") of each of the entities that exist."""
    ids = list(entity_ids)
    for start in range(0, len(ids), _IDS_PER_STATEMENT):
        chunk = ids[start:start + _IDS_PER_STATEMENT]
        marks = ", ".join("?" * len(chunk))
        yield from connection.execute(f"SELECT id{columns} FROM entities WHERE id IN ({marks})", chunk)


def _apply_group(paths: PathIds, prepared: Prepared, connection: sqlite3.Connection,
                 requests: Sequence[Sequence[Change]], alone: bool) -> tuple[list[list[Outcome] | Exception], Written]:
    """Writes the changes of the requests in the open transaction, each request inside a savepoint unless it is
    `alone` in it; returns the outcomes of each (or the error that rolled it back) and, when the tenant has
    subscriptions, what changed."""
    stored = _stored(connection, {change.entity_id for changes in requests for change in changes})
    written: Written = []
    index = _Index(connection, paths, prepared)
    if alone:
        results: list[list[Outcome] | Exception] = [[_apply(index, stored, change, written)
                                                     for change in requests[0]]]
    else:
        results = [_apply_request(index, stored, changes, written) for changes in requests]
    return results, written if record_changes(connection, written) else []


def _apply_request(index: _Index, stored: dict[str, tuple[int, str]], changes: Sequence[Change],
                   written: Written) -> list[Outcome] | Exception:
    connection, paths = index.connection, index.paths
    connection.execute("SAVEPOINT request")
    kept = len(written)
    try:
        outcomes = [_apply(index, stored, change, written) for change in changes]
    except Exception as error:
        if not connection.in_transaction:
            raise  # SQLite rolled the whole transaction back (a full disk, say): the group fails
        connection.execute("ROLLBACK TO request")
        paths.settled(False)
        del written[kept:]
        ids = {change.entity_id for change in changes}
        for entity_id in ids:
            stored.pop(entity_id, None)
        stored.update(_stored(connection, ids))
        return error
    finally:
        if connection.in_transaction:
            connection.execute("RELEASE request")
    return outcomes


Prepared = dict[int, tuple[Entity, list[Row]]]
"""The rows of entities about to be created, computed before the transaction, by the id of the entity object."""


@dataclass(frozen=True, slots=True)
class _Index:
    """What the writes of a transaction update the index with: its connection, the path ids of the file, and
    the rows prepared for new entities."""

    connection: sqlite3.Connection
    paths: PathIds
    prepared: Prepared

    def rows(self, entity: Entity) -> list[Row]:
        found = self.prepared.get(id(entity))
        return found[1] if found is not None and found[0] is entity else _stored_rows(entity)


def _apply(index: _Index, stored: dict[str, tuple[int, str]], change: Change, written: Written) -> Outcome:
    """Writes one change, and keeps `stored` up to date for the changes of the same entity that follow;
    adds (before, after, when) to `written` when the entity changed."""
    connection, paths = index.connection, index.paths
    seq, doc = stored.get(change.entity_id, (None, None))
    before = None if doc is None else orjson.loads(doc)
    try:
        entity = change.apply(before)
    except NgsiLdError as error:
        return Outcome(doc is not None, error)
    if entity is None:
        if seq is not None:
            _delete_index(connection, seq)
            connection.execute("DELETE FROM entities WHERE seq = ?", (seq,))
            del stored[change.entity_id]
            written.append((doc, None, utc_now()))
        return Outcome(doc is not None)
    new_doc = orjson.dumps(entity).decode()
    if seq is None:
        seq = connection.execute(
            "INSERT INTO entities (id, doc, modified_at) VALUES (?, ?, ?) RETURNING seq",
            (entity["id"], new_doc, entity["modifiedAt"]),
        ).fetchone()[0]
        _write_index(connection, paths, seq, entity, index.rows(entity))
    elif doc is not None and new_doc != doc:
        connection.execute("UPDATE entities SET doc = ?, modified_at = ? WHERE seq = ?",
                           (new_doc, entity["modifiedAt"], seq))
        _update_index(connection, paths, seq, orjson.loads(doc), entity)  # `before` may be `entity`, changed
    stored[change.entity_id] = (seq, new_doc)
    if new_doc != doc:
        written.append((doc, new_doc, entity["modifiedAt"]))
    return Outcome(doc is not None)


def _set_wal_mode(connection: sqlite3.Connection) -> None:
    """Puts the file in WAL mode (it stays so). A new file opened by two processes at once is in rollback mode:
    when one of them holds its write lock, SQLite answers the other one's change of mode "locked" at once,
    without its busy handler (which could deadlock there), so it is tried again for a while."""
    deadline = time.monotonic() + _OPEN_WAIT
    while True:
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            locked = error.sqlite_errorcode in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
            if not locked or time.monotonic() > deadline:
                raise
            time.sleep(0.005)


def _migrate_index(connection: sqlite3.Connection, paths: PathIds) -> None:
    """Creates the index tables, or re-creates them from the documents when they are of another version."""
    if connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
        return
    with transaction(connection):
        if connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
            return  # another process did it while this one waited for the lock
        for table in _INDEX_TABLES:
            connection.execute(f"DROP TABLE IF EXISTS {table}")
        for statement in _INDEX_SCHEMA:
            connection.execute(statement)
        for seq, doc in connection.execute("SELECT seq, doc FROM entities").fetchall():
            entity = orjson.loads(doc)
            _write_index(connection, paths, seq, entity, _stored_rows(entity))
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    paths.settled(True)


def _stored_rows(entity: Entity) -> list[Row]:
    """The rows of the entity that table attr_values keeps: all but those of the system times of its instances,
    which queries read from the document (sqlite_compile)."""
    return entity_rows(entity, INDEXED_METADATA)


def _write_index(connection: sqlite3.Connection, paths: PathIds, seq: int, entity: Entity, rows: list[Row]) -> None:
    """Writes what the queries look up: the entity's types, its value rows and its geometries."""
    connection.executemany("INSERT INTO entity_types (type, seq) VALUES (?, ?)", [(t, seq) for t in entity["type"]])
    connection.executemany(_INSERT_ROW, [(seq, *row) for row in _index_rows(connection, paths, rows)])
    for path, geometry in _geometries(entity):
        _write_geometry(connection, seq, path, geometry)


def _update_index(connection: sqlite3.Connection, paths: PathIds, seq: int, before: Entity, entity: Entity) -> None:
    """Brings what the queries look up from the entity as it was to the entity as it is: only the rows that
    differ are written (an update of one attribute changes a few of them), and when the entity keeps its
    attributes and instances, only the rows of the attributes that changed are computed."""
    if sorted(before["type"]) != sorted(entity["type"]):
        connection.execute("DELETE FROM entity_types WHERE seq = ?", (seq,))
        connection.executemany("INSERT INTO entity_types (type, seq) VALUES (?, ?)", [(t, seq) for t in entity["type"]])
    changed = changed_rows(before, entity, INDEXED_METADATA)
    if changed is None:
        rows_before = set(connection.execute(
            "SELECT path, kind, val, instance, relationship FROM attr_values WHERE seq = ?", (seq,)))
        rows = set(_index_rows(connection, paths, _stored_rows(entity)))
        removed, added = rows_before - rows, rows - rows_before
    else:
        removed, added = (set(_index_rows(connection, paths, part)) for part in changed)
    connection.executemany(_DELETE_ROW, [(seq, *row[:4]) for row in removed])
    connection.executemany(_INSERT_ROW, [(seq, *row) for row in added])
    geometries = _geometries(entity)
    if geometries != _geometries(before):
        _delete_geometries(connection, seq)
        for path, geometry in geometries:
            _write_geometry(connection, seq, path, geometry)


_INSERT_ROW = ("INSERT OR IGNORE INTO attr_values (seq, path, kind, val, instance, relationship) "
               "VALUES (?, ?, ?, ?, ?, ?)")
_DELETE_ROW = "DELETE FROM attr_values WHERE seq = ? AND path = ? AND kind = ? AND val = ? AND instance = ?"


def _index_rows(connection: sqlite3.Connection, paths: PathIds, rows: Iterable[Row]) -> list[tuple[Any, ...]]:
    """Value rows as stored (path id, kind, value, instance, relationship as 0 or 1)."""
    path_id = paths.id
    return [(path_id(connection, row.path), row.kind, row.value, row.instance, int(row.relationship))
            for row in rows]


def _geometries(entity: Entity) -> list[tuple[str, Any]]:
    """The (path, geometry) of the entity's GeoProperty instances."""
    return [(path, instance["value"]) for path, instances in entity["attrs"].items()
            for instance in instances if instance["type"] == "GeoProperty"]


def _write_geometry(connection: sqlite3.Connection, seq: int, path: str, geometry: dict[str, Any]) -> None:
    min_x, min_y, max_x, max_y = bounds(geometry)
    cursor = connection.execute(
        "INSERT INTO geo_shapes (seq, path, geometry) VALUES (?, ?, ?)", (seq, path, orjson.dumps(geometry).decode())
    )
    connection.execute(
        "INSERT INTO geo_index (id, min_x, max_x, min_y, max_y) VALUES (?, ?, ?, ?, ?)",
        (cursor.lastrowid, min_x, max_x, min_y, max_y),
    )


def _delete_index(connection: sqlite3.Connection, seq: int) -> None:
    connection.execute("DELETE FROM entity_types WHERE seq = ?", (seq,))
    connection.execute("DELETE FROM attr_values WHERE seq = ?", (seq,))
    _delete_geometries(connection, seq)


def _delete_geometries(connection: sqlite3.Connection, seq: int) -> None:
    connection.execute("DELETE FROM geo_index WHERE id IN (SELECT id FROM geo_shapes WHERE seq = ?)", (seq,))
    connection.execute("DELETE FROM geo_shapes WHERE seq = ?", (seq,))


def _scope_match(levels: str, scope: str) -> bool:
    return scope_matches(tuple(levels.split("/")), scope)


def _geo_match(relation: str, geometry: str, max_distance: float | None, min_distance: float | None,
               target: str) -> bool:
    return geo_matches(GeoQuery(relation, geometry, max_distance=max_distance, min_distance=min_distance),
                       orjson.loads(target))


def _system_times(doc: str, path: str) -> str:
    return orjson.dumps(system_time_values(orjson.loads(doc), path)).decode()


def _geo_distance(geometry: str, target: str) -> float:
    return distance_metres(GeoQuery("near", geometry), orjson.loads(target))

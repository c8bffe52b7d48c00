"""The MongoDB side of the store-level query tests: a SecantusDB server on a free loopback port (a real MongoDB
when MONGODB_URL is set), and the compiled pipelines of broker.store.mongo_query run on documents inserted with
`entity_document`, without the store class."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import pymongo
from pymongo import IndexModel
from pymongo.collection import Collection
from pymongo.database import Database

from broker.store import EntityQuery
from broker.store.mongo_layout import entity_document, geometry_documents
from broker.store.mongo_query import GEOMETRY_INDEXES, INDEXES, checked_page, count_pipeline, needs_check, page_pipeline
from ngsi_ld.entity import Entity
from tests.conftest import free_port
from tests.mongodb import SecantusServer, given_url

Document = dict[str, Any]


@contextmanager
def mongo_database(name: str) -> Iterator[Database[Document]]:
    """A fresh database `name` on MONGODB_URL, or on a SecantusDB server started for the duration."""
    url = given_url()
    if url:
        yield from _database(url, name)
        return
    directory = Path(tempfile.mkdtemp(prefix="secantus-"))
    try:
        with SecantusServer(directory, free_port()) as server:
            yield from _database(server.url, name)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _database(url: str, name: str) -> Iterator[Database[Document]]:
    client: pymongo.MongoClient[Document] = pymongo.MongoClient(url, serverSelectionTimeoutMS=1000)
    client.drop_database(name)
    try:
        yield client[name]
    finally:
        client.drop_database(name)
        client.close()


def fresh_entities(database: Database[Document], entities: list[Entity], name: str = "entities",
                   indexes: list[IndexModel] = INDEXES) -> Collection[Document]:
    """The collection `name` with `indexes`, holding exactly the documents of `entities` (created in that order),
    and beside it their geometries, in `geometries_of(collection)`."""
    collection, geometries = database[name], geometries_of(database[name])
    if not collection.index_information():
        collection.create_indexes(indexes)
        geometries.create_indexes(GEOMETRY_INDEXES)
    collection.delete_many({})
    geometries.delete_many({})
    if entities:
        collection.insert_many([entity_document(entity, seq) for seq, entity in enumerate(entities, 1)])
    if any(geometry_documents(entity) for entity in entities):
        geometries.insert_many([document for entity in entities for document in geometry_documents(entity)])
    return collection


def geometries_of(collection: Collection[Document]) -> Collection[Document]:
    """The collection of the geometries of the entities in `collection` (the store's `geometries`)."""
    return collection.database[f"{collection.name}_geometries"]


def mongo_query(collection: Collection[Document], query: EntityQuery) -> tuple[list[str], int | None]:
    """The ids of the query's page and (when it asks for it) the number of matches, as the MongoDB store computes
    them."""
    count = None
    if needs_check(query):
        geometries = geometries_of(collection)
        source = geometries if query.selection.geo is not None else collection
        candidates = source.aggregate(page_pipeline(query, collection.name, geometries.name))
        documents, count = checked_page(query, [found["doc"] for found in candidates])
        return [orjson.loads(doc)["id"] for doc in documents], count
    documents = [found["doc"] for found in collection.aggregate(page_pipeline(query))]
    if query.count:
        counted = list(collection.aggregate(count_pipeline(query)))
        count = counted[0]["count"] if counted else 0
    return [orjson.loads(doc)["id"] for doc in documents], count

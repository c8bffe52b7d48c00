"""Stores of entities, chosen by the scheme of the store URL."""

from __future__ import annotations

from importlib import import_module

from broker.store.base import (
    CACHED,
    CONTEXT_KINDS,
    DEAD_LETTERED,
    DEFAULT_TENANT,
    HOSTED,
    IMPLICIT,
    AttributeDetails,
    Change,
    ContextDocuments,
    DeadLetter,
    EntityChange,
    EntityQuery,
    EntityStore,
    NewNotification,
    Outcome,
    PendingNotification,
    QueryResult,
    StoredContext,
    StoredSubscription,
    StoreUnavailable,
    SubscriptionChange,
    TypeDetails,
    creation,
)

__all__ = [
    "CACHED",
    "CONTEXT_KINDS",
    "DEAD_LETTERED",
    "DEFAULT_TENANT",
    "HOSTED",
    "IMPLICIT",
    "AttributeDetails",
    "Change",
    "ContextDocuments",
    "DeadLetter",
    "EntityChange",
    "EntityQuery",
    "EntityStore",
    "NewNotification",
    "Outcome",
    "PendingNotification",
    "QueryResult",
    "StoreUnavailable",
    "StoredContext",
    "StoredSubscription",
    "SubscriptionChange",
    "TypeDetails",
    "creation",
    "open_store",
]

BACKENDS = {
    "sqlite": "broker.store.sqlite:SQLiteStore",
    "mongodb": "broker.store.mongo:MongoStore",
    "mongodb+srv": "broker.store.mongo:MongoStore",
}


def open_store(url: str) -> EntityStore:
    """The store for `url` (sqlite:///path/to/dir, mongodb://host:port/database?options); its driver is imported
    only when it is chosen. The MongoDB store gets the whole URL, the others what follows the scheme."""
    scheme, _, location = url.partition("://")
    if scheme not in BACKENDS:
        raise ValueError(f"No store for the URL scheme '{scheme}' (known: {', '.join(BACKENDS)})")
    module_name, _, class_name = BACKENDS[scheme].partition(":")
    store_class = getattr(import_module(module_name), class_name)
    assert issubclass(store_class, EntityStore)
    return store_class(url if scheme.startswith("mongodb") else location)  # type: ignore[no-any-return]

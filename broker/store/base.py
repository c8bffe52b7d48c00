"""The store interface: every backend keeps entities of many tenants, in their expanded form."""

from __future__ import annotations

import fcntl
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TextIO, TypeVar

from ngsi_ld.entity import Entity
from ngsi_ld.errors import AlreadyExists, NgsiLdError, OperationNotSupported, ResourceNotFound, TooComplexQuery
from ngsi_ld.query.order import OrderKey
from ngsi_ld.query.selection import Selection

__all__ = [
    "CACHED", "CONTEXT_KINDS", "DEAD_LETTERED", "DEFAULT_TENANT", "HOSTED", "IMPLICIT", "AttributeDetails", "Change",
    "ContextDocuments", "DeadLetter",
    "EntityChange", "EntityQuery", "EntityStore", "NewNotification", "Outcome", "PendingNotification", "QueryResult",
    "StoreUnavailable", "StoredContext", "StoredSubscription", "SubscriptionChange", "TypeDetails", "creation",
    "too_many_subscriptions", "too_slow",
]

T = TypeVar("T")

DEFAULT_TENANT = ""
"""The tenant of requests without an NGSILD-Tenant header; it always exists."""

HOSTED = "Hosted"
CACHED = "Cached"
IMPLICIT = "ImplicitlyCreated"
CONTEXT_KINDS = (HOSTED, CACHED, IMPLICIT)
"""The kinds of the @contexts the broker keeps (clause 5.13)."""


class StoreUnavailable(NgsiLdError):
    """The database server cannot be reached (a 503: the request may be retried once it is back)."""

    status = 503
    title = "Store unavailable"


@dataclass(frozen=True, slots=True)
class EntityQuery:
    """What a query selects and which page of it to return: in creation order, by distance for geo 'near',
    or by the keys of `order` (orderBy) when it has some."""

    selection: Selection = Selection()
    limit: int = 20
    offset: int = 0
    count: bool = False
    order: tuple[OrderKey, ...] = ()


@dataclass(frozen=True, slots=True)
class Change:
    """The write of one entity: `apply` gets the stored entity (None when there is none, and its own copy to
    change) and returns the entity to store, or None to delete it; an NgsiLdError it raises leaves the entity
    as it was and becomes the change's outcome."""

    entity_id: str
    apply: Callable[[Entity | None], Entity | None]
    created: Entity | None = None
    """The entity that `apply` returns when none is stored, when the change knows it beforehand (a creation): a
    store may prepare what it writes for it before its transaction."""
    replaces: bool = False
    """Whether `apply` writes over a stored entity (an upsert) where a creation fails: only then is `created`
    worth looking up before it is prepared."""


def creation(entity: Entity) -> Change:
    """The change that stores a new entity (AlreadyExists when its id is taken)."""

    def absent(stored: Entity | None) -> Entity:
        if stored is not None:
            raise AlreadyExists(f"Entity '{entity['id']}' already exists")
        return entity
    return Change(entity["id"], absent, entity)


def too_slow(seconds: float) -> TooComplexQuery:
    """The error of a query that ran longer than `seconds` in the store."""
    return TooComplexQuery(f"The query took more than {seconds:g} s: the limit query_timeout is {seconds:g}")


def too_many_subscriptions(most: int) -> OperationNotSupported:
    """The error of a subscription that a tenant holding `most` subscriptions cannot take."""
    return OperationNotSupported(f"The tenant holds {most} subscriptions: the limit max_subscriptions is {most}")


@dataclass(frozen=True, slots=True)
class Outcome:
    existed: bool
    """Whether the entity was stored before the change."""
    error: NgsiLdError | None = None


@dataclass(frozen=True, slots=True)
class QueryResult:
    entities: list[Entity]
    count: int | None = None


@dataclass(frozen=True, slots=True)
class TypeDetails:
    """An entity type that entities of a tenant have (names are IRIs; clauses 5.7.6, 5.7.7).

    `attributes` maps each top-level attribute of those entities to the attribute types of its
    instances (Property, Relationship, GeoProperty...), sorted.
    """

    type: str
    entity_count: int
    attributes: dict[str, tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class AttributeDetails:
    """A top-level attribute that entities of a tenant have (names are IRIs; clauses 5.7.9, 5.7.10).

    `count` is the number of its instances (one per datasetId per entity); `attribute_types` and
    `entity_types` are sorted.
    """

    name: str
    count: int
    attribute_types: tuple[str, ...]
    entity_types: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class StoredSubscription:
    """A subscription as kept: its payload as its author wrote it (without @context), that @context, and the
    state of its notifications (timesSent, timesFailed, lastNotification, lastSuccess, lastFailure,
    consecutiveErrors, status), which only deliveries change."""

    id: str
    payload: dict[str, Any]
    context: Any
    created_at: str
    modified_at: str
    state: dict[str, Any]


@dataclass(frozen=True, slots=True)
class EntityChange:
    """A committed write of one entity, recorded in the same transaction for the notifier (the outbox)."""

    seq: int
    before: Entity | None
    after: Entity | None
    at: str


@dataclass(frozen=True, slots=True)
class SubscriptionChange:
    """A committed create, update or delete of a subscription, recorded in the same log as entity changes, so
    that each entity change is matched against the subscriptions as they were when it was committed."""

    seq: int
    subscription_id: str
    subscription: StoredSubscription | None
    """What it became; None when it was deleted."""


@dataclass(frozen=True, slots=True)
class NewNotification:
    subscription_id: str
    notification_id: str
    notified_at: str
    data: list[Any]
    """The entities it carries, rendered (GeoJSON features for application/geo+json)."""
    coalesce: bool = False
    """Whether it may join the subscription's notification that waits unsent (throttling): its entities
    then replace those with the same id there."""


@dataclass(frozen=True, slots=True)
class PendingNotification:
    seq: int
    subscription_id: str
    notification_id: str
    notified_at: str
    data: list[Any]
    attempts: int
    not_before: float
    """Seconds since the epoch before which it is not (re)sent."""


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A notification whose receiver did not take it in time: set aside until an operator replays or purges it."""

    seq: int
    subscription_id: str
    notification_id: str
    notified_at: str
    data: list[Any]
    attempts: int
    dead_at: str


DEAD_LETTERED = "deadLettered"
"""The member of a subscription's delivery state that counts its dead letters. The store keeps it (the notifier
never writes it): moving notifications to the dead letters, replaying and purging them change it."""


@dataclass(frozen=True, slots=True)
class StoredContext:
    """A @context the broker keeps (clause 5.13): Hosted (added by a client), ImplicitlyCreated (made from a
    payload's @context that is not one URL) or Cached (a remote document, fetched from `url`)."""

    local_id: str
    kind: str
    created_at: str
    url: str | None = None
    """Where a Cached @context was fetched from; None for the others, which the broker serves itself."""
    document: Any = None
    """The JSON-LD document ({"@context": ...}); None in a listing."""


class ContextDocuments:
    """The @contexts the broker keeps, shared by every process of the store: each sees the others' at once, and
    learns through `version` when one it may hold in memory was deleted or replaced."""

    async def add(self, stored: StoredContext) -> bool:
        """Keeps a @context unless one of its local id is kept already; whether it was added."""
        raise NotImplementedError()  # pragma: no cover

    async def put(self, stored: StoredContext) -> None:
        """Keeps a @context, in place of the one of its local id if there is one."""
        raise NotImplementedError()  # pragma: no cover

    async def get(self, local_id: str) -> StoredContext | None:
        raise NotImplementedError()  # pragma: no cover

    async def all(self) -> list[StoredContext]:
        """Every kept @context, without its document, oldest first."""
        raise NotImplementedError()  # pragma: no cover

    async def delete(self, local_id: str) -> bool:
        """Deletes a @context; False when there was none."""
        raise NotImplementedError()  # pragma: no cover

    async def version(self) -> object:
        """A value that changes when a process deletes or replaces a @context (it may change on additions too):
        cheap, but it may cost a round trip to the database."""
        raise NotImplementedError()  # pragma: no cover


class EntityStore:
    """Entities per tenant. A tenant comes into being with its first entity."""

    validate: Callable[[str, Entity], None] | None = None
    """Checks an entity as it is about to be stored (tenant, entity); an NgsiLdError it raises fails that
    entity's change. Every backend calls it through `checked`."""

    query_timeout = 30.0
    """Seconds a query (`query`) may run in the store before it is given up: TooComplexQuery."""

    changes_watched = False
    """Whether the store calls `on_change` for the changes other processes record too (a change stream), so
    that the notifier need not look for them often."""

    _lock_file: TextIO | None = None

    def checked(self, tenant: str, changes: Sequence[Change]) -> Sequence[Change]:
        """The changes, each followed by `validate` on the entity it makes."""
        validate = self.validate
        if validate is None:
            return changes

        def checking(apply: Callable[[Entity | None], Entity | None]) -> Callable[[Entity | None], Entity | None]:
            def apply_and_check(stored: Entity | None) -> Entity | None:
                entity = apply(stored)
                if entity is not None:
                    validate(tenant, entity)
                return entity
            return apply_and_check
        return [replace(change, apply=checking(change.apply)) for change in changes]

    async def open(self) -> None:
        """Prepares the store for use (creates files, connects)."""

    async def aclose(self) -> None:
        """Releases what `open` took."""

    async def __aenter__(self) -> EntityStore:
        await self.open()
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.aclose()

    async def tenant_exists(self, tenant: str) -> bool:
        raise NotImplementedError()  # pragma: no cover

    async def ping(self) -> None:
        """Returns when the store answers; StoreUnavailable when it cannot be reached (a store in this process's
        own files always can)."""

    def context_documents(self, data_dir: Path) -> ContextDocuments:
        """Where the broker keeps its @contexts: with the store, so that every process sharing it sees them;
        `data_dir` is the broker's data directory. Valid from `open` to `aclose`."""
        raise NotImplementedError()  # pragma: no cover

    # Leadership of the notifier: one process of those sharing the store plays the log of changes. By default
    # it is the one holding a lock file in the data directory (processes of one machine); a store that
    # processes of several machines share keeps a lease in its database instead.

    async def take_lead(self, lock_path: Path) -> bool:
        """Makes this process the notifier's leader if no other process is; whether it leads now."""
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        lock_file = lock_path.open("a")
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock_file.close()
            return False
        self._lock_file = lock_file
        return True

    async def keep_lead(self) -> bool:
        """Called every few seconds by the leader: whether it still leads (a lease is renewed)."""
        return self._lock_file is not None

    async def give_up_lead(self) -> None:
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None

    async def write(self, tenant: str, changes: Sequence[Change], *, create_tenant: bool = False) -> list[Outcome]:
        """Applies the changes in order, in one transaction, and gives the outcome of each.

        Each entity is written whole or not at all; a later change of the same entity sees what the earlier
        one made of it. NonexistentTenant when the tenant does not exist, unless `create_tenant`.
        """
        raise NotImplementedError()  # pragma: no cover

    async def get(self, tenant: str, entity_id: str) -> Entity | None:
        raise NotImplementedError()  # pragma: no cover

    async def get_many(self, tenant: str, entity_ids: set[str]) -> list[Entity]:
        """The entities of these ids that exist, read together (linked entity retrieval reads a level of
        linked entities at once); none for a tenant that does not exist."""
        raise NotImplementedError()  # pragma: no cover

    async def create(self, tenant: str, entity: Entity) -> None:
        """Stores a new entity; AlreadyExists when its id is taken."""
        await self._write_one(tenant, creation(entity), create_tenant=True)

    async def modify(self, tenant: str, entity_id: str, change: Callable[[Entity], T]) -> T:
        """Runs `change` on the stored entity and stores what it made of it, in one transaction.

        ResourceNotFound when there is no such entity; any error raised by `change` leaves it untouched.
        """
        results: list[T] = []

        def changed(stored: Entity | None) -> Entity:
            if stored is None:
                raise ResourceNotFound(f"Entity '{entity_id}' does not exist")
            results.append(change(stored))
            return stored

        await self._write_one(tenant, Change(entity_id, changed))
        return results[-1]  # a store may run the change again, when its transaction met another

    async def delete(self, tenant: str, entity_id: str) -> bool:
        """Deletes an entity; False when there was none."""
        return (await self._write_one(tenant, Change(entity_id, lambda stored: None))).existed

    async def _write_one(self, tenant: str, change: Change, *, create_tenant: bool = False) -> Outcome:
        [outcome] = await self.write(tenant, [change], create_tenant=create_tenant)
        if outcome.error is not None:
            raise outcome.error
        return outcome

    async def query(self, tenant: str, query: EntityQuery) -> QueryResult:
        raise NotImplementedError()  # pragma: no cover

    # Discovery (clauses 5.7.5-5.7.10): the tenant's types and top-level attributes; NonexistentTenant for a
    # tenant that does not exist.

    async def entity_types(self, tenant: str) -> list[str]:
        """The types (IRIs) that at least one entity of the tenant has, sorted."""
        raise NotImplementedError()  # pragma: no cover

    async def type_details(self, tenant: str, entity_type: str | None = None) -> list[TypeDetails]:
        """Every type that entities of the tenant have, sorted, or only `entity_type` (an IRI).

        An empty list when no entity has `entity_type`.
        """
        raise NotImplementedError()  # pragma: no cover

    async def attribute_names(self, tenant: str) -> list[str]:
        """The top-level attributes (IRIs) that at least one entity of the tenant has, sorted."""
        raise NotImplementedError()  # pragma: no cover

    async def attribute_details(self, tenant: str, attribute: str | None = None) -> list[AttributeDetails]:
        """Every top-level attribute that entities of the tenant have, sorted, or only `attribute` (an IRI).

        An empty list when no entity has `attribute`.
        """
        raise NotImplementedError()  # pragma: no cover

    async def tenants(self) -> list[str]:
        """Every tenant of the store, the default one included."""
        raise NotImplementedError()  # pragma: no cover

    # Subscriptions (clause 5.8) and their notifications. Every entity write of a tenant that has subscriptions
    # records an EntityChange in its transaction, and every write of a subscription a SubscriptionChange, in
    # one log; the notifier turns the log into pending notifications and removes what it consumed in one
    # transaction, then settles each notification once delivered.

    async def create_subscription(self, tenant: str, subscription: StoredSubscription, most: int = 0) -> None:
        """AlreadyExists when its id is taken, `too_many_subscriptions(most)` when the tenant already holds
        `most` subscriptions (0: no limit); creates the tenant."""
        raise NotImplementedError()  # pragma: no cover

    async def subscription(self, tenant: str, subscription_id: str) -> StoredSubscription | None:
        raise NotImplementedError()  # pragma: no cover

    async def subscriptions(self, tenant: str, limit: int = 0, offset: int = 0) -> tuple[list[StoredSubscription], int]:
        """A page of the tenant's subscriptions in creation order (all of them when limit is 0), and their count."""
        raise NotImplementedError()  # pragma: no cover

    async def modify_subscription(
        self, tenant: str, subscription_id: str, change: Callable[[StoredSubscription], StoredSubscription]
    ) -> None:
        """Stores what `change` makes of the subscription, in one transaction; ResourceNotFound when absent."""
        raise NotImplementedError()  # pragma: no cover

    async def delete_subscription(self, tenant: str, subscription_id: str) -> bool:
        """Deletes a subscription and its pending notifications; False when there was none."""
        raise NotImplementedError()  # pragma: no cover

    async def subscriptions_before_changes(self, tenant: str) -> list[StoredSubscription]:
        """The tenant's subscriptions as they were before the oldest recorded change: where to start from to
        play the log of changes."""
        raise NotImplementedError()  # pragma: no cover

    async def changes(self, tenant: str, limit: int) -> list[EntityChange | SubscriptionChange]:
        """The oldest recorded changes, in the order they were committed."""
        raise NotImplementedError()  # pragma: no cover

    async def enqueue(
        self, tenant: str, notifications: Sequence[NewNotification], *, through: int | None = None,
        busy: frozenset[int] = frozenset(), backlog: int = 0,
    ) -> dict[str, int]:
        """Adds notifications (of subscriptions that still exist) and, in the same transaction, removes the
        changes up to seq `through`.

        A notification to coalesce joins the latest pending one of its subscription that was never sent and
        is not `busy`. When a subscription has more than `backlog` pending notifications (0: no limit), the
        oldest that are not busy are dropped; the answer counts them per subscription.
        """
        raise NotImplementedError()  # pragma: no cover

    async def pending(self, tenant: str, subscription_id: str, *, gather: int = 1) -> PendingNotification | None:
        """The oldest pending notification of a subscription. When it was never sent, the ones that follow it,
        up to `gather` notifications in all, are first merged into it (their entities appended to its data,
        in order), in one transaction: a backlog goes out in fewer messages, and a message once sent keeps
        its content and id."""
        raise NotImplementedError()  # pragma: no cover

    async def count_unsettled(self, tenant: str) -> None:
        """Counts one attempt for the oldest pending notification of each subscription where it has none: a
        leader that stopped may have sent it without recording so, and a message once sent keeps its content
        (it is not gathered with the ones that follow). Called by a leader as it takes up a tenant."""
        raise NotImplementedError()  # pragma: no cover

    async def pending_subscriptions(self, tenant: str) -> list[str]:
        """The subscriptions that have pending notifications."""
        raise NotImplementedError()  # pragma: no cover

    async def settle(
        self, tenant: str, notification: PendingNotification, state: dict[str, Any], *, delivered: bool,
        not_before: float = 0.0,
    ) -> None:
        """Records an attempt to deliver a notification, in one transaction: removes it when delivered, else
        counts the attempt and sets when to retry; stores the subscription's new delivery state."""
        raise NotImplementedError()  # pragma: no cover

    async def bury(self, tenant: str, notification: PendingNotification, state: dict[str, Any]) -> int:
        """Counts a failed attempt of `notification` (the oldest pending one of its subscription), then moves
        every pending notification of the subscription, in order, to the dead letters, and stores the
        subscription's new delivery state (its dead letters counted), in one transaction; how many moved."""
        raise NotImplementedError()  # pragma: no cover

    async def dead_letters(self, tenant: str, subscription_id: str | None = None) -> list[DeadLetter]:
        """The dead letters of a subscription (of every one when None), oldest first."""
        raise NotImplementedError()  # pragma: no cover

    async def replay_dead_letters(self, tenant: str, subscription_id: str | None = None) -> int:
        """Puts the dead letters of a subscription (of every one when None) back among its pending notifications,
        after those pending now, in their order and with their ids, to be sent at once; one that was sent counts
        one attempt (so it is not gathered with others: a message once sent keeps its content), one never sent
        none. The notifier learns of it through the log of changes. How many were put back."""
        raise NotImplementedError()  # pragma: no cover

    async def purge_dead_letters(self, tenant: str, subscription_id: str | None = None) -> int:
        """Deletes the dead letters of a subscription (of every one when None); how many."""
        raise NotImplementedError()  # pragma: no cover

"""The notifier: turns recorded entity changes into notifications and delivers them, in one worker at a time.

Every worker records the changes it commits (the store's outbox). The worker that the store makes the
leader (the one holding the lock file of the data directory, or the lease in MongoDB) leads: it matches
changes against the subscriptions, stores the notifications and removes the changes in one transaction, then
delivers each subscription's notifications in order, one at a time, retrying with backoff. A notification is
removed only once delivered, so after a crash or a restart the next leader delivers what was pending, with
the same notification id.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import uuid
from collections.abc import Coroutine, Iterable
from pathlib import Path
from typing import Any

from broker.contexts import ContextResolver
from broker.doorbell import Doorbell
from broker.linked import linked_entities
from broker.settings import Settings
from broker.store import (
    EntityQuery,
    EntityStore,
    NewNotification,
    PendingNotification,
    StoredSubscription,
    StoreUnavailable,
    SubscriptionChange,
)
from ngsi_ld.entity import Entity
from ngsi_ld.errors import NgsiLdError
from ngsi_ld.values import utc_now
from subscriptions.matcher import Event, Matcher, event_of
from subscriptions.model import Subscription, epoch_seconds, parse_subscription
from subscriptions.notification import entity_data, event_data, message, notified_entity
from subscriptions.notifiers import DeliveryError, Notifiers
from subscriptions.outbound import OutboundPolicy

__all__ = ["Notifier", "initial_state"]

log = logging.getLogger("scifi.notifier")

_CHANGES_PER_TRANSACTION = 500
_LEAD_RETRY_SECONDS = 1.0
_LEAD_RENEW_SECONDS = 2.0
_WATCHED_POLL_SECONDS = 5.0
"""Seconds between looks for changes while the store tells of those of other workers (a change stream)."""


def initial_state() -> dict[str, Any]:
    return {"timesSent": 0, "timesFailed": 0, "consecutiveErrors": 0}


class Notifier:
    def __init__(self, store: EntityStore, contexts: ContextResolver, settings: Settings,
                 outbound: OutboundPolicy | None = None) -> None:
        """`outbound`: the endpoints that may be called (see subscriptions/outbound.py)."""
        self._store = store
        self._contexts = contexts
        self._settings = settings
        self._notifiers = Notifiers(settings.notification_timeout, settings.notification_concurrency,
                                    settings.notification_ca_file or None, outbound)
        self._wakeup = asyncio.Event()
        self._doorbell = Doorbell(Path(settings.data_dir))
        self._leading = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._subscriptions: dict[str, dict[str, Subscription]] = {}
        self._matchers: dict[str, Matcher] = {}
        self._states: dict[tuple[str, str], dict[str, Any]] = {}
        self._last_sent: dict[tuple[str, str], float] = {}
        self._deliveries: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._look_again: set[tuple[str, str]] = set()
        """Deliveries told of new notifications while their task was running: it looks once more before ending."""
        self._periodic: dict[tuple[str, str], tuple[Subscription, asyncio.Task[None]]] = {}
        self._busy: set[int] = set()

    @property
    def leading(self) -> bool:
        """Whether this worker is the one that delivers notifications."""
        return self._leading

    def start(self) -> None:
        self._spawn(self._run())

    async def aclose(self) -> None:
        tasks = [*self._tasks, *self._deliveries.values(), *(task for _, task in self._periodic.values())]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._notifiers.aclose()
        self._doorbell.close()
        if self._leading:
            await self._store.give_up_lead()

    def wake(self, tenant: str) -> None:
        """Tells the notifier that a write of this worker recorded changes (the leader, when it is another)."""
        if self._leading:
            self._wakeup.set()
        elif not self._store.changes_watched:
            self._doorbell.ring()

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _run(self) -> None:
        """Waits to lead, then leads as long as the store says it does; when the lead is lost (a lease that
        another process took over), drops what it held and waits again."""
        while True:
            while not await self._take_lead():
                await asyncio.sleep(_LEAD_RETRY_SECONDS)
            self._leading = True
            await self._doorbell.listen(self._wakeup.set)
            log.info("notifier leads pid=%s", os.getpid())
            leading = self._spawn(self._lead())
            while await self._store.keep_lead():
                await asyncio.sleep(_LEAD_RENEW_SECONDS)
            log.warning("notifier lost the lead pid=%s", os.getpid())
            await self._drop_lead(leading)

    async def _take_lead(self) -> bool:
        try:
            return await self._store.take_lead(Path(self._settings.data_dir) / "notifier.lock")
        except NgsiLdError:  # the store is unreachable: try again
            return False

    async def _drop_lead(self, leading: asyncio.Task[None]) -> None:
        tasks = [leading, *self._deliveries.values(), *(task for _, task in self._periodic.values())]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._leading = False
        self._doorbell.close()
        for held in (self._deliveries, self._look_again, self._periodic, self._subscriptions, self._matchers,
                     self._states, self._last_sent):
            held.clear()

    async def _lead(self) -> None:
        while True:
            self._wakeup.clear()
            unavailable = False
            try:
                tenants = await self._store.tenants()
            except NgsiLdError as error:  # the store is unreachable: the next round tries again
                log.warning("notifier cannot list tenants error=%s", error.detail)
                tenants, unavailable = [], True
            for tenant in tenants:
                try:
                    if tenant not in self._subscriptions:
                        await self._load(tenant)
                    await self._dispatch(tenant)
                except StoreUnavailable as error:  # a full disk, a lost server: tried again a little later
                    log.warning("notifier tenant=%s error=%s", tenant, error.detail)
                    unavailable = True
                except Exception:  # one tenant's trouble must not stop the others' notifications
                    log.exception("notifier tenant=%s", tenant)
            poll = self._settings.notification_poll
            if self._store.changes_watched:
                poll = max(poll, _WATCHED_POLL_SECONDS)
            if unavailable:  # not a log line and a retry every few milliseconds while it lasts
                poll = max(poll, self._settings.notification_retry)
            try:
                await asyncio.wait_for(self._wakeup.wait(), poll)
            except TimeoutError:
                pass

    async def _load(self, tenant: str) -> None:
        """Takes up a tenant: its subscriptions as they were before the changes left to notify, and the
        deliveries they have pending."""
        stored = await self._store.subscriptions_before_changes(tenant)
        self._subscriptions[tenant] = {}
        try:
            for record in stored:
                await self._take(tenant, record.id, record)
        except StoreUnavailable:  # the next round takes the tenant up again
            del self._subscriptions[tenant]
            raise
        self._rebuild(tenant)
        await self._store.count_unsettled(tenant)
        for subscription_id in await self._store.pending_subscriptions(tenant):
            self._deliver_soon(tenant, subscription_id)

    async def _take(self, tenant: str, subscription_id: str, record: StoredSubscription | None) -> None:
        """Puts a subscription as stored (None: deleted) in the tenant's set. StoreUnavailable, with the set as it
        was, when the subscription's @contexts cannot be read from the store (its change is played again)."""
        subscriptions, key = self._subscriptions[tenant], (tenant, subscription_id)
        if record is None:
            subscriptions.pop(subscription_id, None)
            self._states.pop(key, None)
            self._last_sent.pop(key, None)
            return
        try:
            terms = await self._contexts.term_map(record.context)
            subscription = parse_subscription({**record.payload, "id": subscription_id}, terms, record.context)
        except StoreUnavailable:
            raise
        except NgsiLdError as error:
            subscriptions.pop(subscription_id, None)
            log.warning("subscription unusable tenant=%s id=%s error=%r", tenant, subscription_id, error)
            return
        subscriptions[subscription_id] = subscription
        self._states.setdefault(key, dict(record.state))

    def _rebuild(self, tenant: str) -> None:
        subscriptions = list(self._subscriptions[tenant].values())
        self._matchers[tenant] = Matcher(subscriptions)
        self._schedule_periodic(tenant, subscriptions)

    async def _dispatch(self, tenant: str) -> None:
        """Consumes the tenant's log of changes in order: an entity change is matched against the
        subscriptions as they were when it was committed."""
        while changes := await self._store.changes(tenant, _CHANGES_PER_TRANSACTION):
            now = time.time()
            made: dict[str, tuple[Subscription, list[list[Any]]]] = {}
            for change in changes:
                if isinstance(change, SubscriptionChange):
                    await self._take(tenant, change.subscription_id, change.subscription)
                    self._rebuild(tenant)
                    self._deliver_soon(tenant, change.subscription_id)  # it may have been resumed
                    continue
                event = event_of(change.before, change.after)
                for subscription in self._matchers[tenant].matching(event, now):
                    try:
                        data = await self._event_data(tenant, subscription, event, change.at)
                    except Exception:  # a change that cannot be rendered must not hold up those after it
                        log.exception("notification not made tenant=%s subscription=%s entity=%s",
                                      tenant, subscription.id, event.entity["id"])
                        continue
                    made.setdefault(subscription.id, (subscription, []))[1].append(data)
            await self._enqueue(tenant, self._gathered(made.values()), through=changes[-1].seq)

    def _gathered(self, made: Iterable[tuple[Subscription, list[list[Any]]]]) -> list[NewNotification]:
        """The notifications of changes consumed together: a subscription's data of up to SCIFI_NOTIFICATION_GATHER
        changes in one, as the store gathers pending notifications before their first attempt; a throttled
        subscription's one per change, which the store coalesces by entity."""
        gather, notifications = self._settings.notification_gather, list[NewNotification]()
        for subscription, data in made:
            if subscription.throttling > 0:
                notifications.extend(self._new(subscription, items) for items in data)
                continue
            for start in range(0, len(data), gather):
                notifications.append(self._new(subscription, [item for items in data[start:start + gather]
                                                              for item in items]))
        return notifications

    async def _event_data(self, tenant: str, subscription: Subscription, event: Event, at: str) -> list[Any]:
        """What a change notifies to a subscription: with join, with the entities it links to as the store
        holds them now."""
        entity = notified_entity(subscription, event, at)
        if entity is None:
            return event_data(subscription, event, at)
        return await self._entity_data(tenant, subscription, [entity])

    async def _entity_data(self, tenant: str, subscription: Subscription, entities: list[Entity]) -> list[Any]:
        if subscription.join is None:
            return entity_data(subscription, entities)
        linked = await linked_entities(self._store, tenant, entities, subscription.render, subscription.join)
        return entity_data(subscription, entities, linked)

    def _new(self, subscription: Subscription, data: list[Any]) -> NewNotification:
        return NewNotification(subscription.id, f"urn:ngsi-ld:Notification:{uuid.uuid4()}", utc_now(), data,
                               coalesce=subscription.throttling > 0)

    async def _enqueue(self, tenant: str, notifications: list[NewNotification], through: int | None = None) -> None:
        dropped = await self._store.enqueue(tenant, notifications, through=through, busy=frozenset(self._busy),
                                            backlog=self._settings.notification_backlog)
        for subscription_id, count in dropped.items():
            log.warning("notifications dropped tenant=%s subscription=%s count=%d reason=backlog of %d reached",
                        tenant, subscription_id, count, self._settings.notification_backlog)
        for subscription_id in {notification.subscription_id for notification in notifications}:
            self._deliver_soon(tenant, subscription_id)

    def _deliver_soon(self, tenant: str, subscription_id: str) -> None:
        key = (tenant, subscription_id)
        task = self._deliveries.get(key)
        if task is None or task.done():
            self._deliveries[key] = task = asyncio.create_task(self._deliver(tenant, subscription_id))
            task.add_done_callback(lambda done: self._delivery_ended(key, done))
        else:
            # Its look for pending notifications may have begun before this one was committed.
            self._look_again.add(key)

    def _delivery_ended(self, key: tuple[str, str], task: asyncio.Task[None]) -> None:
        """A delivery task that failed (a bug, a store error) logs why; its subscription's notifications stay
        pending and are taken up again after a retry delay."""
        if task.cancelled() or task.exception() is None:
            return
        log.error("delivery failed tenant=%s subscription=%s", *key, exc_info=task.exception())
        asyncio.get_running_loop().call_later(self._settings.notification_retry, self._deliver_soon, *key)

    async def _deliver(self, tenant: str, subscription_id: str) -> None:
        """Delivers the subscription's notifications in order until none is left (or it is paused or gone)."""
        key = (tenant, subscription_id)
        while True:
            subscription = self._subscriptions[tenant].get(subscription_id)
            if subscription is None or not subscription.active:
                return
            self._look_again.discard(key)
            pending = await self._store.pending(tenant, subscription_id, gather=self._settings.notification_gather)
            if pending is None:
                if key in self._look_again:
                    continue
                return
            wait = max(pending.not_before, self._last_sent.get(key, 0.0) + subscription.throttling) - time.time()
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            await self._attempt(tenant, subscription, pending)

    async def _attempt(self, tenant: str, subscription: Subscription, pending: PendingNotification) -> None:
        key = (tenant, subscription.id)
        body, headers = message(subscription, pending.notification_id, pending.notified_at, pending.data)
        self._busy.add(pending.seq)
        try:
            await self._notifiers.send(subscription.endpoint, body, headers, tenant)
            error = None
        except DeliveryError as exc:
            error = exc
        finally:
            self._busy.discard(pending.seq)
        self._last_sent[key] = time.time()
        state = self._states.setdefault(key, initial_state())
        now = utc_now()
        state.update(timesSent=state.get("timesSent", 0) + 1, lastNotification=now)
        if error is None:
            state.update(status="ok", lastSuccess=now, consecutiveErrors=0)
            await self._store.settle(tenant, pending, state, delivered=True)
            return
        errors = state.get("consecutiveErrors", 0) + 1
        state.update(status="failed", lastFailure=now, consecutiveErrors=errors,
                     timesFailed=state.get("timesFailed", 0) + 1)
        if self._given_up(pending):
            moved = await self._store.bury(tenant, pending, state)
            log.warning("notifications dead-lettered tenant=%s subscription=%s count=%d attempts=%d error=%s",
                        tenant, subscription.id, moved, pending.attempts + 1, error)
            return
        retry = min(self._settings.notification_retry_max, self._settings.notification_retry * 2 ** pending.attempts)
        log.warning("notification failed tenant=%s subscription=%s id=%s attempt=%d retry_in=%.1fs error=%s",
                    tenant, subscription.id, pending.notification_id, pending.attempts + 1, retry, error)
        await self._store.settle(tenant, pending, state, delivered=False, not_before=time.time() + retry)

    def _given_up(self, pending: PendingNotification) -> bool:
        """Whether the notification has been tried long enough: its subscription's waiting notifications then
        move to the dead letters, for an operator to replay or purge."""
        return (pending.attempts + 1 >= self._settings.notification_max_attempts
                or time.time() - epoch_seconds(pending.notified_at) >= self._settings.notification_dead_after)

    def _schedule_periodic(self, tenant: str, subscriptions: list[Subscription]) -> None:
        """Keeps one timer per periodic subscription (timeInterval), restarted when the subscription changes."""
        wanted = {(tenant, s.id): s for s in subscriptions if s.time_interval}
        for key, (subscription, task) in list(self._periodic.items()):
            if key[0] == tenant and wanted.get(key) != subscription:
                task.cancel()
                del self._periodic[key]
        for key, subscription in wanted.items():
            if key not in self._periodic:
                self._periodic[key] = (subscription, asyncio.create_task(self._every(tenant, subscription)))

    async def _every(self, tenant: str, subscription: Subscription) -> None:
        while True:
            try:
                if subscription.live(time.time()):
                    entities = await self._selected(tenant, subscription)
                    if entities:
                        data = await self._entity_data(tenant, subscription, entities)
                        await self._enqueue(tenant, [self._new(subscription, data)])
            except Exception:  # the next interval tries again
                log.exception("periodic notification failed tenant=%s subscription=%s", tenant, subscription.id)
            await asyncio.sleep(subscription.time_interval)

    async def _selected(self, tenant: str, subscription: Subscription) -> list[Any]:
        page_size, entities = self._settings.max_page_size, list[Any]()
        while True:
            query = EntityQuery(subscription.selection, limit=page_size, offset=len(entities))
            page = (await self._store.query(tenant, query)).entities
            entities.extend(page)
            if len(page) < page_size:
                return entities

"""Which subscriptions a committed entity change notifies (clauses 5.2.12, 5.11).

Subscriptions are indexed by the entity ids and types their selectors name, and by watched attribute when
they have no selector, so a change only looks at subscriptions that could match it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ngsi_ld.attributes import DEFAULT_DATASET, Instances
from ngsi_ld.entity import Entity
from subscriptions.model import Subscription, type_names

__all__ = ["Event", "Matcher", "event_of"]


@dataclass(frozen=True, slots=True)
class Event:
    """What one change did to an entity: its states, and the attributes it created, updated and deleted."""

    before: Entity | None
    after: Entity | None
    created: frozenset[str]
    updated: frozenset[str]
    deleted: frozenset[str]

    @property
    def entity(self) -> Entity:
        """The entity that subscriptions look at: after the change, or as it was before its deletion."""
        entity = self.after if self.after is not None else self.before
        assert entity is not None
        return entity

    def fires(self, subscription: Subscription) -> bool:
        """Whether the change is one the subscription's notificationTrigger and watchedAttributes name (the
        deletion of an entity deletes each of its attributes)."""
        triggers, watched = subscription.triggers, subscription.watched
        if self.after is None and "entityDeleted" in triggers:
            return True
        if self.before is None and "entityCreated" in triggers:
            return True
        for trigger, names in (("attributeCreated", self.created), ("attributeUpdated", self.updated),
                               ("attributeDeleted", self.deleted)):
            if trigger not in triggers:
                continue
            if watched is not None and not watched.isdisjoint(names):
                return True
            if watched is None and (names or (trigger == "attributeCreated" and self.before is None)):
                return True
        return ("entityUpdated" in triggers and self.before is not None and self.after is not None
                and _identity_changed(self.before, self.after))


def event_of(before: Entity | None, after: Entity | None) -> Event:
    """The attributes a change created, updated and deleted. An attribute that lost an instance (a datasetId)
    counts as deleted, and as updated only if another of its instances was added or changed; the deletion of
    an entity deletes all its attributes."""
    old = before["attrs"] if before is not None else {}
    if after is None:
        return Event(before, after, frozenset(), frozenset(), frozenset(old))
    new = after["attrs"]
    updated: set[str] = set()
    deleted = set(old.keys() - new.keys())
    for name in new.keys() & old.keys():
        if new[name] == old[name]:
            continue
        lost, changed = _instance_changes(old[name], new[name])
        if lost:
            deleted.add(name)
        if changed:
            updated.add(name)
    return Event(before, after, frozenset(new.keys() - old.keys()), frozenset(updated), frozenset(deleted))


def _instance_changes(old: Instances, new: Instances) -> tuple[bool, bool]:
    """Whether an attribute lost instances, and whether instances were added or changed."""
    if len(old) == len(new) == 1 and old[0].get("datasetId") == new[0].get("datasetId"):
        return False, True  # the common case: one instance, changed (the caller saw the lists differ)
    before = {instance.get("datasetId", DEFAULT_DATASET): instance for instance in old}
    after = {instance.get("datasetId", DEFAULT_DATASET): instance for instance in new}
    lost = not before.keys() <= after.keys()
    changed = any(before.get(dataset_id) != instance for dataset_id, instance in after.items())
    return lost, changed


class Matcher:
    """The live subscriptions of one tenant, indexed."""

    def __init__(self, subscriptions: Iterable[Subscription]) -> None:
        self._by_entity: dict[str, list[Subscription]] = {}
        self._by_type: dict[str, list[Subscription]] = {}
        self._by_attribute: dict[str, list[Subscription]] = {}
        for subscription in subscriptions:
            for key, index in self._keys(subscription):
                index.setdefault(key, []).append(subscription)

    def _keys(self, subscription: Subscription) -> Iterable[tuple[str, dict[str, list[Subscription]]]]:
        selectors = subscription.selection.selectors
        if not selectors:
            return [(name, self._by_attribute) for name in subscription.watched or ()]
        keys: list[tuple[str, dict[str, list[Subscription]]]] = []
        for selector in selectors:
            if selector.ids:
                keys.extend((entity_id, self._by_entity) for entity_id in selector.ids)
            else:
                keys.extend((name, self._by_type) for name in type_names(selector.types))
        return keys

    def matching(self, event: Event, now: float) -> list[Subscription]:
        """The subscriptions that the change notifies."""
        entity = event.entity
        candidates: dict[str, Subscription] = {}
        for subscription in self._by_entity.get(entity["id"], ()):
            candidates[subscription.id] = subscription
        for state in (event.before, event.after):
            for type_iri in state["type"] if state is not None else ():
                candidates.update((s.id, s) for s in self._by_type.get(type_iri, ()))
        for name in event.created | event.updated | event.deleted:
            candidates.update((s.id, s) for s in self._by_attribute.get(name, ()))
        return [s for s in candidates.values()
                if s.live(now) and not s.time_interval and event.fires(s) and s.selection.matches(entity)]


def _identity_changed(before: Entity, after: Entity) -> bool:
    return before["type"] != after["type"] or before.get("scope") != after.get("scope")

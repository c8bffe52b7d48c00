"""Notifications (clause 5.3.1): the entities a change brings to a subscription, rendered as it asks, and
the message that carries them, with its @context in a Link header or in the body as the endpoint accepts."""

from __future__ import annotations

import copy
from typing import Any

import orjson

from ngsi_ld.attributes import ATTRIBUTE_TYPES, DEFAULT_DATASET, null_value
from ngsi_ld.context import CORE_CONTEXT_URL, context_link, is_core_context_url
from ngsi_ld.entity import Entity
from ngsi_ld.linked import LinkedEntities
from ngsi_ld.render import render_entity, render_feature
from subscriptions.matcher import Event
from subscriptions.model import Subscription

__all__ = ["NGSI_LD_NULL", "context_url", "entity_data", "event_data", "message", "notified_entity"]

NGSI_LD_NULL = "urn:ngsi-ld:null"


def event_data(subscription: Subscription, event: Event, at: str) -> list[Any]:
    """The entity of a change as the subscription's notification shows it (with what it was, for showChanges,
    and the deleted attributes and instances as NGSI-LD Null with their deletedAt); without its linked entities."""
    entity = notified_entity(subscription, event, at)
    if entity is None:
        return [_deleted_entity(subscription, event.entity, at)]
    return entity_data(subscription, [entity])


def notified_entity(subscription: Subscription, event: Event, at: str) -> Entity | None:
    """The stored form of what event_data shows (from which its linked entities are found); None for a
    deleted entity."""
    before = event.before
    if event.after is None:
        return None
    show_deleted = "attributeDeleted" in subscription.triggers and bool(event.deleted)
    if before is None or not (subscription.show_changes or show_deleted):
        return event.after  # rendering makes new objects: the event is shared by every subscription it matches
    entity = copy.deepcopy(event.after)
    if subscription.show_changes:
        _add_previous(entity, before, event.updated)
    if show_deleted:
        for name in event.deleted:
            entity["attrs"][name] = _with_deleted(entity["attrs"].get(name, []), before["attrs"][name], at,
                                                  subscription.show_changes)
    return entity


def entity_data(subscription: Subscription, entities: list[Entity], linked: LinkedEntities | None = None) -> list[Any]:
    """The entities rendered as the subscription asks; with `linked` (found from these entities), with their
    linked entities inline or after them (flat)."""
    render = render_feature if subscription.endpoint.accept == "application/geo+json" else render_entity
    if linked is not None:
        rendered = linked.rendered(subscription.terms, render)
    else:
        rendered = [render(entity, subscription.terms, subscription.render) for entity in entities]
    return [_without_null_geometry(item) for item in rendered]


def message(subscription: Subscription, notification_id: str, notified_at: str, data: list[Any]) -> tuple[
        bytes, dict[str, str]]:
    """The body and headers of a notification (the receiverInfo headers included)."""
    accept = subscription.endpoint.accept
    body: dict[str, Any] = {"id": notification_id, "type": "Notification", "subscriptionId": subscription.id,
                            "notifiedAt": notified_at}
    headers = {"Content-Type": accept}
    receiver_info = dict(subscription.endpoint.receiver_info)
    if accept == "application/geo+json":
        collection: dict[str, Any] = {"type": "FeatureCollection", "features": data}
        if receiver_info.get("Prefer") != "body=json":
            collection["@context"] = subscription.context
        body["data"] = collection
    else:
        body["data"] = data
    if accept == "application/ld+json":
        body["@context"] = subscription.context
    else:
        headers["Link"] = context_link(context_url(subscription.context))
    headers.update(receiver_info)
    return orjson.dumps(body), headers


def context_url(context: Any) -> str:
    """The URL of an @context that is one document besides the core context, which always applies (the core
    context's otherwise: a subscription names any other @context by its implicitly created one, jsonldContext)."""
    if isinstance(context, list):
        entries = [entry for entry in context if not (isinstance(entry, str) and is_core_context_url(entry))]
        context = entries[0] if len(entries) == 1 else None
    return context if isinstance(context, str) else CORE_CONTEXT_URL


def _deleted_entity(subscription: Subscription, entity: Entity, at: str) -> dict[str, Any]:
    """A deleted entity: each of its attributes deleted, and its deletedAt."""
    attrs = {name: [_deleted_instance(instance, at, subscription.show_changes) for instance in instances]
             for name, instances in entity["attrs"].items()}
    rendered: dict[str, Any] = entity_data(subscription, [{**entity, "attrs": attrs}])[0]
    if subscription.endpoint.accept == "application/geo+json":
        rendered["properties"]["deletedAt"] = at
    else:
        rendered["deletedAt"] = at
    return rendered


def _without_null_geometry(rendered: dict[str, Any]) -> dict[str, Any]:
    """A GeoJSON Feature whose GeoProperty was deleted has no geometry (null), not the NGSI-LD Null."""
    if rendered.get("type") == "Feature" and rendered.get("geometry") == NGSI_LD_NULL:
        rendered["geometry"] = None
    return rendered


def _with_deleted(remaining: list[dict[str, Any]], before: list[dict[str, Any]], at: str,
                  show_changes: bool) -> list[dict[str, Any]]:
    """An attribute's instances after a change, with those it lost as deleted instances."""
    kept = {instance.get("datasetId", DEFAULT_DATASET) for instance in remaining}
    lost = [instance for instance in before if instance.get("datasetId", DEFAULT_DATASET) not in kept]
    return [*remaining, *(_deleted_instance(instance, at, show_changes) for instance in lost)]


def _deleted_instance(instance: dict[str, Any], at: str, show_changes: bool) -> dict[str, Any]:
    key = ATTRIBUTE_TYPES[instance["type"]]
    deleted = {"type": instance["type"], key: null_value(instance["type"]), "deletedAt": at}
    if "datasetId" in instance:
        deleted["datasetId"] = instance["datasetId"]
    if show_changes:
        deleted[_previous(key)] = instance[key]
    return deleted


def _add_previous(entity: Entity, before: Entity, updated: frozenset[str]) -> None:
    """Adds previousValue (previousObject, previousLanguageMap...) to the updated attribute instances."""
    for name in updated:
        previous = {i.get("datasetId", DEFAULT_DATASET): i for i in before["attrs"][name]}
        for instance in entity["attrs"][name]:
            old = previous.get(instance.get("datasetId", DEFAULT_DATASET))
            key = ATTRIBUTE_TYPES[instance["type"]]
            if old is not None and key in old:
                instance[_previous(key)] = old[key]


def _previous(key: str) -> str:
    """The member that shows the previous value of a value member (value: previousValue...)."""
    return "previous" + key[0].upper() + key[1:]

"""Subscriptions (clause 5.2.12): reading a payload into a checked Subscription, and the rules of Update
Subscription (5.8.2). A subscription is kept as its payload (names as its author wrote them) with its
@context; `parse_subscription` turns that into the expanded form that matching and rendering use."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from ngsi_ld.context import CORE_CONTEXT_URL, TermMap
from ngsi_ld.errors import BadRequestData, shown
from ngsi_ld.limits import LIMITS, exceeded
from ngsi_ld.linked import Join, checked_join
from ngsi_ld.projection import Projected, check_projection_depth, parse_projection, projected
from ngsi_ld.query import EntitySelector, Node, Selection, parse_q, parse_scope_q
from ngsi_ld.query.geo import GeoQuery, parse_geo_query
from ngsi_ld.query.selection import checked_id_pattern
from ngsi_ld.render import FORMATS, RenderOptions
from ngsi_ld.typeexpr import TypeExpr, TypeName, parse_types
from ngsi_ld.values import DATETIME_RULE, is_datetime, is_name, is_uri, normalized_datetime

__all__ = [
    "ACCEPTS", "ATTRIBUTE_TRIGGERS", "ENTITY_TRIGGERS", "NOTIFICATION_STATUS", "READ_ONLY", "Endpoint", "Subscription",
    "merged_payload", "epoch_seconds", "parse_subscription", "type_names",
]

ENTITY_TRIGGERS = ("entityCreated", "entityUpdated", "entityDeleted")
ATTRIBUTE_TRIGGERS = ("attributeCreated", "attributeUpdated", "attributeDeleted")
DEFAULT_TRIGGERS = frozenset({"attributeCreated", "attributeUpdated"})
ACCEPTS = ("application/json", "application/ld+json", "application/geo+json")
SCHEMES = ("http", "https", "mqtt", "mqtts")
MQTT_VERSIONS = ("mqtt3.1.1", "mqtt5.0")
READ_ONLY = frozenset({"createdAt", "modifiedAt", "deletedAt", "status"})
"""Members the broker provides (the notification's status members are read-only too, see _NOTIFICATION_STATUS)."""
_NOTIFICATION_STATUS = frozenset({
    "status", "timesSent", "timesFailed", "lastNotification", "lastSuccess", "lastFailure", "consecutiveErrors",
    "deadLettered",
})
NOTIFICATION_STATUS = _NOTIFICATION_STATUS
"""The members of `notification` that only deliveries set: an answer shows the stored state's, not a client's."""
_MEMBERS = frozenset({
    "id", "type", "@context", "subscriptionName", "name", "description", "entities", "watchedAttributes",
    "notificationTrigger", "timeInterval", "q", "geoQ", "csf", "isActive", "notification", "expiresAt",
    "throttling", "temporalQ", "scopeQ", "lang", "localOnly", "jsonldContext", "datasetId",
}) | READ_ONLY
_NOTIFICATION_MEMBERS = frozenset({
    "attributes", "sysAttrs", "format", "pick", "omit", "showChanges", "join", "joinLevel", "endpoint",
}) | _NOTIFICATION_STATUS
_ENDPOINT_MEMBERS = frozenset({"uri", "accept", "timeout", "cooldown", "receiverInfo", "notifierInfo"})
_NOT_SUPPORTED = ("csf", "temporalQ")
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_NAME_SPELLINGS = {"subscriptionName": "name", "name": "subscriptionName"}
"""`name` is how subscriptionName was spelled before v1.5 (Orion-LD and many clients still use it)."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    uri: str
    accept: str = "application/json"
    timeout: float | None = None
    """Seconds."""
    receiver_info: tuple[tuple[str, str], ...] = ()
    notifier_info: tuple[tuple[str, str], ...] = ()

    @property
    def scheme(self) -> str:
        return urlsplit(self.uri).scheme

    def notifier(self, key: str, default: str) -> str:
        return next((value for name, value in self.notifier_info if name == key), default)


@dataclass(frozen=True, slots=True)
class Subscription:
    """A checked subscription, with names expanded by its own @context."""

    id: str
    selection: Selection
    """Its entities, q, scopeQ and geoQ, evaluated on the entity after the change (before it, for a deletion)."""
    watched: frozenset[str] | None
    triggers: frozenset[str]
    endpoint: Endpoint
    render: RenderOptions
    show_changes: bool
    active: bool
    expires_at: float | None
    """Seconds since the epoch."""
    throttling: float
    time_interval: float
    terms: TermMap
    context: Any
    """The @context that notifications carry (jsonldContext when given)."""
    join: Join | None = None
    """The linked entities that notifications carry (notification.join, joinLevel; clause 4.5.23)."""

    def expired(self, now: float) -> bool:
        return self.expires_at is not None and self.expires_at <= now

    def live(self, now: float) -> bool:
        """Whether changes now produce notifications."""
        return self.active and not self.expired(now)


def parse_subscription(payload: dict[str, Any], terms: TermMap, context: Any) -> Subscription:
    """Checks a whole subscription payload; BadRequestData says what is wrong and where."""
    _check_members(payload, _MEMBERS, "subscription")
    if payload.get("type") != "Subscription":
        raise BadRequestData("A subscription needs \"type\": \"Subscription\"")
    subscription_id = payload.get("id")
    if not isinstance(subscription_id, str) or not is_uri(subscription_id):
        raise BadRequestData(f"Subscription id must be a URI, got {shown(subscription_id)}")
    for name in _NOT_SUPPORTED:
        if name in payload:
            raise BadRequestData(f"Member '{name}' is for context source registrations, not entity subscriptions")
    for name in ("subscriptionName", "name", "description", "lang"):
        _optional(payload, name, str)
    if "subscriptionName" in payload and "name" in payload:
        raise BadRequestData("'name' is the former spelling of 'subscriptionName': give one of them")
    time_interval = _seconds(payload, "timeInterval")
    throttling = _seconds(payload, "throttling")
    selectors = _selectors(payload.get("entities"), terms)
    watched = _names(payload, "watchedAttributes", terms)
    if time_interval and watched is not None:
        raise BadRequestData("'watchedAttributes' cannot go with 'timeInterval'")
    if time_interval and throttling:
        raise BadRequestData("'throttling' cannot go with 'timeInterval'")
    if not selectors and watched is None:
        raise BadRequestData("A subscription needs 'entities' or 'watchedAttributes'")
    if time_interval and not selectors:
        raise BadRequestData("A periodic subscription ('timeInterval') needs 'entities'")
    q = _query(payload, "q", lambda text: parse_q(text, terms.expand))
    scope_q = _query(payload, "scopeQ", parse_scope_q)
    geo = _geo_query(payload.get("geoQ"), terms)
    expires_at = _optional(payload, "expiresAt", str)
    if expires_at is not None and not is_datetime(expires_at):
        raise BadRequestData(f"'expiresAt' must be a DateTime, got {shown(expires_at)}: {DATETIME_RULE}")
    is_active = _optional(payload, "isActive", bool)
    jsonld_context = _optional(payload, "jsonldContext", str)
    if jsonld_context is not None and not is_uri(jsonld_context):
        raise BadRequestData(f"'jsonldContext' must be a URI, got {shown(jsonld_context)}")
    notification = payload.get("notification")
    if not isinstance(notification, dict):
        raise BadRequestData("A subscription needs a 'notification' object")
    join = _join(notification)
    render, show_changes = _notification(notification, terms, payload, join)
    return Subscription(
        id=subscription_id, selection=Selection(selectors=selectors, q=q, scope_q=scope_q, geo=geo),
        watched=watched, triggers=_triggers(payload), endpoint=_endpoint(notification.get("endpoint")),
        render=render, show_changes=show_changes, active=is_active is not False,
        expires_at=None if expires_at is None else epoch_seconds(expires_at),
        throttling=throttling, time_interval=time_interval, terms=terms,
        context=jsonld_context or (CORE_CONTEXT_URL if context is None else context), join=join,
    )


def epoch_seconds(datetime_text: str) -> float:
    """A DateTime (clause 4.6.3; UTC when it has no offset) as seconds since the epoch."""
    moment = datetime.fromisoformat(normalized_datetime(datetime_text).replace("Z", "+00:00"))
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def merged_payload(stored: dict[str, Any], fragment: Any) -> dict[str, Any]:
    """The payload after Update Subscription (5.8.2, by the rules of 5.5.8): each member of the fragment
    replaces the stored one whole (`notification` too), a null removes it. The result is to be checked as a
    whole subscription."""
    if not isinstance(fragment, dict) or not fragment:
        raise BadRequestData("The body must be a non-empty JSON object with members of a subscription")
    _check_members(fragment, _MEMBERS, "subscription")
    if "id" in fragment and fragment["id"] != stored["id"]:
        raise BadRequestData("The id of a subscription cannot be changed")
    if "type" in fragment and fragment["type"] != "Subscription":
        raise BadRequestData("The type of a subscription is \"Subscription\"")
    merged = dict(stored)
    for name, value in fragment.items():
        if name == "@context" or name in READ_ONLY:
            continue
        if name in _NAME_SPELLINGS and _NAME_SPELLINGS[name] not in fragment:
            merged.pop(_NAME_SPELLINGS[name], None)  # the spelling the client uses now replaces the other one
        _put(merged, name, value)
    return merged


def type_names(expr: TypeExpr | None) -> set[str]:
    """Every type IRI that a type expression mentions."""
    if expr is None:
        return set()
    if isinstance(expr, TypeName):
        return {expr.iri}
    return set().union(*(type_names(item) for item in expr.items))


def _put(target: dict[str, Any], name: str, value: Any) -> None:
    if value is None:
        target.pop(name, None)
    else:
        target[name] = value


def _check_members(payload: Any, allowed: frozenset[str], what: str) -> None:
    if not isinstance(payload, dict):
        raise BadRequestData(f"The {what} must be a JSON object")
    unknown = sorted(set(payload) - allowed)
    if unknown:
        raise BadRequestData(f"Unknown member(s) of the {what}: {', '.join(unknown)}")


def _optional(payload: dict[str, Any], name: str, kind: type) -> Any:
    value = payload.get(name)
    if value is not None and (not isinstance(value, kind) or (kind is not bool and isinstance(value, bool))):
        raise BadRequestData(f"'{name}' must be a {kind.__name__.replace('str', 'string')}, got {shown(value)}")
    return value


def _seconds(payload: dict[str, Any], name: str) -> float:
    value = payload.get(name)
    if value is None:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 1:
        raise BadRequestData(f"'{name}' must be a number of seconds >= 1, got {shown(value)}")
    return float(value)


def _list(payload: dict[str, Any], name: str) -> list[Any] | None:
    value = payload.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not value:
        raise BadRequestData(f"'{name}' must be a non-empty array")
    return value


def _names(payload: dict[str, Any], name: str, terms: TermMap) -> frozenset[str] | None:
    items = _list(payload, name)
    if items is None:
        return None
    invalid = [item for item in items if not isinstance(item, str) or not is_name(item)]
    if invalid:
        raise BadRequestData(f"'{name}' holds invalid attribute names: {shown(invalid)}")
    return frozenset(terms.expand(item) for item in items)


def _selectors(entities: Any, terms: TermMap) -> tuple[EntitySelector, ...]:
    if entities is None:
        return ()
    if not isinstance(entities, list) or not entities:
        raise BadRequestData("'entities' must be a non-empty array of entity selectors")
    if len(entities) > LIMITS.selectors:
        raise exceeded(f"'entities' holds {len(entities)} entity selectors", "selectors", too_large=True)
    return tuple(_selector(item, terms) for item in entities)


def _selector(item: Any, terms: TermMap) -> EntitySelector:
    _check_members(item, frozenset({"id", "idPattern", "type"}), "entity selector")
    entity_type = item.get("type")
    if not isinstance(entity_type, str) or not entity_type:
        raise BadRequestData(f"An entity selector needs a 'type': {shown(item)}")
    types = parse_types(entity_type, terms.expand)
    entity_id = item.get("id")
    if entity_id is not None:
        if not is_uri(entity_id):
            raise BadRequestData(f"The id of an entity selector must be a URI, got {shown(entity_id)}")
        return EntitySelector(ids=(entity_id,), types=types)  # the id takes precedence over idPattern
    pattern = item.get("idPattern")
    if pattern is not None and not isinstance(pattern, str):
        raise BadRequestData(f"'idPattern' must be a string, got {shown(pattern)}")
    return EntitySelector(id_pattern=checked_id_pattern(pattern), types=types)


def _triggers(payload: dict[str, Any]) -> frozenset[str]:
    triggers = _list(payload, "notificationTrigger")
    if triggers is None:
        return DEFAULT_TRIGGERS
    unknown = [trigger for trigger in triggers if trigger not in ENTITY_TRIGGERS + ATTRIBUTE_TRIGGERS]
    if unknown:
        raise BadRequestData(f"Unknown notificationTrigger value(s): {shown(unknown)}")
    expanded = set(triggers)
    if "entityUpdated" in expanded:
        expanded |= set(ATTRIBUTE_TRIGGERS)
    return frozenset(expanded)


def _query(payload: dict[str, Any], name: str, parse: Any) -> Node | None:
    text = _optional(payload, name, str)
    return None if text is None else parse(text)


def _geo_query(geo_q: Any, terms: TermMap) -> GeoQuery | None:
    if geo_q is None:
        return None
    _check_members(geo_q, frozenset({"geometry", "coordinates", "georel", "geoproperty"}), "geoQ")
    coordinates = geo_q.get("coordinates")
    if isinstance(coordinates, list):
        coordinates = json.dumps(coordinates)
    for name, value in (("geometry", geo_q.get("geometry")), ("georel", geo_q.get("georel")),
                        ("coordinates", coordinates), ("geoproperty", geo_q.get("geoproperty", ""))):
        if not isinstance(value, str):
            raise BadRequestData(f"'geoQ.{name}' is missing or not a string")
    return parse_geo_query(geo_q["georel"], geo_q["geometry"], coordinates, geo_q.get("geoproperty"), terms.expand)


def _join(notification: dict[str, Any]) -> Join | None:
    """notification.join and joinLevel (a number >= 1: 2.0 is 2); the broker bounds joinLevel."""
    _check_members(notification, _NOTIFICATION_MEMBERS, "notification")
    level = notification.get("joinLevel")
    if isinstance(level, float) and level.is_integer():
        level = int(level)
    return checked_join(notification.get("join"), level, None, None)


def _notification(
    notification: dict[str, Any], terms: TermMap, payload: dict[str, Any], join: Join | None
) -> tuple[RenderOptions, bool]:
    output_format = notification.get("format", "normalized")
    if output_format not in FORMATS:
        raise BadRequestData(f"'notification.format' must be one of {', '.join(FORMATS)}, got {shown(output_format)}")
    show_changes = _optional(notification, "showChanges", bool) or False
    if show_changes and output_format == "keyValues":
        raise BadRequestData("'showChanges' cannot be true with the keyValues format")
    sys_attrs = _optional(notification, "sysAttrs", bool) or False
    attributes = _names(notification, "attributes", terms)
    pick, omit = _projection(notification, "pick"), _projection(notification, "omit")
    if pick is not None and omit is not None:
        raise BadRequestData("'notification.pick' and 'notification.omit' cannot be used together")
    check_projection_depth(pick or omit, join)
    dataset_ids = _list(payload, "datasetId")
    if dataset_ids is not None and not all(item == "@none" or is_uri(item) for item in dataset_ids):
        raise BadRequestData(f"'datasetId' must hold URIs or \"@none\", got {shown(dataset_ids)}")
    options = RenderOptions(
        format=output_format, sys_attrs=sys_attrs, lang=payload.get("lang") or None, attrs=attributes,
        dataset_ids=None if dataset_ids is None else frozenset(dataset_ids),
    )
    return projected(options, pick, omit, terms.expand), show_changes


def _projection(notification: dict[str, Any], name: str) -> tuple[Projected, ...] | None:
    """notification.pick or omit: an array of projections (clause 4.21)."""
    items = _list(notification, name)
    if items is None:
        return None
    if not all(isinstance(item, str) for item in items):
        raise BadRequestData(f"'notification.{name}' must be an array of strings, got {shown(items)}")
    return tuple(member for item in items for member in parse_projection(item, f"notification.{name}"))


def _endpoint(endpoint: Any) -> Endpoint:
    if endpoint is None:
        raise BadRequestData("'notification.endpoint' is missing")
    _check_members(endpoint, _ENDPOINT_MEMBERS, "notification endpoint")
    uri = endpoint.get("uri")
    if not isinstance(uri, str) or not is_uri(uri):
        raise BadRequestData(f"'notification.endpoint.uri' must be a URI, got {shown(uri)}")
    parts = urlsplit(uri)
    if parts.scheme not in SCHEMES or not parts.hostname:
        raise BadRequestData(f"'notification.endpoint.uri' must be an {'/'.join(SCHEMES)} URL with a host: {uri}")
    accept = endpoint.get("accept", "application/json")
    if accept not in ACCEPTS:
        raise BadRequestData(f"'notification.endpoint.accept' must be one of {', '.join(ACCEPTS)}, got {shown(accept)}")
    timeout = endpoint.get("timeout")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout < 1):
        raise BadRequestData(f"'notification.endpoint.timeout' must be a number of milliseconds >= 1: {shown(timeout)}")
    receiver_info = _key_values(endpoint, "receiverInfo")
    invalid = [key for key, _ in receiver_info if not _HEADER_NAME.fullmatch(key)]
    if invalid:
        raise BadRequestData(f"'receiverInfo' keys must be valid header names: {shown(invalid)}")
    notifier_info = _key_values(endpoint, "notifierInfo")
    _check_mqtt(parts.scheme, dict(notifier_info))
    return Endpoint(uri, accept, None if timeout is None else timeout / 1000, receiver_info, notifier_info)


def _key_values(endpoint: dict[str, Any], name: str) -> tuple[tuple[str, str], ...]:
    items = endpoint.get(name)
    if items is None:
        return ()
    if not isinstance(items, list):
        raise BadRequestData(f"'{name}' must be an array of {{key, value}} objects")
    pairs = []
    for item in items:
        if (not isinstance(item, dict) or set(item) != {"key", "value"}
                or not isinstance(item["key"], str) or not isinstance(item["value"], str) or not item["key"]):
            raise BadRequestData(f"Each '{name}' item must be {{\"key\": string, \"value\": string}}, "
                                 f"got {shown(item)}")
        pairs.append((item["key"], item["value"]))
    return tuple(pairs)


def _check_mqtt(scheme: str, notifier_info: dict[str, str]) -> None:
    if not scheme.startswith("mqtt"):
        return
    version = notifier_info.get("MQTT-Version", MQTT_VERSIONS[0])
    if version not in MQTT_VERSIONS:
        raise BadRequestData(f"'MQTT-Version' must be one of {', '.join(MQTT_VERSIONS)}, got {shown(version)}")
    if notifier_info.get("MQTT-QoS", "0") not in ("0", "1", "2"):
        raise BadRequestData(f"'MQTT-QoS' must be 0, 1 or 2, got {shown(notifier_info['MQTT-QoS'])}")

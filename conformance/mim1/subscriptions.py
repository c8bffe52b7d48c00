"""Subscriptions (5.8.1 to 5.8.5) and the notifications they send (5.8.6, 5.3), to the checker's receiver."""

from __future__ import annotations

import asyncio
from typing import Any

from conformance.mim1.common import entity_path, prop, thing, value_of
from conformance.receiver import Notification
from conformance.registry import check
from conformance.trial import Trial

_names = iter(range(1, 10**9))


def _subscription(t: Trial, kind: str, **members: Any) -> tuple[dict[str, Any], str]:
    """A subscription to the run's type `kind`, notifying a path of its own at the receiver; and that path."""
    path = f"{t.run}-{next(_names)}"
    notification = {"endpoint": {"uri": t.receiver.endpoint(path), "accept": "application/json"},
                    **members.pop("notification", {})}
    body = {"type": "Subscription", "entities": [{"type": t.type(kind)}], "notification": notification, **members}
    return body, path


async def _subscribed(t: Trial, kind: str, **members: Any) -> tuple[str, str]:
    """A created subscription (201 required): its id and the receiver path it notifies."""
    body, path = _subscription(t, kind, **members)
    reply, sub_id = await t.subscribe(body)
    t.expect_status(reply, 201, "5.8.1: Create Subscription answers 201 Created")
    assert sub_id is not None
    return sub_id, path


async def _notified(t: Trial, path: str, count: int = 1) -> list[Notification]:
    received = await t.receiver.wait(path, count, t.session.notify_timeout)
    t.expect(len(received) >= count, "5.8.6: a notification is sent to the endpoint when a matching entity changes",
             f"{len(received)} notification(s) within {t.session.notify_timeout:.0f} s{_reach(t)}")
    return received


def _reach(t: Trial) -> str:
    return (f" (the checker receives them at {t.receiver.url('/notify/')}: if the broker cannot reach that address, "
            "give --receiver-host and --receiver-port)")


def _entities(notifications: list[Notification]) -> list[dict[str, Any]]:
    return [entity for n in notifications for entity in (n.body or {}).get("data", []) if isinstance(entity, dict)]


@check("subscriptions.create.status", "5.8.1", "Create Subscription answers 201 with a Location header")
async def create_status(t: Trial) -> None:
    body, _ = _subscription(t, "Sub")
    reply, _ = await t.subscribe(body)
    t.expect_status(reply, 201, "5.8.1: Create Subscription answers 201 Created")
    t.expect("/ngsi-ld/v1/subscriptions/" in (reply.header("location") or ""),
             "6.10.3.1: the Location header is /ngsi-ld/v1/subscriptions/{subscriptionId}",
             f"Location: {reply.header('location')}")


@check("subscriptions.create.given_id", "5.8.1", "A subscription keeps the id it was created with")
async def create_given_id(t: Trial) -> None:
    sub_id = t.new_id("Subscription")
    await _subscribed(t, "Sub", id=sub_id)
    reply = await t.get(f"/subscriptions/{sub_id}")
    t.expect_status(reply, 200, "5.8.3: the subscription is found by the id it was given")


@check("subscriptions.create.duplicate", "5.8.1", "Creating a subscription whose id exists answers 409")
async def create_duplicate(t: Trial) -> None:
    sub_id = t.new_id("Subscription")
    await _subscribed(t, "Sub", id=sub_id)
    body, _ = _subscription(t, "Sub", id=sub_id)
    reply = await t.post("/subscriptions", json=body)
    t.expect_problem(reply, 409, "AlreadyExists")


@check("subscriptions.create.no_endpoint", "5.8.1", "A subscription without a notification endpoint answers 400")
async def create_no_endpoint(t: Trial) -> None:
    body = {"type": "Subscription", "entities": [{"type": t.type("Sub")}], "notification": {}}
    reply, _ = await t.subscribe(body)
    t.expect_problem(reply, 400, "BadRequestData")


@check("subscriptions.create.no_target", "5.8.1", "A subscription with neither entities nor watchedAttributes "
                                                  "answers 400")
async def create_no_target(t: Trial) -> None:
    body, _ = _subscription(t, "Sub")
    del body["entities"]
    reply, _ = await t.subscribe(body)
    t.expect_problem(reply, 400, "BadRequestData")


@check("subscriptions.create.bad_q", "5.8.1", "A subscription whose q does not parse answers 400")
async def create_bad_q(t: Trial) -> None:
    body, _ = _subscription(t, "Sub", q="speed>>>1")
    reply, _ = await t.subscribe(body)
    t.expect_problem(reply, 400, "BadRequestData", "InvalidRequest")


@check("subscriptions.create.bad_type", "5.8.1", "A body whose type is not Subscription answers 400")
async def create_bad_type(t: Trial) -> None:
    body, _ = _subscription(t, "Sub")
    reply, _ = await t.subscribe({**body, "type": "Registration"})
    t.expect_problem(reply, 400, "BadRequestData")


@check("subscriptions.retrieve.ok", "5.8.3", "Retrieve Subscription answers it with its entities and endpoint")
async def retrieve_ok(t: Trial) -> None:
    sub_id, path = await _subscribed(t, "Sub")
    reply = await t.get(f"/subscriptions/{sub_id}")
    body = t.expect_json(reply, dict, "5.8.3: the subscription is a JSON object")
    t.expect(body.get("id") == sub_id and body.get("type") == "Subscription"
             and body["notification"]["endpoint"]["uri"] == t.receiver.endpoint(path)
             and body.get("entities") == [{"type": t.type("Sub")}],
             "5.2.12: the Subscription holds what it was created with", f"body: {body}")


@check("subscriptions.retrieve.not_found", "5.8.3", "Retrieving an unknown subscription answers 404", writes=False)
async def retrieve_not_found(t: Trial) -> None:
    reply = await t.get(f"/subscriptions/{t.new_id('Subscription')}")
    t.expect_problem(reply, 404, "ResourceNotFound")


@check("subscriptions.query.list", "5.8.4", "Query Subscriptions lists the subscription")
async def query_list(t: Trial) -> None:
    sub_id, _ = await _subscribed(t, "Sub")
    reply = await t.get("/subscriptions", params={"limit": "1000"})
    body = t.expect_json(reply, list, "5.8.4: a JSON array of subscriptions")
    t.expect(sub_id in [s.get("id") for s in body], "5.8.4: the subscription is listed", f"{len(body)} listed")


@check("subscriptions.query.limit", "5.8.4", "Query Subscriptions honours limit", writes=True)
async def query_limit(t: Trial) -> None:
    await _subscribed(t, "Sub")
    await _subscribed(t, "Sub")
    reply = await t.get("/subscriptions", params={"limit": "1"})
    body = t.expect_json(reply, list, "5.8.4: a JSON array")
    t.expect(len(body) == 1, "6.3.10: at most limit subscriptions", f"{len(body)} subscriptions")


@check("subscriptions.update.ok", "5.8.2", "Update Subscription answers 204 and changes the subscription")
async def update_ok(t: Trial) -> None:
    sub_id, _ = await _subscribed(t, "Sub")
    reply = await t.patch(f"/subscriptions/{sub_id}", json={"q": "speed>50"})
    t.expect_status(reply, 204, "5.8.2: Update Subscription answers 204")
    body = (await t.get(f"/subscriptions/{sub_id}")).json() or {}
    t.expect(body.get("q") == "speed>50", "5.8.2: the member is changed", f"q: {body.get('q')}")


@check("subscriptions.update.not_found", "5.8.2", "Updating an unknown subscription answers 404")
async def update_not_found(t: Trial) -> None:
    reply = await t.patch(f"/subscriptions/{t.new_id('Subscription')}", json={"q": "speed>50"})
    t.expect_problem(reply, 404, "ResourceNotFound")


@check("subscriptions.delete.ok", "5.8.5", "Delete Subscription answers 204 and the subscription is gone")
async def delete_ok(t: Trial) -> None:
    sub_id, _ = await _subscribed(t, "Sub")
    reply = await t.delete(f"/subscriptions/{sub_id}")
    t.expect_status(reply, 204, "5.8.5: Delete Subscription answers 204")
    t.expect_status(await t.get(f"/subscriptions/{sub_id}"), 404, "5.8.5: the subscription is gone")


@check("subscriptions.delete.not_found", "5.8.5", "Deleting an unknown subscription answers 404")
async def delete_not_found(t: Trial) -> None:
    reply = await t.delete(f"/subscriptions/{t.new_id('Subscription')}")
    t.expect_problem(reply, 404, "ResourceNotFound")


@check("subscriptions.notify.create", "5.8.6", "Creating a matching entity sends a notification with it")
async def notify_create(t: Trial) -> None:
    _, path = await _subscribed(t, "Watched")
    entity = thing(t, "Watched", speed=prop(1))
    await t.create(entity)
    received = await _notified(t, path)
    t.expect(entity["id"] in [e.get("id") for e in _entities(received)], "5.8.6: the data holds the entity",
             f"data: {_entities(received)}")


@check("subscriptions.notify.update", "5.8.6", "Updating a matching entity sends a notification with the new value")
async def notify_update(t: Trial) -> None:
    entity = thing(t, "Watched", speed=prop(1))
    await t.create(entity)
    _, path = await _subscribed(t, "Watched")
    await t.patch(entity_path(entity["id"]) + "/attrs", json={"speed": prop(2)})
    await _until(t, path, lambda e: value_of(e.get("speed")) == 2, "5.8.6: a notification holds the new value")


async def _until(t: Trial, path: str, wanted: Any, requirement: str) -> list[Notification]:
    """The notifications up to the first whose data has an entity for which `wanted` is true."""
    deadline = asyncio.get_running_loop().time() + t.session.notify_timeout
    count = 1
    while True:
        received = await t.receiver.wait(path, count, max(0.0, deadline - asyncio.get_running_loop().time()))
        if any(wanted(e) for e in _entities(received)):
            return received
        if len(received) < count:
            t.expect(False, requirement, f"notifications: {[n.body for n in received][-3:]}{_reach(t)}")
        count = len(received) + 1


@check("subscriptions.notify.shape", "5.3.1", "A notification has id, type Notification, subscriptionId, notifiedAt "
                                              "and data")
async def notify_shape(t: Trial) -> None:
    sub_id, path = await _subscribed(t, "Watched")
    await t.create(thing(t, "Watched", speed=prop(1)))
    body = (await _notified(t, path))[0].body or {}
    t.expect(body.get("type") == "Notification" and body.get("subscriptionId") == sub_id and ":" in str(body.get("id"))
             and isinstance(body.get("notifiedAt"), str) and isinstance(body.get("data"), list),
             "5.3.1: the members of a Notification", f"body: {body}")


@check("subscriptions.notify.content_type", "5.8.6", "A notification to an application/json endpoint is JSON with a "
                                                     "Link header")
async def notify_content_type(t: Trial) -> None:
    _, path = await _subscribed(t, "Watched")
    await t.create(thing(t, "Watched", speed=prop(1)))
    headers = (await _notified(t, path))[0].headers
    t.expect(headers.get("content-type", "").startswith("application/json") and "json-ld#context" in
             headers.get("link", ""), "6.3.6: application/json notifications carry the @context in a Link header",
             f"headers: {headers}")


@check("subscriptions.notify.ld_json", "5.8.6", "accept application/ld+json gives notifications with @context in "
                                                "the body")
async def notify_ld_json(t: Trial) -> None:
    body, path = _subscription(t, "Watched")
    body["notification"]["endpoint"]["accept"] = "application/ld+json"
    reply, _ = await t.subscribe(body)
    t.expect_status(reply, 201, "5.8.1: Create Subscription answers 201")
    await t.create(thing(t, "Watched", speed=prop(1)))
    notification = (await _notified(t, path))[0]
    t.expect(notification.headers.get("content-type", "").startswith("application/ld+json")
             and "@context" in (notification.body or {}), "5.8.6: an application/ld+json notification holds @context",
             f"Content-Type {notification.headers.get('content-type')}, members {sorted(notification.body or {})}")


@check("subscriptions.notify.keyvalues", "5.8.6", "format keyValues notifies the entities as key-values")
async def notify_keyvalues(t: Trial) -> None:
    _, path = await _subscribed(t, "Watched", notification={"format": "keyValues"})
    await t.create(thing(t, "Watched", speed=prop(4)))
    data = _entities(await _notified(t, path))
    t.expect(data and data[0].get("speed") == 4, "4.5.4: the notified entity is in key-values", f"data: {data}")


@check("subscriptions.notify.attributes", "5.8.6", "notification.attributes limits the notified attributes")
async def notify_attributes(t: Trial) -> None:
    _, path = await _subscribed(t, "Watched", notification={"attributes": ["speed"]})
    await t.create(thing(t, "Watched", speed=prop(4), name=prop("n")))
    data = _entities(await _notified(t, path))
    t.expect(data and "speed" in data[0] and "name" not in data[0], "5.8.6: only the listed attributes are notified",
             f"data: {data}")


@check("subscriptions.notify.q", "5.8.6", "A subscription's q keeps entities that do not match from notifications")
async def notify_q(t: Trial) -> None:
    _, path = await _subscribed(t, "Watched", q="speed>10")
    low, high = thing(t, "Watched", speed=prop(5)), thing(t, "Watched", speed=prop(50))
    await t.create(low)
    await t.create(high)
    received = await _until(t, path, lambda e: e.get("id") == high["id"], "5.8.6: the matching entity is notified")
    t.expect(low["id"] not in [e.get("id") for e in _entities(received)], "4.9: an entity outside q is not notified",
             "the entity with speed 5 was notified")


@check("subscriptions.notify.watched", "5.8.6", "A change of an attribute not in watchedAttributes notifies nothing")
async def notify_watched(t: Trial) -> None:
    entity = thing(t, "Watched", speed=prop(1), name=prop("a"))
    await t.create(entity)
    _, path = await _subscribed(t, "Watched", watchedAttributes=["speed"])
    await t.patch(entity_path(entity["id"]) + "/attrs", json={"name": prop("b")})
    await t.patch(entity_path(entity["id"]) + "/attrs", json={"speed": prop(2)})
    received = await _until(t, path, lambda e: value_of(e.get("speed")) == 2, "5.8.6: a watched change is notified")
    early = [e for e in _entities(received) if value_of(e.get("name")) == "b" and value_of(e.get("speed")) == 1]
    t.expect(not early, "5.8.6: only changes of watchedAttributes trigger notifications",
             "a notification came for the change of name")


@check("subscriptions.notify.geo", "5.8.6", "A subscription's geoQ keeps entities outside it from notifications")
async def notify_geo(t: Trial) -> None:
    geo_q = {"geometry": "Point", "coordinates": [4.4777, 51.0259], "georel": "near;maxDistance==1000"}
    _, path = await _subscribed(t, "Watched", geoQ=geo_q)
    far = thing(t, "Watched", location={"type": "GeoProperty", "value": {"type": "Point", "coordinates": [4.36, 52.0]}})
    near = thing(t, "Watched", location={"type": "GeoProperty",
                                         "value": {"type": "Point", "coordinates": [4.478, 51.026]}})
    await t.create(far)
    await t.create(near)
    received = await _until(t, path, lambda e: e.get("id") == near["id"], "5.8.6: the entity inside geoQ is notified")
    t.expect(far["id"] not in [e.get("id") for e in _entities(received)], "4.10: an entity outside geoQ is not "
             "notified", "the far entity was notified")


@check("subscriptions.notify.inactive", "5.8.6", "A subscription with isActive false sends no notification")
async def notify_inactive(t: Trial) -> None:
    _, paused = await _subscribed(t, "Watched", isActive=False)
    _, active = await _subscribed(t, "Watched")
    await t.create(thing(t, "Watched", speed=prop(1)))
    await _notified(t, active)
    await asyncio.sleep(0.5)
    t.expect(not t.receiver.received.get(paused), "5.8.6: a paused subscription does not notify",
             f"{len(t.receiver.received.get(paused, []))} notification(s)")


@check("subscriptions.notify.receiver_info", "5.8.6", "endpoint.receiverInfo is sent as headers of the notification")
async def notify_receiver_info(t: Trial) -> None:
    body, path = _subscription(t, "Watched")
    body["notification"]["endpoint"]["receiverInfo"] = [{"key": "X-Conformance", "value": t.run}]
    reply, _ = await t.subscribe(body)
    t.expect_status(reply, 201, "5.8.1: Create Subscription answers 201")
    await t.create(thing(t, "Watched", speed=prop(1)))
    headers = (await _notified(t, path))[0].headers
    t.expect(headers.get("x-conformance") == t.run, "5.2.22: receiverInfo entries become HTTP headers",
             f"headers: {headers}")


@check("subscriptions.notify.status", "5.2.12", "After a notification the subscription shows timesSent and "
                                                "lastNotification")
async def notify_status(t: Trial) -> None:
    sub_id, path = await _subscribed(t, "Watched")
    await t.create(thing(t, "Watched", speed=prop(1)))
    await _notified(t, path)
    deadline = asyncio.get_running_loop().time() + t.session.notify_timeout
    while True:  # the broker may record the delivery a moment after the receiver got it
        notification = ((await t.get(f"/subscriptions/{sub_id}")).json() or {}).get("notification") or {}
        shown = notification.get("timesSent", 0) >= 1 and notification.get("lastNotification")
        if shown and notification.get("status") == "ok" or asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.1)
    t.expect(shown and notification.get("status") == "ok", "5.2.14: NotificationParams show timesSent, "
             "lastNotification and status ok", f"notification: {notification}")


@check("subscriptions.notify.deleted", "5.8.6", "notificationTrigger entityDeleted notifies the deletion")
async def notify_deleted(t: Trial) -> None:
    entity = thing(t, "Watched", speed=prop(1))
    await t.create(entity)
    _, path = await _subscribed(t, "Watched", notificationTrigger=["entityDeleted"])
    await t.delete(entity_path(entity["id"]))
    data = _entities(await _notified(t, path))
    t.expect(entity["id"] in [e.get("id") for e in data], "5.8.6: the deleted entity is notified", f"data: {data}")


@check("subscriptions.notify.expired", "5.8.6", "A subscription past its expiresAt sends no notification")
async def notify_expired(t: Trial) -> None:
    expired_id, expired = await _subscribed(t, "Watched", expiresAt="2030-01-01T00:00:00Z")
    _, active = await _subscribed(t, "Watched")
    reply = await t.patch(f"/subscriptions/{expired_id}", json={"expiresAt": "2000-01-01T00:00:00Z"})
    if reply.status == 400:  # refusing an expiresAt in the past is conforming too (5.8.2)
        return
    await t.create(thing(t, "Watched", speed=prop(1)))
    await _notified(t, active)
    await asyncio.sleep(0.5)
    t.expect(not t.receiver.received.get(expired), "5.8.6: an expired subscription does not notify",
             "it notified")


@check("subscriptions.notify.context", "5.8.6", "A notification links the @context the subscription was created with")
async def notify_context(t: Trial) -> None:
    from conformance.mim1.context import link

    body, path = _subscription(t, "Watched")
    reply, _ = await t.subscribe(body, headers=link(t.session.context_url))
    t.expect_status(reply, 201, "5.8.1: Create Subscription answers 201")
    await t.create(thing(t, "Watched", speed=prop(1)))
    headers = (await _notified(t, path))[0].headers
    t.expect(t.session.context_url in headers.get("link", ""), "5.8.6: the notification's Link header names the "
             "subscription's @context", f"Link: {headers.get('link', '-')}")


@check("subscriptions.notify.sysattrs", "5.8.6", "notification.sysAttrs adds createdAt and modifiedAt to the data")
async def notify_sysattrs(t: Trial) -> None:
    _, path = await _subscribed(t, "Watched", notification={"sysAttrs": True})
    await t.create(thing(t, "Watched", speed=prop(1)))
    data = _entities(await _notified(t, path))
    t.expect(data and "createdAt" in data[0] and "modifiedAt" in (data[0].get("speed") or {}),
             "5.2.14: with sysAttrs the notified entities carry createdAt and modifiedAt", f"data: {data}")


@check("subscriptions.notify.show_changes", "5.8.6", "notification.showChanges adds the previousValue of a change")
async def notify_show_changes(t: Trial) -> None:
    entity = thing(t, "Watched", speed=prop(1))
    await t.create(entity)
    _, path = await _subscribed(t, "Watched", notification={"showChanges": True})
    await t.patch(entity_path(entity["id"]) + "/attrs", json={"speed": prop(2)})
    received = await _until(t, path, lambda e: value_of(e.get("speed")) == 2, "5.8.6: the change is notified")
    changed = [e for e in _entities(received) if value_of(e.get("speed")) == 2]
    t.expect(changed[0]["speed"].get("previousValue") == 1, "5.2.14: showChanges gives previousValue",
             f"speed: {changed[0].get('speed')}")


@check("subscriptions.notify.batch", "5.8.6", "Entities created by a batch operation are notified too")
async def notify_batch(t: Trial) -> None:
    _, path = await _subscribed(t, "Watched")
    entities = [thing(t, "Watched", speed=prop(n)) for n in (1, 2)]
    for entity in entities:
        t.owns(entity_path(entity["id"]))
    await t.post("/entityOperations/create", json=entities)
    await _until(t, path, lambda e: e.get("id") == entities[1]["id"], "5.8.6: each created entity is notified")
    notified = {e.get("id") for e in _entities(t.receiver.received.get(path, []))}
    t.expect(entities[0]["id"] in notified, "5.8.6: each created entity is notified", f"notified: {notified}")


@check("subscriptions.status.paused", "5.2.12", "A subscription with isActive false has status paused, and active "
                                                "once resumed")
async def status_paused(t: Trial) -> None:
    sub_id, _ = await _subscribed(t, "Sub", isActive=False)
    paused = (await t.get(f"/subscriptions/{sub_id}")).json() or {}
    t.expect(paused.get("status") == "paused", "5.2.12: status is paused while isActive is false",
             f"status: {paused.get('status')}")
    reply = await t.patch(f"/subscriptions/{sub_id}", json={"isActive": True})
    t.expect_status(reply, 204, "5.8.2: Update Subscription answers 204")
    active = (await t.get(f"/subscriptions/{sub_id}")).json() or {}
    t.expect(active.get("status") == "active", "5.2.12: status is active once isActive is true",
             f"status: {active.get('status')}")


@check("subscriptions.query.count", "6.3.13", "Query Subscriptions with count=true gives NGSILD-Results-Count")
async def query_count(t: Trial) -> None:
    await _subscribed(t, "Sub")
    reply = await t.get("/subscriptions", params={"count": "true", "limit": "1"})
    count = reply.header("ngsild-results-count") or ""
    t.expect(count.isdigit() and int(count) >= 1, "6.3.13: the total number of subscriptions is given",
             f"NGSILD-Results-Count: {count or '-'}")


@check("subscriptions.notify.jsonld_context", "5.2.12", "A subscription's jsonldContext is the @context of its "
                                                        "notifications")
async def notify_jsonld_context(t: Trial) -> None:
    _, path = await _subscribed(t, "Watched", jsonldContext=t.session.context_url)
    await t.create(thing(t, "Watched", speed=prop(1)))
    headers = (await _notified(t, path))[0].headers
    t.expect(t.session.context_url in headers.get("link", ""), "5.2.12: notifications use jsonldContext as @context",
             f"Link: {headers.get('link', '-')}")


@check("subscriptions.query.shape", "5.8.4", "Query Subscriptions answers 200 with a JSON array", writes=False)
async def query_shape(t: Trial) -> None:
    reply = await t.get("/subscriptions", params={"limit": "1"})
    t.expect_status(reply, 200, "5.8.4: Query Subscriptions answers 200")
    t.expect_json(reply, list, "5.8.4: a JSON array of subscriptions")

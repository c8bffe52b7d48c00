"""Tenancy: the NGSILD-Tenant header (6.3.14); each tenant's entities apart from the others'."""

from __future__ import annotations

from conformance.mim1.common import entity_path, prop, thing
from conformance.registry import check
from conformance.trial import Trial


async def _in_tenant(t: Trial) -> tuple[dict[str, object], str]:
    """An entity created in a tenant of the run's own (created by it, as 6.3.14 allows)."""
    tenant = t.session.tenant("a")
    entity = thing(t, "Tenanted", speed=prop(1))
    await t.create(entity, tenant=tenant)
    return entity, tenant


@check("tenancy.create", "6.3.14", "Creating an entity in a new tenant answers 201")
async def create(t: Trial) -> None:
    await _in_tenant(t)


@check("tenancy.retrieve", "6.3.14", "An entity is retrieved in its tenant")
async def retrieve(t: Trial) -> None:
    entity, tenant = await _in_tenant(t)
    reply = await t.get(entity_path(str(entity["id"])), tenant=tenant)
    t.expect_status(reply, 200, "6.3.14: the entity is found in its tenant")


@check("tenancy.isolated", "6.3.14", "An entity of a tenant is not found in the default tenant")
async def isolated(t: Trial) -> None:
    entity, _ = await _in_tenant(t)
    reply = await t.get(entity_path(str(entity["id"])), tenant="")
    t.expect_problem(reply, 404, "ResourceNotFound")


@check("tenancy.isolated_query", "6.3.14", "Query Entities in another tenant does not find the entity")
async def isolated_query(t: Trial) -> None:
    entity, _ = await _in_tenant(t)
    other = t.session.tenant("b")
    await t.create(thing(t, "Other"), tenant=other)
    reply = await t.get("/entities", params={"type": str(entity["type"])}, tenant=other)
    t.expect(reply.status == 200 and reply.json() == [], "6.3.14: tenants do not share entities",
             f"status {reply.status}, body {reply.body[:200]!r}")


@check("tenancy.types", "6.3.14", "GET /types in a tenant lists the types of that tenant")
async def types(t: Trial) -> None:
    entity, tenant = await _in_tenant(t)
    body = (await t.get("/types", tenant=tenant)).json() or {}
    t.expect(entity["type"] in (body.get("typeList") or []), "6.3.14: the tenant's types are listed", f"body: {body}")


@check("tenancy.nonexistent", "6.3.14", "A request naming a tenant that does not exist answers 404 NonexistentTenant",
       writes=False)
async def nonexistent(t: Trial) -> None:
    reply = await t.get("/entities", params={"type": t.type("Thing")}, tenant=t.session.tenant("none"))
    t.expect_problem(reply, 404, "NonexistentTenant")


@check("tenancy.batch", "6.3.14", "Batch create in a tenant puts the entities in that tenant")
async def batch(t: Trial) -> None:
    tenant = t.session.tenant("a")
    entity = thing(t, "Tenanted", speed=prop(1))
    t.owns(entity_path(entity["id"]), tenant)
    reply = await t.post("/entityOperations/create", json=[entity], tenant=tenant)
    t.expect_status(reply, 201, "5.6.7: batch create answers 201")
    t.expect_status(await t.get(entity_path(entity["id"]), tenant=tenant), 200, "6.3.14: the entity is in the tenant")


@check("tenancy.notification", "6.3.14", "A notification of a tenant's subscription carries the NGSILD-Tenant header")
async def notification(t: Trial) -> None:
    tenant = t.session.tenant("a")
    await t.create(thing(t, "Tenanted"), tenant=tenant)
    path = f"{t.run}-tenant"
    subscription = {"type": "Subscription", "entities": [{"type": t.type("TenantWatched")}],
                    "notification": {"endpoint": {"uri": t.receiver.endpoint(path), "accept": "application/json"}}}
    reply, _ = await t.subscribe(subscription, tenant=tenant)
    t.expect_status(reply, 201, "5.8.1: Create Subscription answers 201")
    await t.create(thing(t, "TenantWatched", speed=prop(1)), tenant=tenant)
    received = await t.receiver.wait(path, 1, t.session.notify_timeout)
    t.expect(received, "5.8.6: the tenant's subscription notifies", "no notification")
    t.expect(received[0].headers.get("ngsild-tenant") == tenant, "6.3.14: the notification names the tenant",
             f"headers: {received[0].headers}")

"""Discovery: the types and attributes of the entities (5.7.5 to 5.7.10), over the query data set."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from conformance.mim1.query import query_set
from conformance.registry import check
from conformance.trial import Trial


async def _body(t: Trial, path: str, clause: str, **params: str) -> Any:
    reply = await t.get(path, params=params or None)
    t.expect_status(reply, 200, f"{clause}: answers 200 OK")
    return reply.json()


@check("discovery.types.list", "5.7.5", "GET /types answers an EntityTypeList naming the types of the entities")
async def types_list(t: Trial) -> None:
    data = await query_set(t)
    body = await _body(t, "/types", "5.7.5")
    t.expect(isinstance(body, dict) and body.get("type") == "EntityTypeList"
             and {data.a, data.b, data.c} <= set(body.get("typeList") or []),
             "5.2.24: an EntityTypeList whose typeList holds every type", f"body: {str(body)[:300]}")


@check("discovery.types.list_id", "5.7.5", "The EntityTypeList has an id that is a URI", writes=False)
async def types_list_id(t: Trial) -> None:
    body = await _body(t, "/types", "5.7.5")
    t.expect(isinstance(body, dict) and ":" in str(body.get("id", "")), "5.2.24: id is a URI",
             f"id: {body.get('id') if isinstance(body, dict) else body}")


@check("discovery.types.details", "5.7.6", "GET /types?details=true answers an EntityType per type with its attributes")
async def types_details(t: Trial) -> None:
    data = await query_set(t)
    body = await _body(t, "/types", "5.7.6", details="true")
    t.expect(isinstance(body, list), "5.7.6: a JSON array of EntityType", f"body: {str(body)[:200]}")
    mine = next((item for item in body if item.get("typeName") == data.b), None)
    t.expect(mine and mine.get("type") == "EntityType" and {"speed", "location", data.marker}
             <= set(mine.get("attributeNames") or []), "5.2.25: EntityType gives typeName and attributeNames",
             f"entry of B: {mine}")


@check("discovery.types.info", "5.7.7", "GET /types/{type} answers an EntityTypeInfo with the entity count")
async def types_info(t: Trial) -> None:
    data = await query_set(t)
    body = await _body(t, f"/types/{quote(data.a)}", "5.7.7")
    t.expect(isinstance(body, dict) and body.get("type") == "EntityTypeInfo" and body.get("entityCount") == 4,
             "5.2.26: EntityTypeInfo with entityCount 4", f"body: {str(body)[:300]}")


@check("discovery.types.info_attributes", "5.7.7", "EntityTypeInfo lists each attribute with its attribute types")
async def types_info_attributes(t: Trial) -> None:
    data = await query_set(t)
    body = await _body(t, f"/types/{quote(data.c)}", "5.7.7")
    details = (body or {}).get("attributeDetails") or []
    colour = next((item for item in details if item.get("attributeName") == "colour"), None)
    t.expect(colour and "Property" in (colour.get("attributeTypes") or []),
             "5.2.27: attributeDetails gives attributeName and attributeTypes", f"attributeDetails: {details}")


@check("discovery.types.not_found", "5.7.7", "GET /types/{type} of an unknown type answers 404", writes=False)
async def types_not_found(t: Trial) -> None:
    reply = await t.get(f"/types/{t.type('Nothing')}")
    t.expect_problem(reply, 404, "ResourceNotFound")


@check("discovery.attributes.list", "5.7.8", "GET /attributes answers an AttributeList naming the attributes")
async def attributes_list(t: Trial) -> None:
    data = await query_set(t)
    body = await _body(t, "/attributes", "5.7.8")
    t.expect(isinstance(body, dict) and body.get("type") == "AttributeList"
             and data.marker in (body.get("attributeList") or []),
             "5.2.28: an AttributeList whose attributeList holds every attribute", f"body: {str(body)[:300]}")


@check("discovery.attributes.details", "5.7.9", "GET /attributes?details=true gives each Attribute its type names")
async def attributes_details(t: Trial) -> None:
    data = await query_set(t)
    body = await _body(t, "/attributes", "5.7.9", details="true")
    t.expect(isinstance(body, list), "5.7.9: a JSON array of Attribute", f"body: {str(body)[:200]}")
    mine = next((item for item in body if item.get("attributeName") == data.marker), None)
    t.expect(mine and mine.get("type") == "Attribute" and set(mine.get("typeNames") or []) == {data.a, data.b},
             "5.2.29: Attribute gives attributeName and typeNames", f"entry: {mine}")


@check("discovery.attributes.info", "5.7.10", "GET /attributes/{attr} answers an Attribute with its count")
async def attributes_info(t: Trial) -> None:
    data = await query_set(t)
    body = await _body(t, f"/attributes/{quote(data.marker)}", "5.7.10")
    t.expect(isinstance(body, dict) and body.get("attributeCount") == 2 and "Property" in
             (body.get("attributeTypes") or []), "5.2.29: Attribute with attributeCount 2 and attributeTypes",
             f"body: {body}")


@check("discovery.attributes.not_found", "5.7.10", "GET /attributes/{attr} of an unknown attribute answers 404",
       writes=False)
async def attributes_not_found(t: Trial) -> None:
    reply = await t.get(f"/attributes/cf{t.run}Nothing")
    t.expect_problem(reply, 404, "ResourceNotFound")


@check("discovery.types.gone", "5.7.5", "A type whose entities are all deleted is no longer listed")
async def types_gone(t: Trial) -> None:
    entity = {"id": t.new_id(), "type": t.type("Fleeting")}
    await t.create(entity)
    await t.delete(f"/entities/{entity['id']}")
    body = await _body(t, "/types", "5.7.5")
    t.expect(entity["type"] not in ((body or {}).get("typeList") or []),
             "5.7.5: only the types of existing entities are listed", "the deleted entity's type is still listed")


@check("discovery.attributes.list_shape", "5.7.8", "GET /attributes answers an AttributeList with an attributeList",
       writes=False)
async def attributes_list_shape(t: Trial) -> None:
    body = await _body(t, "/attributes", "5.7.8")
    t.expect(isinstance(body, dict) and body.get("type") == "AttributeList"
             and isinstance(body.get("attributeList"), list), "5.2.28: an AttributeList", f"body: {str(body)[:300]}")

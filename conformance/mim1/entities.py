"""Entities and attributes: create, retrieve, update, append, merge, replace, delete (clauses 5.6, 5.7.1)."""

from __future__ import annotations

from typing import Any

from conformance.mim1.common import attr_path, entity_path, geo, prop, rel, thing, value_of
from conformance.registry import check
from conformance.trial import Trial


async def _made(t: Trial, **attrs: Any) -> dict[str, Any]:
    entity = thing(t, speed=prop(10), **attrs)
    await t.create(entity)
    return entity


async def _read(t: Trial, entity_id: str, **params: str) -> dict[str, Any]:
    reply = await t.get(entity_path(entity_id), params=params or None)
    t.expect_status(reply, 200, "5.7.1: Retrieve Entity answers 200 OK with the entity")
    body: dict[str, Any] = t.expect_json(reply, dict, "5.7.1: Retrieve Entity answers a JSON object")
    return body


@check("entities.create.status", "5.6.1", "Create Entity answers 201 Created")
async def create_status(t: Trial) -> None:
    await _made(t)


@check("entities.create.location", "5.6.1", "Create Entity answers 201 with a Location header naming the entity")
async def create_location(t: Trial) -> None:
    entity = thing(t)
    reply = await t.create(entity)
    location = reply.header("location") or ""
    t.expect(location.rstrip("/").endswith(entity_path(entity["id"])) or location.endswith(entity["id"]),
             "6.4.3.1: the Location header holds /ngsi-ld/v1/entities/{entityId}", f"Location: {location or '-'}")


@check("entities.create.duplicate", "5.6.1", "Creating an entity whose id exists answers 409 AlreadyExists")
async def create_duplicate(t: Trial) -> None:
    entity = await _made(t)
    reply = await t.post("/entities", json=entity)
    t.expect_problem(reply, 409, "AlreadyExists")


@check("entities.create.invalid_id", "5.6.1", "An entity id that is not a URI answers 400 BadRequestData")
async def create_invalid_id(t: Trial) -> None:
    reply = await t.post("/entities", json={"id": "not a uri", "type": t.type("Thing")})
    t.expect_problem(reply, 400, "BadRequestData")


@check("entities.create.no_type", "5.6.1", "An entity without a type answers 400 BadRequestData")
async def create_no_type(t: Trial) -> None:
    reply = await t.post("/entities", json={"id": t.new_id()})
    t.expect_problem(reply, 400, "BadRequestData")


@check("entities.create.bad_attribute", "5.6.1", "An attribute without a type answers 400 BadRequestData")
async def create_bad_attribute(t: Trial) -> None:
    reply = await t.post("/entities", json={"id": t.new_id(), "type": t.type("Thing"),
                                            "speed": {"type": "Nonsense", "value": 1}})
    t.expect_problem(reply, 400, "BadRequestData")


@check("entities.create.not_json", "6.3.2", "A body that is not JSON answers 400 InvalidRequest")
async def create_not_json(t: Trial) -> None:
    reply = await t.post("/entities", body=b"{not json", headers={"Content-Type": "application/json"})
    t.expect_problem(reply, 400, "InvalidRequest")


@check("entities.create.null_value", "5.2.1", "A Property with a null value answers 400 BadRequestData")
async def create_null_value(t: Trial) -> None:
    reply = await t.post("/entities", json={"id": t.new_id(), "type": t.type("Thing"),
                                            "speed": {"type": "Property", "value": None}})
    t.expect_problem(reply, 400, "BadRequestData")


@check("entities.retrieve.ok", "5.7.1", "Retrieve Entity answers the entity with its id and type")
async def retrieve_ok(t: Trial) -> None:
    entity = await _made(t)
    body = await _read(t, entity["id"])
    t.expect(body.get("id") == entity["id"] and body.get("type") == entity["type"],
             "5.7.1: the entity comes back with its id and type", f"id {body.get('id')}, type {body.get('type')}")


@check("entities.retrieve.not_found", "5.7.1", "Retrieving an unknown entity answers 404 ResourceNotFound",
       writes=False)
async def retrieve_not_found(t: Trial) -> None:
    reply = await t.get(entity_path(t.new_id()))
    t.expect_problem(reply, 404, "ResourceNotFound")


@check("entities.retrieve.property", "4.5.2", "A Property comes back with its type and value")
async def retrieve_property(t: Trial) -> None:
    entity = await _made(t, name=prop("Grote Markt"))
    body = await _read(t, entity["id"])
    t.expect(body.get("name") == prop("Grote Markt"), "4.5.2: a Property is {type: Property, value}",
             f"name: {body.get('name')}")


@check("entities.retrieve.compound_value", "4.5.2", "A Property with a JSON object value keeps the object")
async def retrieve_compound(t: Trial) -> None:
    address = {"streetAddress": "Grote Markt 21", "addressLocality": "Mechelen"}
    entity = await _made(t, address=prop(address))
    body = await _read(t, entity["id"])
    t.expect(value_of(body.get("address")) == address, "4.5.2: a compound value comes back whole",
             f"address: {body.get('address')}")


@check("entities.retrieve.relationship", "4.5.3", "A Relationship comes back with its object")
async def retrieve_relationship(t: Trial) -> None:
    target = t.new_id("Target")
    entity = await _made(t, owner=rel(target))
    body = await _read(t, entity["id"])
    t.expect(body.get("owner") == rel(target), "4.5.3: a Relationship is {type: Relationship, object}",
             f"owner: {body.get('owner')}")


@check("entities.retrieve.geoproperty", "4.7", "A GeoProperty comes back with its GeoJSON geometry")
async def retrieve_geoproperty(t: Trial) -> None:
    entity = await _made(t, location=geo(4.4777, 51.0259))
    body = await _read(t, entity["id"])
    location = body.get("location") or {}
    t.expect(location.get("type") == "GeoProperty" and value_of(location) == entity["location"]["value"],
             "4.7: a GeoProperty keeps its GeoJSON value", f"location: {location}")


@check("entities.retrieve.sub_property", "4.5.2", "A Property of a Property comes back nested in it")
async def retrieve_sub_property(t: Trial) -> None:
    entity = await _made(t, temperature=prop(21.5, accuracy=prop(0.5)))
    body = await _read(t, entity["id"])
    t.expect(value_of((body.get("temperature") or {}).get("accuracy")) == 0.5,
             "4.5.2: sub-attributes are kept", f"temperature: {body.get('temperature')}")


@check("entities.retrieve.observed_at", "4.5.2", "observedAt and unitCode of a Property are kept")
async def retrieve_observed_at(t: Trial) -> None:
    entity = await _made(t, temperature=prop(21.5, observedAt="2024-05-01T10:00:00Z", unitCode="CEL"))
    temperature = (await _read(t, entity["id"])).get("temperature") or {}
    t.expect(temperature.get("observedAt", "").startswith("2024-05-01T10:00:00") and
             temperature.get("unitCode") == "CEL", "4.5.2: observedAt and unitCode are kept",
             f"temperature: {temperature}")


@check("entities.retrieve.multi_instance", "4.5.5", "Attribute instances with distinct datasetIds are all kept")
async def retrieve_multi_instance(t: Trial) -> None:
    entity = await _made(t, level=[prop(1), prop(2, datasetId="urn:ngsi-ld:Dataset:b")])
    level = (await _read(t, entity["id"])).get("level")
    t.expect(isinstance(level, list) and sorted(value_of(item) for item in level) == [1, 2],
             "4.5.5: a multi-attribute comes back as an array of its instances", f"level: {level}")


@check("entities.retrieve.attrs", "5.7.1", "attrs limits the attributes of the retrieved entity")
async def retrieve_attrs(t: Trial) -> None:
    entity = await _made(t, name=prop("x"))
    body = await _read(t, entity["id"], attrs="name")
    t.expect("name" in body and "speed" not in body, "5.7.1: only the attributes named by attrs come back",
             f"members: {sorted(body)}")


@check("entities.retrieve.id_encoded", "6.3.3", "An entity id given percent-encoded in the path is found")
async def retrieve_id_encoded(t: Trial) -> None:
    entity = await _made(t)
    reply = await t.get("/entities/" + entity["id"].replace(":", "%3A"))
    t.expect_status(reply, 200, "6.3.3: the entity id in the path is a URI, percent-encoded or not")


@check("entities.delete.ok", "5.6.6", "Delete Entity answers 204 and the entity is gone")
async def delete_ok(t: Trial) -> None:
    entity = await _made(t)
    reply = await t.delete(entity_path(entity["id"]))
    t.expect_status(reply, 204, "5.6.6: Delete Entity answers 204 No Content")
    gone = await t.get(entity_path(entity["id"]))
    t.expect_status(gone, 404, "5.6.6: a deleted entity cannot be retrieved")


@check("entities.delete.not_found", "5.6.6", "Deleting an unknown entity answers 404 ResourceNotFound")
async def delete_not_found(t: Trial) -> None:
    reply = await t.delete(entity_path(t.new_id()))
    t.expect_problem(reply, 404, "ResourceNotFound")


@check("entities.append.ok", "5.6.3", "Append Entity Attributes answers 204 and adds the attribute")
async def append_ok(t: Trial) -> None:
    entity = await _made(t)
    reply = await t.post(entity_path(entity["id"]) + "/attrs", json={"name": prop("added")})
    t.expect_status(reply, 204, "5.6.3: Append Entity Attributes answers 204 when all are appended")
    t.expect(value_of((await _read(t, entity["id"])).get("name")) == "added", "5.6.3: the attribute is added")


@check("entities.append.overwrite", "5.6.3", "Append without noOverwrite replaces an existing attribute")
async def append_overwrite(t: Trial) -> None:
    entity = await _made(t)
    await t.post(entity_path(entity["id"]) + "/attrs", json={"speed": prop(99)})
    t.expect(value_of((await _read(t, entity["id"])).get("speed")) == 99, "5.6.3: an existing attribute is replaced")


@check("entities.append.no_overwrite", "5.6.3", "Append with options=noOverwrite keeps an existing attribute")
async def append_no_overwrite(t: Trial) -> None:
    entity = await _made(t)
    reply = await t.post(entity_path(entity["id"]) + "/attrs", json={"speed": prop(99), "name": prop("n")},
                         params={"options": "noOverwrite"})
    t.expect_status(reply, (204, 207), "5.6.3: Append Entity Attributes answers 204 or 207")
    body = await _read(t, entity["id"])
    t.expect(value_of(body.get("speed")) == 10 and value_of(body.get("name")) == "n",
             "5.6.3: with noOverwrite existing attributes are kept and new ones added", f"entity: {body}")


@check("entities.append.not_found", "5.6.3", "Appending to an unknown entity answers 404 ResourceNotFound")
async def append_not_found(t: Trial) -> None:
    reply = await t.post(entity_path(t.new_id()) + "/attrs", json={"name": prop("x")})
    t.expect_problem(reply, 404, "ResourceNotFound")


@check("entities.update.ok", "5.6.2", "Update Entity Attributes answers 204 and changes the value")
async def update_ok(t: Trial) -> None:
    entity = await _made(t)
    reply = await t.patch(entity_path(entity["id"]) + "/attrs", json={"speed": prop(20)})
    t.expect_status(reply, 204, "5.6.2: Update Entity Attributes answers 204 when all are updated")
    t.expect(value_of((await _read(t, entity["id"])).get("speed")) == 20, "5.6.2: the value is updated")


@check("entities.update.partial", "5.6.2", "Updating an attribute the entity lacks answers 207 with notUpdated")
async def update_partial(t: Trial) -> None:
    entity = await _made(t)
    reply = await t.patch(entity_path(entity["id"]) + "/attrs", json={"speed": prop(20), "absent": prop(1)})
    t.expect_status(reply, 207, "5.6.2: an attribute that is not there is reported in a 207 UpdateResult")
    body = t.expect_json(reply, dict, "6.6.3.2: the 207 body is an UpdateResult")
    names = ("absent", "https://uri.etsi.org/ngsi-ld/default-context/absent")  # short or Fully Qualified Name
    t.expect(any(item.get("attributeName") in names for item in body.get("notUpdated", [])),
             "5.2.18: notUpdated names the attribute", f"body: {body}")


@check("entities.update.not_found", "5.6.2", "Updating attributes of an unknown entity answers 404")
async def update_not_found(t: Trial) -> None:
    reply = await t.patch(entity_path(t.new_id()) + "/attrs", json={"speed": prop(1)})
    t.expect_problem(reply, 404, "ResourceNotFound")


@check("entities.attr.patch", "5.6.4", "Partial Attribute Update answers 204 and changes only what is given")
async def attr_patch(t: Trial) -> None:
    entity = await _made(t, temperature=prop(20, unitCode="CEL"))
    reply = await t.patch(attr_path(entity["id"], "temperature"), json={"value": 25})
    t.expect_status(reply, 204, "5.6.4: Partial Attribute Update answers 204")
    temperature = (await _read(t, entity["id"])).get("temperature") or {}
    t.expect(value_of(temperature) == 25 and temperature.get("unitCode") == "CEL",
             "5.6.4: the given member changes, the others stay", f"temperature: {temperature}")


@check("entities.attr.patch_missing", "5.6.4", "Partial update of an attribute the entity lacks answers 404")
async def attr_patch_missing(t: Trial) -> None:
    entity = await _made(t)
    reply = await t.patch(attr_path(entity["id"], "absent"), json={"value": 1})
    t.expect_problem(reply, 404, "ResourceNotFound")


@check("entities.attr.replace", "5.6.19", "Replace Attribute answers 204 and replaces the attribute whole")
async def attr_replace(t: Trial) -> None:
    entity = await _made(t, temperature=prop(20, unitCode="CEL"))
    reply = await t.put(attr_path(entity["id"], "temperature"), json=prop(30))
    t.expect_status(reply, 204, "5.6.19: Replace Attribute answers 204")
    temperature = (await _read(t, entity["id"])).get("temperature") or {}
    t.expect(value_of(temperature) == 30 and "unitCode" not in temperature,
             "5.6.19: the attribute is replaced whole", f"temperature: {temperature}")


@check("entities.attr.replace_missing", "5.6.19", "Replacing an attribute the entity lacks answers 404")
async def attr_replace_missing(t: Trial) -> None:
    entity = await _made(t)
    reply = await t.put(attr_path(entity["id"], "absent"), json=prop(1))
    t.expect_problem(reply, 404, "ResourceNotFound")


@check("entities.attr.delete", "5.6.5", "Delete Entity Attribute answers 204 and removes it")
async def attr_delete(t: Trial) -> None:
    entity = await _made(t, name=prop("x"))
    reply = await t.delete(attr_path(entity["id"], "name"))
    t.expect_status(reply, 204, "5.6.5: Delete Entity Attribute answers 204")
    t.expect("name" not in await _read(t, entity["id"]), "5.6.5: the attribute is removed")


@check("entities.attr.delete_missing", "5.6.5", "Deleting an attribute the entity lacks answers 404")
async def attr_delete_missing(t: Trial) -> None:
    entity = await _made(t)
    reply = await t.delete(attr_path(entity["id"], "absent"))
    t.expect_problem(reply, 404, "ResourceNotFound")


@check("entities.attr.delete_dataset", "5.6.5", "Deleting with datasetId removes only that instance")
async def attr_delete_dataset(t: Trial) -> None:
    entity = await _made(t, level=[prop(1), prop(2, datasetId="urn:ngsi-ld:Dataset:b")])
    reply = await t.delete(attr_path(entity["id"], "level"), params={"datasetId": "urn:ngsi-ld:Dataset:b"})
    t.expect_status(reply, 204, "5.6.5: Delete Entity Attribute answers 204")
    level = (await _read(t, entity["id"])).get("level")
    t.expect(value_of(level) == 1 or (isinstance(level, list) and [value_of(i) for i in level] == [1]),
             "5.6.5: only the instance of the datasetId is deleted", f"level: {level}")


@check("entities.attr.delete_all", "5.6.5", "Deleting with deleteAll=true removes every instance")
async def attr_delete_all(t: Trial) -> None:
    entity = await _made(t, level=[prop(1), prop(2, datasetId="urn:ngsi-ld:Dataset:b")])
    reply = await t.delete(attr_path(entity["id"], "level"), params={"deleteAll": "true"})
    t.expect_status(reply, 204, "5.6.5: Delete Entity Attribute answers 204")
    t.expect("level" not in await _read(t, entity["id"]), "5.6.5: every instance is deleted")


@check("entities.merge.ok", "5.6.17", "Merge Entity answers 204, changes and adds attributes, keeps the others")
async def merge_ok(t: Trial) -> None:
    entity = await _made(t, name=prop("x"))
    reply = await t.patch(entity_path(entity["id"]), json={"speed": prop(30), "colour": prop("red")})
    t.expect_status(reply, 204, "5.6.17: Merge Entity answers 204")
    body = await _read(t, entity["id"])
    t.expect(value_of(body.get("speed")) == 30 and value_of(body.get("colour")) == "red" and "name" in body,
             "5.6.17: merged attributes change or are added, the others stay", f"entity: {body}")


@check("entities.merge.null", "5.6.17", "Merging urn:ngsi-ld:null as a value deletes the attribute")
async def merge_null(t: Trial) -> None:
    entity = await _made(t, name=prop("x"))
    reply = await t.patch(entity_path(entity["id"]), json={"name": prop("urn:ngsi-ld:null")})
    t.expect_status(reply, 204, "5.6.17: Merge Entity answers 204")
    t.expect("name" not in await _read(t, entity["id"]), "5.5.12: an NGSI-LD Null in a merge deletes the attribute")


@check("entities.merge.not_found", "5.6.17", "Merging into an unknown entity answers 404")
async def merge_not_found(t: Trial) -> None:
    reply = await t.patch(entity_path(t.new_id()), json={"speed": prop(1)})
    t.expect_problem(reply, 404, "ResourceNotFound")


@check("entities.replace.ok", "5.6.18", "Replace Entity answers 204 and drops the attributes not given")
async def replace_ok(t: Trial) -> None:
    entity = await _made(t, name=prop("x"))
    reply = await t.put(entity_path(entity["id"]), json={"type": entity["type"], "colour": prop("blue")})
    t.expect_status(reply, 204, "5.6.18: Replace Entity answers 204")
    body = await _read(t, entity["id"])
    t.expect("colour" in body and "name" not in body and "speed" not in body,
             "5.6.18: the entity holds only the given attributes", f"members: {sorted(body)}")


@check("entities.replace.not_found", "5.6.18", "Replacing an unknown entity answers 404")
async def replace_not_found(t: Trial) -> None:
    reply = await t.put(entity_path(t.new_id()), json={"type": t.type("Thing"), "speed": prop(1)})
    t.expect_problem(reply, 404, "ResourceNotFound")


@check("entities.scope.kept", "4.18", "The scope of an entity is kept")
async def scope_kept(t: Trial) -> None:
    entity = await _made(t, scope="/Mechelen/Centrum")
    scope = (await _read(t, entity["id"])).get("scope")
    t.expect(scope in ("/Mechelen/Centrum", ["/Mechelen/Centrum"]), "4.18: scope is part of the entity",
             f"scope: {scope}")


@check("entities.create.multi_type", "4.16", "An entity with several types is found by each of them")
async def create_multi_type(t: Trial) -> None:
    entity = {"id": t.new_id(), "type": [t.type("TypeA"), t.type("TypeB")], "speed": prop(1)}
    await t.create(entity)
    for kind in ("TypeA", "TypeB"):
        reply = await t.get("/entities", params={"type": t.type(kind)})
        found = reply.json() or []
        t.expect([e.get("id") for e in found] == [entity["id"]], "4.16: an entity is an instance of each type",
                 f"query by {kind}: {[e.get('id') for e in found]}")


@check("entities.create.system_attrs_ignored", "4.8", "createdAt sent by a client is ignored: the broker sets it")
async def create_system_attrs_ignored(t: Trial) -> None:
    entity = await _made(t, createdAt="2000-01-01T00:00:00Z")
    body = await _read(t, entity["id"], options="sysAttrs")
    t.expect(not str(body.get("createdAt", "2000")).startswith("2000"), "4.8: createdAt is set by the broker, what "
             "a client sends is ignored", f"createdAt: {body.get('createdAt')}")


@check("entities.purge.type", "5.6.21", "Purge Entities (DELETE /entities?type=) answers 204 and deletes them")
async def purge(t: Trial) -> None:
    kind = "Purged"
    for value in (1, 2):
        await t.create(thing(t, kind, speed=prop(value)))
    reply = await t.delete("/entities", params={"type": t.type(kind)})
    t.expect_status(reply, 204, "5.6.21: Purge Entities answers 204 No Content")
    left = await t.get("/entities", params={"type": t.type(kind)})
    t.expect(left.json() == [], "5.6.21: the matching entities are deleted", f"left: {left.body[:200]!r}")

"""Representations of entities: normalized, concise, keyValues (simplified), GeoJSON, sysAttrs, lang (4.5)."""

from __future__ import annotations

from typing import Any

from conformance.mim1.common import entity_path, geo, point, prop, rel, thing, value_of
from conformance.registry import check
from conformance.trial import Trial

TARGET = "urn:ngsi-ld:Target:1"
GEOJSON = {"Accept": "application/geo+json"}


async def _shown(t: Trial, params: dict[str, str] | None = None, headers: dict[str, str] | None = None,
                 **attrs: Any) -> dict[str, Any]:
    """A new entity with `attrs` (speed, owner, location by default), as retrieved with `params` and `headers`."""
    attrs = attrs or {"speed": prop(10, unitCode="KMH"), "owner": rel(TARGET), "location": geo(4.4777, 51.0259)}
    entity = thing(t, **attrs)
    await t.create(entity)
    reply = await t.get(entity_path(entity["id"]), params=params, headers=headers)
    t.expect_status(reply, 200, "5.7.1: Retrieve Entity answers 200 OK")
    body: dict[str, Any] = t.expect_json(reply, dict, "5.7.1: the entity is a JSON object")
    return body


@check("representations.normalized.default", "4.5.1", "Without options an entity comes back normalized")
async def normalized_default(t: Trial) -> None:
    body = await _shown(t)
    t.expect(body.get("speed", {}).get("type") == "Property" and body.get("owner", {}).get("type") == "Relationship",
             "4.5.1: the normalized representation gives each attribute its type", f"entity: {body}")


@check("representations.keyvalues.retrieve", "4.5.4", "options=keyValues gives each Property as its bare value")
async def keyvalues_retrieve(t: Trial) -> None:
    body = await _shown(t, {"options": "keyValues"})
    t.expect(body.get("speed") == 10, "4.5.4: a Property is represented by its value", f"speed: {body.get('speed')}")


@check("representations.keyvalues.relationship", "4.5.4", "options=keyValues gives a Relationship as its object")
async def keyvalues_relationship(t: Trial) -> None:
    body = await _shown(t, {"options": "keyValues"})
    t.expect(body.get("owner") == TARGET, "4.5.4: a Relationship is represented by its object URI",
             f"owner: {body.get('owner')}")


@check("representations.keyvalues.geo", "4.5.4", "options=keyValues gives a GeoProperty as its GeoJSON geometry")
async def keyvalues_geo(t: Trial) -> None:
    body = await _shown(t, {"options": "keyValues"})
    t.expect(body.get("location") == point(4.4777, 51.0259), "4.5.4: a GeoProperty is represented by its geometry",
             f"location: {body.get('location')}")


@check("representations.keyvalues.query", "4.5.4", "Query Entities honours options=keyValues")
async def keyvalues_query(t: Trial) -> None:
    entity = thing(t, "KeyValues", speed=prop(7))
    await t.create(entity)
    reply = await t.get("/entities", params={"type": entity["type"], "options": "keyValues"})
    found = t.expect_json(reply, list, "5.7.2: Query Entities answers a JSON array")
    t.expect(len(found) == 1 and found[0].get("speed") == 7, "4.5.4: the entities come back as key-values",
             f"entities: {found}")


@check("representations.format.simplified", "6.3.7", "format=simplified gives the key-values representation")
async def format_simplified(t: Trial) -> None:
    body = await _shown(t, {"format": "simplified"})
    t.expect(body.get("speed") == 10, "6.3.7: format=simplified is the simplified (keyValues) representation",
             f"speed: {body.get('speed')}")


@check("representations.concise.property", "4.5.1", "options=concise drops the type of a Property")
async def concise_property(t: Trial) -> None:
    body = await _shown(t, {"options": "concise"})
    speed = body.get("speed")
    t.expect(isinstance(speed, dict) and "type" not in speed and speed.get("value") == 10
             and speed.get("unitCode") == "KMH", "4.5.1: a concise Property keeps value and sub-attributes, no type",
             f"speed: {speed}")


@check("representations.concise.relationship", "4.5.1", "options=concise gives a Relationship as {object}")
async def concise_relationship(t: Trial) -> None:
    body = await _shown(t, {"options": "concise"})
    t.expect(body.get("owner") == {"object": TARGET}, "4.5.1: a concise Relationship is {object}",
             f"owner: {body.get('owner')}")


@check("representations.concise.input", "4.5.1", "An entity sent in the concise representation is understood")
async def concise_input(t: Trial) -> None:
    entity = thing(t, speed={"value": 5, "unitCode": "KMH"}, owner={"object": TARGET}, colour="red")
    await t.create(entity)
    body = (await t.get(entity_path(entity["id"]))).json() or {}
    t.expect(body.get("speed") == prop(5, unitCode="KMH") and body.get("owner") == rel(TARGET)
             and body.get("colour") == prop("red"), "4.5.1: concise input is read as the normalized form",
             f"entity: {body}")


@check("representations.geojson.feature", "4.5.17", "Accept: application/geo+json gives a GeoJSON Feature")
async def geojson_feature(t: Trial) -> None:
    body = await _shown(t, headers=GEOJSON)
    t.expect(body.get("type") == "Feature" and body.get("geometry") == point(4.4777, 51.0259)
             and "speed" in (body.get("properties") or {}),
             "4.5.17: a Feature with the location as geometry and the attributes in properties", f"body: {body}")


@check("representations.geojson.content_type", "6.3.4", "A GeoJSON answer has Content-Type application/geo+json")
async def geojson_content_type(t: Trial) -> None:
    entity = thing(t, location=geo(4.4, 51.0))
    await t.create(entity)
    reply = await t.get(entity_path(entity["id"]), headers=GEOJSON)
    t.expect(reply.media_type == "application/geo+json", "6.3.4: the media type answered is application/geo+json",
             f"Content-Type: {reply.header('content-type')}")


@check("representations.geojson.collection", "4.5.17", "Query Entities with geo+json gives a FeatureCollection")
async def geojson_collection(t: Trial) -> None:
    entity = thing(t, "Featured", location=geo(4.4, 51.0))
    await t.create(entity)
    reply = await t.get("/entities", params={"type": entity["type"]}, headers=GEOJSON)
    body = t.expect_json(reply, dict, "4.5.17: a FeatureCollection object")
    features = body.get("features") or []
    t.expect(body.get("type") == "FeatureCollection" and [f.get("id") for f in features] == [entity["id"]],
             "4.5.17: a FeatureCollection of the matching entities", f"body: {body}")


@check("representations.geojson.geometry_property", "4.5.17", "geometryProperty picks the geometry of a Feature")
async def geojson_geometry_property(t: Trial) -> None:
    body = await _shown(t, {"geometryProperty": "area"}, GEOJSON, location=geo(4.4, 51.0), area=geo(5.0, 52.0))
    t.expect(body.get("geometry") == point(5.0, 52.0), "4.5.17: the GeoProperty named by geometryProperty is the "
             "geometry", f"geometry: {body.get('geometry')}")


@check("representations.geojson.keyvalues", "4.5.17", "GeoJSON with keyValues gives bare values in properties")
async def geojson_keyvalues(t: Trial) -> None:
    body = await _shown(t, {"options": "keyValues"}, GEOJSON)
    t.expect((body.get("properties") or {}).get("speed") == 10, "4.5.17: properties are key-values",
             f"properties: {body.get('properties')}")


@check("representations.sysattrs.present", "6.3.11", "options=sysAttrs adds createdAt and modifiedAt")
async def sysattrs_present(t: Trial) -> None:
    body = await _shown(t, {"options": "sysAttrs"})
    speed = body.get("speed") or {}
    t.expect(all(isinstance(member.get(name), str) for member in (body, speed) for name in ("createdAt", "modifiedAt")),
             "4.8: the entity and its attributes carry createdAt and modifiedAt", f"entity: {body}")


@check("representations.sysattrs.absent", "6.3.11", "Without options=sysAttrs no system attributes are shown")
async def sysattrs_absent(t: Trial) -> None:
    body = await _shown(t)
    t.expect("createdAt" not in body and "createdAt" not in (body.get("speed") or {}),
             "4.8: createdAt and modifiedAt are shown only when asked for", f"members: {sorted(body)}")


@check("representations.sysattrs.modified", "4.8", "modifiedAt moves forward when an attribute changes")
async def sysattrs_modified(t: Trial) -> None:
    entity = thing(t, speed=prop(1))
    await t.create(entity)
    path = entity_path(entity["id"])
    before = (await t.get(path, params={"options": "sysAttrs"})).json() or {}
    await t.patch(path + "/attrs", json={"speed": prop(2)})
    after = (await t.get(path, params={"options": "sysAttrs"})).json() or {}
    t.expect(after.get("speed", {}).get("modifiedAt", "") > before.get("speed", {}).get("modifiedAt", "~")
             and after.get("createdAt") == before.get("createdAt"),
             "4.8: modifiedAt changes with the attribute, createdAt stays", f"before {before}, after {after}")


LANGUAGE_MAP = {"nl": "Grote Markt", "en": "Great Market"}


@check("representations.lang.map", "4.5.18", "A LanguageProperty comes back with its languageMap")
async def lang_map(t: Trial) -> None:
    body = await _shown(t, name={"type": "LanguageProperty", "languageMap": LANGUAGE_MAP})
    t.expect(body.get("name") == {"type": "LanguageProperty", "languageMap": LANGUAGE_MAP},
             "4.5.18: a LanguageProperty keeps its languageMap", f"name: {body.get('name')}")


@check("representations.lang.filter", "4.5.18", "lang=nl gives a LanguageProperty as a Property in Dutch")
async def lang_filter(t: Trial) -> None:
    body = await _shown(t, {"lang": "nl"}, name={"type": "LanguageProperty", "languageMap": LANGUAGE_MAP})
    name = body.get("name") or {}
    t.expect(name.get("type") == "Property" and name.get("value") == "Grote Markt" and name.get("lang") == "nl",
             "4.5.18: with lang the Property holds the string of that language and a lang member", f"name: {name}")


@check("representations.lang.keyvalues", "4.5.18", "lang with keyValues gives the string of that language")
async def lang_keyvalues(t: Trial) -> None:
    body = await _shown(t, {"lang": "en", "options": "keyValues"},
                        name={"type": "LanguageProperty", "languageMap": LANGUAGE_MAP})
    t.expect(body.get("name") == "Great Market", "4.5.18: the key-value is the string of the language",
             f"name: {body.get('name')}")


def _kept(check_id: str, clause: str, statement: str, attribute: dict[str, Any]) -> None:
    async def run(t: Trial) -> None:
        body = await _shown(t, thing_attr=attribute)
        t.expect(body.get("thing_attr") == attribute, f"{clause}: {statement}", f"came back: {body.get('thing_attr')}")
    check(check_id, clause, statement)(run)


_kept("representations.vocab_property", "5.2.35", "A VocabProperty keeps its vocab",
      {"type": "VocabProperty", "vocab": "OffStreetParking"})
_kept("representations.json_property", "5.2.38", "A JsonProperty keeps its JSON unchanged",
      {"type": "JsonProperty", "json": {"any": ["thing", 1, None], "@id": "kept"}})
_kept("representations.list_property", "5.2.36", "A ListProperty keeps its valueList in order",
      {"type": "ListProperty", "valueList": [3, 1, 2]})
_kept("representations.datetime_value", "4.6.3", "A DateTime value keeps its @type and @value",
      {"type": "Property", "value": {"@type": "DateTime", "@value": "2024-05-01T10:00:00Z"}})
_kept("representations.array_value", "4.5.2", "A Property with an array value keeps the array",
      {"type": "Property", "value": [1, "two", {"three": 3}]})


@check("representations.relationship.multi", "4.5.5", "A Relationship with datasetIds keeps each instance")
async def relationship_multi(t: Trial) -> None:
    body = await _shown(t, owner=[rel(TARGET), rel("urn:ngsi-ld:Target:2", datasetId="urn:ngsi-ld:Dataset:b")])
    owner = body.get("owner")
    t.expect(isinstance(owner, list) and sorted(value_of(item) for item in owner) == [TARGET, "urn:ngsi-ld:Target:2"],
             "4.5.5: each instance of a multi-attribute is kept", f"owner: {owner}")




@check("representations.geojson.no_location", "4.5.17", "A Feature of an entity without location has geometry null")
async def geojson_no_location(t: Trial) -> None:
    body = await _shown(t, None, GEOJSON, speed=prop(1))
    t.expect(body.get("type") == "Feature" and "geometry" in body and body["geometry"] is None,
             "4.5.17: geometry is null when the entity has no such GeoProperty", f"body: {body}")


@check("representations.geojson.empty", "4.5.17", "A GeoJSON query without matches is an empty FeatureCollection",
       writes=False)
async def geojson_empty(t: Trial) -> None:
    reply = await t.get("/entities", params={"type": t.type("Nothing")}, headers=GEOJSON)
    body = reply.json()
    t.expect(reply.status == 200 and isinstance(body, dict) and body.get("type") == "FeatureCollection"
             and body.get("features") == [], "4.5.17: a FeatureCollection with no features", f"body: {body}")

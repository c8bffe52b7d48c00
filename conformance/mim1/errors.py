"""Content negotiation and errors: media types (6.3.4), ProblemDetails (5.5.2, 6.3.2), invalid requests."""

from __future__ import annotations

from typing import Any

import orjson

from conformance.mim1.common import entity_path, prop, thing
from conformance.registry import check, register
from conformance.trial import Trial

FILTERLESS = "/entities"


@check("errors.accept.unsupported", "6.3.4", "An Accept the broker cannot serve answers 406 NotAcceptable",
       writes=False)
async def accept_unsupported(t: Trial) -> None:
    reply = await t.get(FILTERLESS, params={"type": t.type("Thing")}, headers={"Accept": "text/csv"})
    t.expect_problem(reply, 406, "NotAcceptable")


@check("errors.accept.json", "6.3.4", "Accept: application/json answers application/json", writes=False)
async def accept_json(t: Trial) -> None:
    reply = await t.get(FILTERLESS, params={"type": t.type("Thing")}, headers={"Accept": "application/json"})
    t.expect(reply.status == 200 and reply.media_type == "application/json", "6.3.4: the answer is application/json",
             f"status {reply.status}, Content-Type {reply.header('content-type')}")


@check("errors.accept.ld_json", "6.3.4", "Accept: application/ld+json answers application/ld+json", writes=False)
async def accept_ld_json(t: Trial) -> None:
    reply = await t.get(FILTERLESS, params={"type": t.type("Thing")}, headers={"Accept": "application/ld+json"})
    t.expect(reply.status == 200 and reply.media_type == "application/ld+json",
             "6.3.4: the answer is application/ld+json", f"status {reply.status}, "
                                                         f"Content-Type {reply.header('content-type')}")


@check("errors.accept.any", "6.3.4", "Accept: */* answers application/json", writes=False)
async def accept_any(t: Trial) -> None:
    reply = await t.get(FILTERLESS, params={"type": t.type("Thing")}, headers={"Accept": "*/*"})
    t.expect(reply.status == 200 and reply.media_type == "application/json",
             "6.3.4: without a preference the answer is application/json",
             f"status {reply.status}, Content-Type {reply.header('content-type')}")


@check("errors.accept.weighted", "6.3.4", "Accept with q weights picks the preferred supported media type",
       writes=False)
async def accept_weighted(t: Trial) -> None:
    reply = await t.get(FILTERLESS, params={"type": t.type("Thing")},
                        headers={"Accept": "application/json;q=0.5, application/ld+json;q=0.9"})
    t.expect(reply.status == 200 and reply.media_type == "application/ld+json",
             "6.3.4: the media type of the highest weight is answered", f"Content-Type {reply.header('content-type')}")


@check("errors.content_type.unsupported", "6.3.4", "A body of an unsupported media type answers 415")
async def content_type_unsupported(t: Trial) -> None:
    reply = await t.post("/entities", body=b"id=1", headers={"Content-Type": "text/plain"})
    t.expect_status(reply, 415, "6.3.4: an unsupported Content-Type answers 415 (without a body)")


@check("errors.content_type.merge_patch", "6.3.4", "PATCH accepts application/merge-patch+json")
async def content_type_merge_patch(t: Trial) -> None:
    entity = thing(t, speed=prop(1))
    await t.create(entity)
    reply = await t.patch(entity_path(entity["id"]), body=orjson.dumps({"speed": prop(2)}),
                          headers={"Content-Type": "application/merge-patch+json"})
    t.expect_status(reply, 204, "6.3.4: PATCH bodies may be application/merge-patch+json")


@check("errors.problem.members", "5.5.2", "An error body holds type, title and, when given, a numeric status",
       writes=False)
async def problem_members(t: Trial) -> None:
    reply = await t.get(entity_path(t.new_id()))
    t.expect_problem(reply, 404, "ResourceNotFound")
    body = reply.json()
    t.expect(isinstance(body.get("title"), str) and isinstance(body.get("status", 404), int),
             "5.5.2: ProblemDetails has a title (and status, when present, is a number)", f"body: {body}")


@check("errors.problem.status_matches", "5.5.2", "The status member of an error equals the HTTP status",
       writes=False)
async def problem_status_matches(t: Trial) -> None:
    reply = await t.get(entity_path(t.new_id()))
    status = (reply.json() or {}).get("status", reply.status)
    t.expect(status == reply.status, "RFC 7807: status equals the HTTP status", f"status member {status}")


def _bad_query(check_id: str, statement: str, params: dict[str, str], clause: str = "5.7.2") -> None:
    async def run(t: Trial) -> None:
        reply = await t.get(FILTERLESS, params={k: v.replace("{T}", t.type("Thing")) for k, v in params.items()})
        t.expect_problem(reply, 400, "BadRequestData", "InvalidRequest")
    register(check_id, clause, statement, run, writes=False)


_bad_query("errors.query.no_filter", "Query Entities without type, attrs, q or geo-query answers 400", {})
_bad_query("errors.query.bad_q", "A q that does not parse answers 400", {"type": "{T}", "q": "speed>>>1"}, "4.9")
_bad_query("errors.query.unbalanced_q", "A q with unbalanced parentheses answers 400",
           {"type": "{T}", "q": "(speed==1"}, "4.9")
_bad_query("errors.query.bad_georel", "An unknown georel answers 400",
           {"type": "{T}", "georel": "nearby", "geometry": "Point", "coordinates": "[4,51]"}, "4.10")
_bad_query("errors.query.georel_alone", "A georel without geometry and coordinates answers 400",
           {"type": "{T}", "georel": "near;maxDistance==10"}, "4.10")
_bad_query("errors.query.bad_geometry", "An unknown geometry answers 400",
           {"type": "{T}", "georel": "within", "geometry": "Circle", "coordinates": "[4,51]"}, "4.10")
_bad_query("errors.query.bad_coordinates", "Coordinates that are not JSON answers 400",
           {"type": "{T}", "georel": "near;maxDistance==10", "geometry": "Point", "coordinates": "[4,"}, "4.10")
_bad_query("errors.query.negative_limit", "A negative limit answers 400", {"type": "{T}", "limit": "-1"}, "6.3.10")
_bad_query("errors.query.text_limit", "A limit that is not a number answers 400", {"type": "{T}", "limit": "ten"},
           "6.3.10")
_bad_query("errors.query.negative_offset", "A negative offset answers 400", {"type": "{T}", "offset": "-1"}, "6.3.10")
_bad_query("errors.query.limit_zero", "limit=0 without count=true answers 400", {"type": "{T}", "limit": "0"},
           "6.3.10")
_bad_query("errors.query.bad_type_expression", "A type expression that does not parse answers 400",
           {"type": "({T};"}, "4.17")
_bad_query("errors.query.bad_scopeq", "A scopeQ that is not a scope answers 400",
           {"type": "{T}", "scopeQ": "no-slash"}, "4.19")


@check("errors.query.bad_id", "5.7.2", "ids that are not URIs answer 400", writes=False)
async def query_bad_id(t: Trial) -> None:
    reply = await t.get(FILTERLESS, params={"type": t.type("Thing"), "id": "not a uri"})
    t.expect_problem(reply, 400, "BadRequestData", "InvalidRequest")


@check("errors.retrieve.bad_id", "5.7.1", "Retrieving an id that is not a URI answers 400 BadRequestData",
       writes=False)
async def retrieve_bad_id(t: Trial) -> None:
    reply = await t.get("/entities/not%20a%20uri")
    t.expect_problem(reply, 400, "BadRequestData", "InvalidRequest")


@check("errors.method.not_allowed", "6.1", "A method a resource does not have answers 405 with an Allow header")
async def method_not_allowed(t: Trial) -> None:
    reply = await t.request("DELETE", "/types")
    t.expect_status(reply, (405, 422), "6.1: a method a resource does not have answers 405 Method Not Allowed")
    t.expect(reply.status == 422 or reply.header("allow"), "RFC 9110 15.5.6: a 405 names the methods in Allow",
             "no Allow header")


def _bad_payload(check_id: str, clause: str, statement: str, path: str, payload: dict[str, Any]) -> None:
    """A check that a payload breaking `clause` answers 400 BadRequestData (whatever it made is removed)."""
    async def run(t: Trial) -> None:
        sent = {**payload, "id": t.new_id("Bad")} if path == "/entities" else {
            **payload, "entities": [{"type": t.type("Bad"), **payload.get("entities", [{}])[0]}]}
        reply = await t.post(path, json=sent)
        if reply.status == 201:
            made = sent["id"] if path == "/entities" else (reply.header("location") or "").rpartition("/")[2]
            t.owns(f"{path}/{made}")
        t.expect_problem(reply, 400, "BadRequestData")
    register(check_id, clause, statement, run)


_ENDPOINT = {"endpoint": {"uri": "http://127.0.0.1:9/never", "accept": "application/json"}}
_bad_payload("errors.payload.ngsi_ld_null", "5.2.1", "An NGSI-LD Null in a created entity answers 400 BadRequestData",
             "/entities", {"type": "Bad", "speed": prop("urn:ngsi-ld:null")})
_bad_payload("errors.payload.relationship_object", "5.2.6", "A Relationship whose object is not a URI answers 400",
             "/entities", {"type": "Bad", "owner": {"type": "Relationship", "object": "not a uri"}})
_bad_payload("errors.payload.geometry", "5.2.7", "A GeoProperty whose value is not GeoJSON answers 400", "/entities",
             {"type": "Bad", "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": "x"}}})
_bad_payload("errors.payload.observed_at", "5.2.5", "An observedAt that is not a DateTime answers 400", "/entities",
             {"type": "Bad", "speed": prop(1, observedAt="yesterday")})
_bad_payload("errors.payload.dataset_id", "5.2.5", "A datasetId that is not a URI answers 400", "/entities",
             {"type": "Bad", "speed": prop(1, datasetId="not a uri")})
_bad_payload("errors.payload.same_dataset_id", "4.5.5", "Two instances of an attribute with one datasetId answer 400",
             "/entities", {"type": "Bad", "speed": [prop(1), prop(2)]})
_bad_payload("errors.payload.language_map", "5.2.32", "A languageMap whose values are not strings answers 400",
             "/entities", {"type": "Bad", "name": {"type": "LanguageProperty", "languageMap": {"nl": 3}}})
_bad_payload("errors.subscription.empty_watched", "5.2.12", "An empty watchedAttributes answers 400",
             "/subscriptions", {"type": "Subscription", "watchedAttributes": [], "notification": _ENDPOINT})
_bad_payload("errors.subscription.interval_and_watched", "5.2.12", "timeInterval with watchedAttributes answers 400",
             "/subscriptions", {"type": "Subscription", "watchedAttributes": ["speed"], "timeInterval": 10,
                                "notification": _ENDPOINT})
_bad_payload("errors.subscription.interval_and_throttling", "5.2.12", "timeInterval with throttling answers 400",
             "/subscriptions", {"type": "Subscription", "throttling": 5, "timeInterval": 10,
                                "notification": _ENDPOINT})
_bad_payload("errors.subscription.endpoint_uri", "5.2.15", "A notification endpoint that is not a URI answers 400",
             "/subscriptions", {"type": "Subscription", "notification": {"endpoint": {"uri": "not a uri"}}})
_bad_payload("errors.subscription.entity_id", "5.2.33", "An EntitySelector id that is not a URI answers 400",
             "/subscriptions", {"type": "Subscription", "entities": [{"id": "not a uri"}], "notification": _ENDPOINT})

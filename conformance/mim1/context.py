"""@context handling: the Link header, @context in the body, the core context, hosted @contexts (6.3.5, 5.13)."""

from __future__ import annotations

from typing import Any

from conformance.mim1.common import CORE, entity_path, prop, thing, thing_with
from conformance.registry import check
from conformance.trial import Trial

LINK_REL = 'rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'


def link(url: str) -> dict[str, str]:
    return {"Link": f"<{url}>; {LINK_REL}"}


def _term(t: Trial) -> tuple[str, str]:
    """A term of the run's @context (the checker's own, or --context) and the IRI it expands to."""
    return next(iter(t.session.terms.items()))


async def _linked(t: Trial) -> tuple[dict[str, Any], str, str]:
    """An entity created with an attribute named by a term of the linked @context."""
    term, iri = _term(t)
    entity = thing_with(t, {term: prop(42)})
    await t.create(entity, headers=link(t.session.context_url))
    return entity, term, iri


@check("context.link.compacted", "6.3.5", "A term of the Link header @context is compacted back with the same Link")
async def link_compacted(t: Trial) -> None:
    entity, term, _ = await _linked(t)
    body = (await t.get(entity_path(entity["id"]), headers=link(t.session.context_url))).json() or {}
    t.expect(body.get(term) == prop(42), "6.3.5: the attribute comes back under the term of the same @context",
             f"members: {sorted(body)}")


@check("context.link.expanded", "6.3.5", "Without the Link header the attribute comes back as its full IRI")
async def link_expanded(t: Trial) -> None:
    entity, _, iri = await _linked(t)
    body = (await t.get(entity_path(entity["id"]))).json() or {}
    t.expect(body.get(iri) == prop(42), "6.3.5: a name the core @context does not define is shown as its IRI",
             f"members: {sorted(body)}")


@check("context.link.query", "6.3.5", "Query Entities expands q and attrs with the Link header @context")
async def link_query(t: Trial) -> None:
    entity, term, _ = await _linked(t)
    reply = await t.get("/entities", params={"type": entity["type"], "q": f"{term}==42"},
                        headers=link(t.session.context_url))
    found = t.expect_json(reply, list, "5.7.2: Query Entities answers a JSON array")
    t.expect([e.get("id") for e in found] == [entity["id"]], "6.3.5: q is expanded with the linked @context",
             f"ids: {[e.get('id') for e in found]}")


@check("context.body.inline", "6.3.5", "An inline @context object of an application/ld+json body is applied")
async def body_inline(t: Trial) -> None:
    term, iri = _term(t)
    entity = {**thing_with(t, {term: prop(7)}), "@context": [{term: iri}, CORE]}
    await t.create(entity, json_ld=True)
    body = (await t.get(entity_path(entity["id"]))).json() or {}
    t.expect(body.get(iri) == prop(7), "6.3.5: the body's @context expands the term", f"members: {sorted(body)}")


@check("context.body.url", "6.3.5", "An @context URL in an application/ld+json body is fetched and applied")
async def body_url(t: Trial) -> None:
    term, iri = _term(t)
    entity = {**thing_with(t, {term: prop(8)}), "@context": t.session.context_url}
    await t.create(entity, json_ld=True)
    body = (await t.get(entity_path(entity["id"]))).json() or {}
    t.expect(body.get(iri) == prop(8), "6.3.5: the body's @context URL expands the term", f"members: {sorted(body)}")


@check("context.core.default", "6.3.5", "Without any @context names expand with the core @context's default vocabulary")
async def core_default(t: Trial) -> None:
    entity = thing(t, speed=prop(1))
    await t.create(entity)
    iri = "https://uri.etsi.org/ngsi-ld/default-context/speed"
    body = (await t.get(entity_path(entity["id"]), params={"attrs": iri})).json() or {}
    t.expect("speed" in body, "6.3.5: 'speed' is the default-context IRI, and is compacted back",
             f"members: {sorted(body)}")


@check("context.core.terms", "4.5", "The core @context terms (location, observedAt) are understood without a Link")
async def core_terms(t: Trial) -> None:
    entity = thing(t, location={"type": "GeoProperty", "value": {"type": "Point", "coordinates": [4.4, 51.0]}},
                   speed=prop(1, observedAt="2024-01-01T00:00:00Z"))
    await t.create(entity)
    body = (await t.get(entity_path(entity["id"]), headers=link(t.session.context_url))).json() or {}
    t.expect("location" in body and "observedAt" in (body.get("speed") or {}),
             "4.5: the core @context always applies, also after a user @context", f"entity: {body}")


@check("context.response.link", "6.3.6", "An application/json answer carries the @context in a Link header")
async def response_link(t: Trial) -> None:
    entity = thing(t)
    await t.create(entity)
    reply = await t.get(entity_path(entity["id"]), headers={"Accept": "application/json"})
    header = reply.header("link") or ""
    t.expect("json-ld#context" in header and reply.media_type == "application/json",
             "6.3.6: application/json answers give the @context in a Link header", f"Link: {header or '-'}")


@check("context.response.body", "6.3.6", "An application/ld+json answer carries the @context in the body")
async def response_body(t: Trial) -> None:
    entity = thing(t)
    await t.create(entity)
    reply = await t.get(entity_path(entity["id"]), headers={"Accept": "application/ld+json"})
    body = reply.json() or {}
    t.expect("@context" in body and reply.media_type == "application/ld+json",
             "6.3.6: application/ld+json answers hold @context", f"Content-Type {reply.header('content-type')}, "
             f"members {sorted(body)}")


@check("context.response.query_body", "6.3.6", "Each entity of an application/ld+json query answer has @context")
async def response_query_body(t: Trial) -> None:
    entity = thing(t, "LdQuery")
    await t.create(entity)
    reply = await t.get("/entities", params={"type": entity["type"]}, headers={"Accept": "application/ld+json"})
    found = t.expect_json(reply, list, "5.7.2: a JSON array")
    t.expect(found and all("@context" in e for e in found), "6.3.6: every entity carries @context",
             f"entities: {found}")


@check("context.error.link_with_ld_json", "6.3.5", "A Link header on an application/ld+json request answers 400")
async def error_link_with_ld_json(t: Trial) -> None:
    entity = {**thing(t), "@context": CORE}
    reply = await t.post("/entities", json=entity, headers={"Content-Type": "application/ld+json",
                                                            **link(t.session.context_url)})
    t.expect_problem(reply, 400, "BadRequestData", "InvalidRequest")


@check("context.error.context_in_json", "6.3.5", "@context in an application/json body answers 400 BadRequestData")
async def error_context_in_json(t: Trial) -> None:
    reply = await t.post("/entities", json={**thing(t), "@context": CORE})
    t.expect_problem(reply, 400, "BadRequestData", "InvalidRequest")


@check("context.error.ld_json_without_context", "6.3.5", "An application/ld+json body without @context answers 400")
async def error_ld_json_without_context(t: Trial) -> None:
    reply = await t.post("/entities", json=thing(t), headers={"Content-Type": "application/ld+json"})
    t.expect_problem(reply, 400, "BadRequestData", "InvalidRequest")


@check("context.error.unavailable", "6.3.5", "A Link @context that cannot be fetched answers LdContextNotAvailable")
async def error_unavailable(t: Trial) -> None:
    missing = t.session.context_url.rsplit("/", 1)[0] + f"/missing-{t.run}.jsonld"
    reply = await t.post("/entities", json=thing(t, speed=prop(1)), headers=link(missing))
    t.expect_problem(reply, (504, 503), "LdContextNotAvailable")


@check("context.hosted.add", "5.13.2", "Add @context stores an @context the broker then serves")
async def hosted_add(t: Trial) -> None:
    term, iri = _term(t)
    reply = await t.post("/jsonldContexts", json={"@context": {term: iri}})
    t.offered(reply, "@context management (5.13)")
    t.expect_status(reply, 201, "5.13.2: Add @context answers 201 with a Location")
    location = reply.header("location") or ""
    t.owns(location.split("/ngsi-ld/v1", 1)[-1])
    served = await t.get(location.split("/ngsi-ld/v1", 1)[-1])
    t.expect_status(served, 200, "5.13.4: the stored @context is served")
    t.expect((served.json() or {}).get("@context") == {term: iri}, "5.13.4: it is served unchanged",
             f"body: {served.body[:300]!r}")


@check("context.hosted.list", "5.13.3", "List @contexts answers a JSON array of URLs", writes=False)
async def hosted_list(t: Trial) -> None:
    reply = await t.get("/jsonldContexts")
    t.offered(reply, "@context management (5.13)")
    t.expect_status(reply, 200, "5.13.3: List @contexts answers 200")
    t.expect_json(reply, list, "5.13.3: a JSON array")


@check("context.response.link_echo", "6.3.6", "An application/json answer links the @context the request linked")
async def response_link_echo(t: Trial) -> None:
    entity, _, _ = await _linked(t)
    reply = await t.get(entity_path(entity["id"]), headers=link(t.session.context_url))
    header = reply.header("link") or ""
    t.expect(t.session.context_url in header, "6.3.6: the Link header of the answer names the request's @context",
             f"Link: {header or '-'}")


@check("context.types.compacted", "5.7.5", "GET /types compacts type names with the request's @context")
async def types_compacted(t: Trial) -> None:
    term, iri = _term(t)
    await t.create({"id": t.new_id(), "type": iri + t.run})
    receiver = t.receiver
    receiver.contexts[f"types-{t.run}.jsonld"] = {"@context": {f"{term}Type": iri + t.run}}
    body = (await t.get("/types", headers=link(receiver.context_url(f"types-{t.run}.jsonld")))).json() or {}
    t.expect(f"{term}Type" in (body.get("typeList") or []), "5.7.5: type names are compacted with the @context",
             f"typeList: {body.get('typeList')}")


@check("context.response.link_query", "6.3.6", "An application/json query answer carries the @context in a Link header",
       writes=False)
async def response_link_query(t: Trial) -> None:
    reply = await t.get("/entities", params={"type": t.type("Nothing")}, headers={"Accept": "application/json"})
    header = reply.header("link") or ""
    t.expect(reply.status == 200 and "json-ld#context" in header,
             "6.3.6: application/json answers give the @context in a Link header", f"Link: {header or '-'}")

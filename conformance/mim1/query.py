"""Query Entities: type expressions (4.17), q (4.9), scopeQ (4.19), geo-queries (4.10), attrs/pick/omit,
paging and count (6.3.10, 6.3.13), and the POST form (5.7.2), over a data set made once per run."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from conformance.mim1.common import geo, ids_of, prop, rel
from conformance.registry import check, register
from conformance.trial import Trial

GROTE_MARKT = (4.4777, 51.0259)
MECHELEN_NOORD = (4.4900, 51.0400)
DELFT = (4.3571, 52.0116)
MECHELEN = "[[[4.40,50.98],[4.55,50.98],[4.55,51.08],[4.40,51.08],[4.40,50.98]]]"


@dataclass(frozen=True)
class QuerySet:
    """Six entities: e1..e3 of type A, e4 of B, e5 of A and B, e6 of C (ids by name)."""

    ids: dict[str, str]
    a: str
    b: str
    c: str
    marker: str
    """An attribute name no other data uses (e4 and e5 have it)."""

    def named(self, *names: str) -> set[str]:
        return {self.ids[name] for name in names}

    def expand(self, text: str) -> str:
        """{A}, {B}, {C} and {e1}..{e6} replaced by the type names and ids of the set."""
        names = {"A": self.a, "B": self.b, "C": self.c, "M": self.marker, **self.ids}
        return re.sub(r"\{(\w+)\}", lambda match: names[match.group(1)], text)


async def _make(t: Trial) -> QuerySet:
    a, b, c = t.type("QA"), t.type("QB"), t.type("QC")
    ids = {f"e{n}": t.new_id("Q") for n in range(1, 7)}
    marker = f"cf{t.run}Level"
    entities: list[dict[str, Any]] = [
        {"id": ids["e1"], "type": a, "speed": prop(10, observedAt="2024-05-01T10:00:00Z"), "name": prop("alpha"),
         "location": geo(*GROTE_MARKT), "scope": "/Mechelen/Centrum", "owner": rel(ids["e2"]),
         "tags": prop(["x", "y"])},
        {"id": ids["e2"], "type": a, "speed": prop(20, observedAt="2024-05-02T10:00:00Z"), "name": prop("beta"),
         "location": geo(*MECHELEN_NOORD), "scope": "/Mechelen/Noord"},
        {"id": ids["e3"], "type": a, "speed": prop(30), "name": prop("gamma"), "scope": "/Delft",
         "address": prop({"city": "Delft", "street": "Markt"})},
        {"id": ids["e4"], "type": b, "speed": prop(15), "location": geo(*DELFT), marker: prop(15)},
        {"id": ids["e5"], "type": [a, b], "speed": prop(25), "name": prop("Alphabet"), marker: prop(25)},
        {"id": ids["e6"], "type": c, "colour": prop("red")},
    ]
    for entity in entities:
        await t.create(entity)
    return QuerySet(ids, a, b, c, marker)


async def query_set(t: Trial) -> QuerySet:
    return await t.dataset("query", _make)


def _matches(check_id: str, clause: str, statement: str, params: dict[str, str], expected: tuple[str, ...]) -> None:
    """A check that Query Entities with `params` finds exactly the entities `expected`."""
    async def run(t: Trial) -> None:
        data = await query_set(t)
        sent = {name: data.expand(value) for name, value in params.items()}
        found = ids_of(t, await t.get("/entities", params=sent))
        wanted = data.named(*expected)
        t.expect(found == wanted, f"{clause}: {statement}",
                 f"found {sorted(_names(data, found))}, expected {sorted(expected)}")
    register(check_id, clause, statement, run)


def _names(data: QuerySet, ids: set[str]) -> list[str]:
    by_id = {value: name for name, value in data.ids.items()}
    return [by_id.get(entity_id, entity_id) for entity_id in ids]


# type expressions (4.17)
_matches("query.type.single", "4.17", "type=A finds the entities of type A", {"type": "{A}"}, ("e1", "e2", "e3", "e5"))
_matches("query.type.comma", "4.17", "type=A,B finds the entities of A or B", {"type": "{A},{B}"},
         ("e1", "e2", "e3", "e4", "e5"))
_matches("query.type.or", "4.17", "type=A|B finds the entities of A or B", {"type": "{A}|{B}"},
         ("e1", "e2", "e3", "e4", "e5"))
_matches("query.type.and", "4.17", "type=(A;B) finds the entities of both A and B", {"type": "({A};{B})"}, ("e5",))
_matches("query.type.unknown", "4.17", "A type no entity has finds nothing", {"type": "{A}Unknown"}, ())
# ids (5.7.2)
_matches("query.ids", "5.7.2", "id=e1,e4 finds those two entities", {"id": "{e1},{e4}", "type": "{A},{B}"},
         ("e1", "e4"))
_matches("query.id_pattern", "5.7.2", "idPattern finds the entities whose id matches the regular expression",
         {"type": "{A}", "idPattern": "^{e2}$"}, ("e2",))
# q (4.9)
_matches("query.q.equal", "4.9", "q=speed==20 finds the entity with that value", {"type": "{A}", "q": "speed==20"},
         ("e2",))
_matches("query.q.unequal", "4.9", "q=speed!=20 finds the other entities", {"type": "{A}", "q": "speed!=20"},
         ("e1", "e3", "e5"))
_matches("query.q.greater", "4.9", "q=speed>20 compares numbers", {"type": "{A}", "q": "speed>20"}, ("e3", "e5"))
_matches("query.q.greater_equal", "4.9", "q=speed>=20 includes the bound", {"type": "{A}", "q": "speed>=20"},
         ("e2", "e3", "e5"))
_matches("query.q.less", "4.9", "q=speed<20 compares numbers", {"type": "{A}", "q": "speed<20"}, ("e1",))
_matches("query.q.less_equal", "4.9", "q=speed<=20 includes the bound", {"type": "{A}", "q": "speed<=20"},
         ("e1", "e2"))
_matches("query.q.and", "4.9", "q with ; needs both terms", {"type": "{A}", "q": "speed>10;speed<30"}, ("e2", "e5"))
_matches("query.q.or", "4.9", "q with | needs either term", {"type": "{A}", "q": "speed==10|speed==30"},
         ("e1", "e3"))
_matches("query.q.parentheses", "4.9", "q groups terms with parentheses",
         {"type": "{A}", "q": "(speed==10|speed==20);name==\"beta\""}, ("e2",))
_matches("query.q.string", "4.9", "q compares strings given in double quotes", {"type": "{A}", "q": "name==\"gamma\""},
         ("e3",))
_matches("query.q.range", "4.9", "q=speed==10..20 finds values in the range", {"type": "{A}", "q": "speed==10..20"},
         ("e1", "e2"))
_matches("query.q.value_list", "4.9", "q=speed==10,30 finds any of the values", {"type": "{A}", "q": "speed==10,30"},
         ("e1", "e3"))
_matches("query.q.pattern", "4.9", "q with ~= matches a regular expression", {"type": "{A}", "q": "name~=^al"},
         ("e1",))
_matches("query.q.not_pattern", "4.9", "q with !~= excludes a regular expression", {"type": "{A}", "q": "name!~=^al"},
         ("e2", "e3", "e5"))
_matches("query.q.exists", "4.9", "q=location finds the entities that have the attribute",
         {"type": "{A}", "q": "location"}, ("e1", "e2"))
_matches("query.q.not_exists", "4.9", "q=!location finds the entities that lack it", {"type": "{A}", "q": "!location"},
         ("e3", "e5"))
_matches("query.q.compound", "4.9", "q=address[city] reaches into a compound value",
         {"type": "{A}", "q": "address[city]==\"Delft\""}, ("e3",))
_matches("query.q.relationship", "4.9", "q compares the object of a Relationship",
         {"type": "{A}", "q": "owner==\"{e2}\""}, ("e1",))
_matches("query.q.metadata", "4.9", "q=speed.observedAt compares a sub-attribute",
         {"type": "{A}", "q": "speed.observedAt>=2024-05-02T00:00:00Z"}, ("e2",))
_matches("query.q.list_value", "4.9", "q matches a member of an array value", {"type": "{A}", "q": "tags==\"y\""},
         ("e1",))
_matches("query.q.without_type", "5.7.2", "q alone (no type) is a query over every type", {"q": "{M}==15"}, ("e4",))
# scopeQ (4.19)
_matches("query.scope.exact", "4.19", "scopeQ=/Mechelen/Centrum finds that scope",
         {"type": "{A}", "scopeQ": "/Mechelen/Centrum"}, ("e1",))
_matches("query.scope.descendants", "4.19", "scopeQ=/Mechelen/# finds the scope and those under it",
         {"type": "{A}", "scopeQ": "/Mechelen/#"}, ("e1", "e2"))
_matches("query.scope.one_level", "4.19", "scopeQ=/Mechelen/+ finds the scopes one level under",
         {"type": "{A}", "scopeQ": "/Mechelen/+"}, ("e1", "e2"))
_matches("query.scope.or", "4.19", "scopeQ with , finds either scope",
         {"type": "{A}", "scopeQ": "/Delft,/Mechelen/Noord"}, ("e2", "e3"))
# geo-queries (4.10)
_matches("query.geo.near_max", "4.10", "near;maxDistance finds the entities within the distance",
         {"type": "{A},{B}", "georel": "near;maxDistance==1000", "geometry": "Point",
          "coordinates": f"[{GROTE_MARKT[0]},{GROTE_MARKT[1]}]"}, ("e1",))
_matches("query.geo.near_min", "4.10", "near;minDistance finds the entities beyond the distance",
         {"type": "{A},{B}", "georel": "near;minDistance==1000", "geometry": "Point",
          "coordinates": f"[{GROTE_MARKT[0]},{GROTE_MARKT[1]}]"}, ("e2", "e4"))
_matches("query.geo.within", "4.10", "within a polygon finds the entities inside it",
         {"type": "{A},{B}", "georel": "within", "geometry": "Polygon", "coordinates": MECHELEN}, ("e1", "e2"))
_matches("query.geo.intersects", "4.10", "intersects finds the entities whose geometry meets the polygon",
         {"type": "{A},{B}", "georel": "intersects", "geometry": "Polygon", "coordinates": MECHELEN}, ("e1", "e2"))
_matches("query.geo.disjoint", "4.10", "disjoint finds the located entities outside the polygon",
         {"type": "{A},{B}", "georel": "disjoint", "geometry": "Polygon", "coordinates": MECHELEN}, ("e4",))
_matches("query.geo.equals", "4.10", "equals finds the entity at exactly that point",
         {"type": "{A},{B}", "georel": "equals", "geometry": "Point", "coordinates": f"[{DELFT[0]},{DELFT[1]}]"},
         ("e4",))
_matches("query.geo.with_q", "4.10", "a geo-query and q together need both",
         {"type": "{A}", "georel": "within", "geometry": "Polygon", "coordinates": MECHELEN, "q": "speed>10"}, ("e2",))
_matches("query.attrs.filter", "5.7.2", "attrs=address finds the entities that have the attribute",
         {"type": "{A}", "attrs": "address"}, ("e3",))


async def _query(t: Trial, **params: str) -> list[dict[str, Any]]:
    data = await query_set(t)
    reply = await t.get("/entities", params={name: data.expand(value) for name, value in params.items()})
    t.expect_status(reply, 200, "5.7.2: Query Entities answers 200")
    found: list[dict[str, Any]] = t.expect_json(reply, list, "5.7.2: a JSON array of entities")
    return found


@check("query.attrs.projection", "5.7.2", "attrs limits the attributes of each entity found")
async def attrs_projection(t: Trial) -> None:
    found = await _query(t, type="{A}", attrs="speed,name")
    t.expect(found and all(set(e) <= {"id", "type", "scope", "speed", "name", "@context"} for e in found),
             "5.7.2: only the attributes named by attrs are shown", f"members: {[sorted(e) for e in found]}")


@check("query.pick", "5.7.2", "pick keeps only the members named (id and speed)")
async def pick(t: Trial) -> None:
    found = await _query(t, type="{A}", pick="id,speed")
    t.expect(found and all(set(e) <= {"id", "speed", "@context"} and "id" in e for e in found),
             "4.21: only the picked members are shown", f"members: {[sorted(e) for e in found]}")


@check("query.omit", "5.7.2", "omit drops the members named")
async def omit(t: Trial) -> None:
    found = await _query(t, type="{A}", omit="name,location")
    t.expect(len(found) == 4 and all("name" not in e and "location" not in e and "speed" in e for e in found),
             "4.21: the omitted members are not shown, the others are", f"members: {[sorted(e) for e in found]}")


@check("query.paging.limit", "6.3.10", "limit caps the number of entities of a page")
async def paging_limit(t: Trial) -> None:
    found = await _query(t, type="{A}", limit="2")
    t.expect(len(found) == 2, "6.3.10: at most limit entities are answered", f"{len(found)} entities")


@check("query.paging.offset", "6.3.10", "Pages with limit and offset cover every entity once")
async def paging_offset(t: Trial) -> None:
    data = await query_set(t)
    seen: list[str] = []
    for offset in (0, 2, 4):
        seen += [e.get("id", "") for e in await _query(t, type="{A}", limit="2", offset=str(offset))]
    t.expect(sorted(seen) == sorted(data.named("e1", "e2", "e3", "e5")),
             "6.3.10: consecutive pages hold each entity exactly once", f"pages: {_names(data, set(seen))}")


@check("query.count", "6.3.13", "count=true gives the number of matches in NGSILD-Results-Count")
async def count(t: Trial) -> None:
    data = await query_set(t)
    reply = await t.get("/entities", params={"type": data.a, "count": "true", "limit": "1"})
    t.expect(reply.header("ngsild-results-count") == "4", "6.3.13: NGSILD-Results-Count holds the total (4)",
             f"NGSILD-Results-Count: {reply.header('ngsild-results-count')}")


@check("query.count.limit_zero", "6.3.10", "limit=0 with count=true answers no entities and the count")
async def count_limit_zero(t: Trial) -> None:
    data = await query_set(t)
    reply = await t.get("/entities", params={"type": data.b, "count": "true", "limit": "0"})
    t.expect(reply.status == 200 and reply.json() == [] and reply.header("ngsild-results-count") == "2",
             "6.3.10: an empty array and NGSILD-Results-Count 2", f"status {reply.status}, "
             f"count {reply.header('ngsild-results-count')}")


@check("query.count.absent", "6.3.13", "Without count=true there is no NGSILD-Results-Count header")
async def count_absent(t: Trial) -> None:
    data = await query_set(t)
    reply = await t.get("/entities", params={"type": data.a})
    t.expect(reply.header("ngsild-results-count") is None, "6.3.13: the count is given only when asked for",
             f"NGSILD-Results-Count: {reply.header('ngsild-results-count')}")


async def _post_query(t: Trial, query: dict[str, Any]) -> set[str]:
    reply = await t.post("/entityOperations/query", json={"type": "Query", **query})
    return ids_of(t, reply)


@check("query.post.type", "5.7.2", "POST /entityOperations/query finds entities by type")
async def post_type(t: Trial) -> None:
    data = await query_set(t)
    found = await _post_query(t, {"entities": [{"type": data.b}]})
    t.expect(found == data.named("e4", "e5"), "5.7.2: the Query's entities select by type",
             f"found {_names(data, found)}")


@check("query.post.q", "5.7.2", "POST /entityOperations/query applies q")
async def post_q(t: Trial) -> None:
    data = await query_set(t)
    found = await _post_query(t, {"entities": [{"type": data.a}], "q": "speed>=25"})
    t.expect(found == data.named("e3", "e5"), "5.7.2: the Query's q filters", f"found {_names(data, found)}")


@check("query.post.geo", "5.7.2", "POST /entityOperations/query applies a geoQ")
async def post_geo(t: Trial) -> None:
    data = await query_set(t)
    geo_q = {"geometry": "Point", "coordinates": list(GROTE_MARKT), "georel": "near;maxDistance==1000"}
    found = await _post_query(t, {"entities": [{"type": data.a}], "geoQ": geo_q})
    t.expect(found == data.named("e1"), "5.7.2: the Query's geoQ filters", f"found {_names(data, found)}")


@check("query.post.id", "5.7.2", "POST /entityOperations/query selects by entity id")
async def post_id(t: Trial) -> None:
    data = await query_set(t)
    found = await _post_query(t, {"entities": [{"type": data.c, "id": data.ids["e6"]}]})
    t.expect(found == data.named("e6"), "5.7.2: an EntitySelector with id selects that entity",
             f"found {_names(data, found)}")


@check("query.keyvalues.values", "4.5.4", "Query Entities with keyValues shows plain values")
async def keyvalues_values(t: Trial) -> None:
    found = await _query(t, type="{C}", options="keyValues")
    t.expect([e.get("colour") for e in found] == ["red"], "4.5.4: the values are plain", f"entities: {found}")


@check("query.paging.next_link", "6.3.10", "A page followed by more carries a Link header with rel=\"next\"")
async def paging_next_link(t: Trial) -> None:
    data = await query_set(t)
    reply = await t.get("/entities", params={"type": data.a, "limit": "2"})
    links = reply.header("link") or ""
    t.expect('rel="next"' in links or "rel=next" in links, "6.3.10: the Link header points to the next page",
             f"Link: {links or '-'}")


@check("query.geo.geoproperty", "4.10", "geoproperty makes a geo-query use another GeoProperty than location")
async def geo_geoproperty(t: Trial) -> None:
    data = await query_set(t)
    entity = {"id": t.new_id("Q"), "type": data.c, "location": geo(*DELFT), "origin": geo(*GROTE_MARKT)}
    await t.create(entity)
    found = ids_of(t, await t.get("/entities", params={
        "type": data.c, "georel": "near;maxDistance==1000", "geometry": "Point",
        "coordinates": f"[{GROTE_MARKT[0]},{GROTE_MARKT[1]}]", "geoproperty": "origin"}))
    t.expect(found == {entity["id"]}, "4.10: the geo-query applies to the GeoProperty named by geoproperty",
             f"found {sorted(found)}")


@check("query.attrs.absent", "5.7.2", "attrs naming an attribute no entity has finds nothing")
async def attrs_absent(t: Trial) -> None:
    found = await _query(t, type="{A}", attrs=f"cf{t.run}Absent")
    t.expect(found == [], "5.7.2: only entities with one of the attributes match", f"{len(found)} entities")


@check("query.paging.beyond", "6.3.10", "An offset past the last entity answers 200 with an empty array")
async def paging_beyond(t: Trial) -> None:
    found = await _query(t, type="{A}", offset="100")
    t.expect(found == [], "6.3.10: a page past the end is empty", f"{len(found)} entities")


@check("query.local", "5.7.2", "local=true alone is a valid query", writes=False)
async def local(t: Trial) -> None:
    reply = await t.get("/entities", params={"local": "true", "limit": "1"})
    t.expect_status(reply, 200, "5.7.2: local=true may stand in for the other filters")


@check("query.count.zero", "6.3.13", "count=true for a type without entities gives NGSILD-Results-Count 0",
       writes=False)
async def count_zero(t: Trial) -> None:
    reply = await t.get("/entities", params={"type": t.type("Nothing"), "count": "true"})
    t.expect(reply.status == 200 and reply.json() == [] and reply.header("ngsild-results-count") == "0",
             "6.3.13: an empty array and NGSILD-Results-Count 0",
             f"status {reply.status}, count {reply.header('ngsild-results-count')}")

"""Large but legal queries and payloads are answered, on every store; those beyond a limit get a ProblemDetails
that names the limit (ngsi_ld.limits, settings max_*), never a 500."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest

from tests.broker.entity_helpers import assert_problem, create, unique_type
from tests.conftest import API, BrokerProcess, unique_id

QUERY = "/entityOperations/query"


def _batch(client: httpx.Client, entities: list[dict[str, Any]]) -> None:
    created = client.post("/entityOperations/create", json=entities, timeout=120)
    assert created.status_code == 201, created.text


def _found(answer: httpx.Response) -> list[str]:
    assert answer.status_code == 200, answer.text[:500]
    return sorted(entity["id"] for entity in answer.json())


@pytest.fixture
def numbered(client: httpx.Client) -> tuple[str, list[str]]:
    """Ten entities of a fresh type, entity i with n == i, s == "v<i>" and scope /S<i>."""
    kind = unique_type()
    ids = [unique_id(kind) for _ in range(10)]
    _batch(client, [{"id": entity_id, "type": kind, "n": i, "s": f"v{i}", "scope": f"/S{i}"}
                    for i, entity_id in enumerate(ids)])
    return kind, ids


@pytest.mark.parametrize("count", [600, 5000])
def test_a_long_value_list_is_answered(client: httpx.Client, numbered: tuple[str, list[str]], count: int) -> None:
    kind, ids = numbered
    values = ",".join(str(value) for value in range(3, 3 + count * 2, 2))  # 3, 5, 7...: the odd numbers
    assert _found(client.get("/entities", params={"type": kind, "q": f"n=={values}", "limit": 100})) == \
        sorted(ids[3::2])
    assert _found(client.get("/entities", params={"type": kind, "q": f"n!={values}", "limit": 100})) == \
        sorted([*ids[0:3], *ids[4::2]])
    counted = client.get("/entities", params={"type": kind, "q": f"n=={values}", "count": "true", "limit": 0})
    assert counted.headers["NGSILD-Results-Count"] == "4"


def test_a_long_list_of_strings_in_a_query_object(client: httpx.Client, numbered: tuple[str, list[str]]) -> None:
    kind, ids = numbered
    strings = ",".join(f'"v{i}"' for i in range(5, 5005))
    body = {"type": "Query", "entities": [{"type": kind}], "q": f"s=={strings}"}
    assert _found(client.post(QUERY, json=body, params={"limit": 100})) == sorted(ids[5:])


def test_a_thousand_or_terms(client: httpx.Client, numbered: tuple[str, list[str]]) -> None:
    kind, ids = numbered
    q = "|".join(f"n=={value}" for value in range(7, 1007))
    assert _found(client.get("/entities", params={"type": kind, "q": q, "limit": 100})) == sorted(ids[7:])
    scopes = "|".join(f"/S{value}" for value in range(8, 1008))
    assert _found(client.get("/entities", params={"type": kind, "scopeQ": scopes})) == sorted(ids[8:])
    mixed = "|".join([*(f"n=={value}" for value in range(100, 140)), '(n==2;s=="v2")', "!n", "s~=v9$", "n==4"])
    assert _found(client.get("/entities", params={"type": kind, "q": mixed})) == sorted([ids[2], ids[4], ids[9]])
    mixed = "|".join([*(f"n=={value}" for value in range(100, 140)), "n!=3"])  # a negation: on the other side
    assert _found(client.get("/entities", params={"type": kind, "q": mixed})) == sorted([*ids[:3], *ids[4:]])


def test_a_batch_is_read_back_by_a_thousand_selectors(client: httpx.Client) -> None:
    token = uuid4().hex[:12]  # short ids and types: the broker of the tests takes bodies of 100 kB at most
    kinds = [f"A{token}", f"B{token}"]
    entities = [{"id": f"urn:B:{token}:{i}", "type": kinds[i % 2], "n": i} for i in range(1000)]
    _batch(client, entities)
    selectors = [{"id": entity["id"], "type": entity["type"]} for entity in entities]
    answer = client.post(QUERY, json={"type": "Query", "entities": selectors}, params={"limit": 1000, "count": "true"},
                         timeout=120)
    assert _found(answer) == sorted(entity["id"] for entity in entities)
    assert answer.headers["NGSILD-Results-Count"] == "1000"
    some = selectors[::3]
    first_half = {entity["id"] for entity in entities[:500]}
    answer = client.post(QUERY, json={"type": "Query", "entities": some, "q": "n<500"}, params={"limit": 1000},
                         timeout=120)
    assert _found(answer) == sorted(selector["id"] for selector in some if selector["id"] in first_half)


def test_a_thousand_selectors_by_pattern(client: httpx.Client, numbered: tuple[str, list[str]]) -> None:
    kind, ids = numbered
    selectors = [{"idPattern": f"^{entity_id}$", "type": kind} for entity_id in ids[2:]]
    selectors += [{"idPattern": f"^urn:nothing:{i}$", "type": kind} for i in range(1000 - len(selectors))]
    assert _found(client.post(QUERY, json={"type": "Query", "entities": selectors})) == sorted(ids[2:])


def _nested(depth: int, inner: str) -> str:
    return "(" * depth + inner + ")" * depth


def test_parentheses_nested_too_deep(client: httpx.Client, numbered: tuple[str, list[str]]) -> None:
    kind, ids = numbered
    for params in ({"type": kind, "q": _nested(2000, "n==1")}, {"type": kind, "scopeQ": _nested(2000, "/S1")},
                   {"type": _nested(2000, kind)}):
        problem = assert_problem(client.get("/entities", params=params), 400, "BadRequestData")
        assert "max_query_depth" in problem["detail"]
    body = {"type": "Query", "entities": [{"type": kind}], "q": _nested(2000, "n==1")}
    assert "max_query_depth" in assert_problem(client.post(QUERY, json=body), 400, "BadRequestData")["detail"]
    subscription = {"type": "Subscription", "entities": [{"type": kind}], "q": _nested(2000, "n==1"),
                    "notification": {"endpoint": {"uri": "http://127.0.0.1:9/notify"}}}
    problem = assert_problem(client.post("/subscriptions", json=subscription), 400, "BadRequestData")
    assert "max_query_depth" in problem["detail"]


def test_parentheses_nested_within_the_limit(client: httpx.Client, numbered: tuple[str, list[str]]) -> None:
    kind, ids = numbered
    q = "n==0"
    for value in range(1, 33):  # ((n==3|((n==1|n==0);n<100));n<100)...: ORs and ANDs, 32 deep (the default limit)
        q = f"(n=={value}|{q})" if value % 2 else f"({q};n<100)"
    expected = sorted(ids[index] for index in (0, 1, 3, 5, 7, 9))
    assert _found(client.get("/entities", params={"type": kind, "q": q})) == expected
    body = {"type": "Query", "entities": [{"type": kind}], "q": q}
    assert _found(client.post(QUERY, json=body)) == expected


def test_too_many_terms(client: httpx.Client, numbered: tuple[str, list[str]]) -> None:
    kind, _ = numbered
    problem = assert_problem(client.get("/entities", params={"type": kind, "q": "|".join(["n==1"] * 2001)}),
                             400, "BadRequestData")
    assert "max_query_terms" in problem["detail"]


def test_order_by_keys(client: httpx.Client, numbered: tuple[str, list[str]]) -> None:
    kind, ids = numbered
    keys = ",".join(["n;desc", *(f"other{i}" for i in range(14))])
    assert [entity["id"] for entity in client.get("/entities", params={"type": kind, "orderBy": keys}).json()] == \
        ids[::-1]
    too_many = client.get("/entities", params={"type": kind, "orderBy": keys + ",s"})
    assert "max_order_keys" in assert_problem(too_many, 400, "BadRequestData")["detail"]


def _deep_value(depth: int) -> Any:
    value: Any = "bottom"
    for level in range(depth):
        value = {"a": value} if level % 2 else [value, 1]
    return value


def _deep_attribute(depth: int) -> dict[str, Any]:
    attribute: dict[str, Any] = {"type": "Property", "value": depth}
    for level in range(depth):
        attribute = {"type": "Property", "value": level, f"sub{level}": attribute}
    return attribute


def test_deep_values(client: httpx.Client) -> None:
    kind = unique_type()
    too_deep = {"id": unique_id(kind), "type": kind, "p": {"type": "Property", "value": _deep_value(300)}}
    assert "max_value_depth" in assert_problem(client.post("/entities", json=too_deep), 400, "BadRequestData")["detail"]
    for member in ("json", "valueList"):
        too_deep = {"id": unique_id(kind), "type": kind, "p": {member: [_deep_value(300)]}}
        assert_problem(client.post("/entities", json=too_deep), 400, "BadRequestData")
    deep = {"id": unique_id(kind), "type": kind, "p": {"type": "Property", "value": _deep_value(64)}}
    create(client, deep)
    stored = client.get(f"/entities/{deep['id']}").json()
    assert stored["p"]["value"] == deep["p"]["value"]
    update = client.patch(f"/entities/{deep['id']}/attrs", json={"p": {"value": _deep_value(65)}})
    assert_problem(update, 400, "BadRequestData")


def test_deep_sub_attributes(client: httpx.Client) -> None:
    kind = unique_type()
    too_deep = {"id": unique_id(kind), "type": kind, "p": _deep_attribute(100)}
    problem = assert_problem(client.post("/entities", json=too_deep), 400, "BadRequestData")
    assert "max_attribute_depth" in problem["detail"]
    batch = client.post("/entityOperations/upsert", json=[too_deep])
    assert batch.status_code in (207, 400) and "max_attribute_depth" in json.dumps(batch.json())
    deep = {"id": unique_id(kind), "type": kind, "p": _deep_attribute(16)}
    create(client, deep)
    stored = client.get(f"/entities/{deep['id']}").json()
    assert stored["p"] == deep["p"]


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    """A broker of its own, with low limits."""
    env = {"SCIFI_MAX_VALUE_DEPTH": "3", "SCIFI_MAX_ATTRIBUTE_DEPTH": "2", "SCIFI_MAX_ATTRIBUTES": "5",
           "SCIFI_MAX_ID_LENGTH": "40", "SCIFI_MAX_NAME_LENGTH": "20", "SCIFI_MAX_STRING_LENGTH": "100",
           "SCIFI_MAX_QUERY_TERMS": "10", "SCIFI_MAX_QUERY_DEPTH": "3", "SCIFI_MAX_SELECTORS": "5",
           "SCIFI_MAX_ORDER_KEYS": "2"}
    broker = BrokerProcess(Path(tmp_path_factory.mktemp("strict-broker")), env=env).start()
    try:
        with httpx.Client(base_url=broker.url + API, timeout=10) as http:
            yield http
    finally:
        broker.stop()


def _limited(answer: httpx.Response, name: str, status: int = 400) -> None:
    problem = assert_problem(answer, status, "PayloadTooLarge" if status == 413 else "BadRequestData")
    assert f"max_{name} is " in problem["detail"], problem["detail"]


def test_limits_are_settings(strict: httpx.Client) -> None:
    def entity(**attrs: Any) -> dict[str, Any]:
        return {"id": f"urn:L:{uuid4().hex}", "type": "L", **attrs}

    create(strict, entity(v=_deep_value(3), p=_deep_attribute(2), s="x" * 100))
    _limited(strict.post("/entities", json=entity(v=_deep_value(4))), "value_depth")
    _limited(strict.post("/entities", json=entity(p=_deep_attribute(3))), "attribute_depth")
    _limited(strict.post("/entities", json=entity(a=1, b=2, c=3, d=4, e=5, f=6)), "attributes", 413)
    subs = {f"s{i}": 1 for i in range(6)}
    _limited(strict.post("/entities", json=entity(p={"value": 1, **subs})), "attributes", 413)
    _limited(strict.post("/entities", json=entity(s="x" * 101)), "string_length", 413)
    _limited(strict.post("/entities", json=entity(v={"a": ["x" * 101]})), "string_length", 413)
    _limited(strict.post("/entities", json={"id": "urn:x:" + "1" * 40, "type": "L"}), "id_length")
    _limited(strict.post("/entities", json=entity(**{"n" * 21: 1})), "name_length")
    _limited(strict.post("/entities", json={"id": "urn:x:1", "type": "L" * 21}), "name_length")
    assert strict.get("/entities", params={"type": "L", "q": "|".join(["a==1"] * 10)}).status_code == 200
    _limited(strict.get("/entities", params={"type": "L", "q": "|".join(["a==1"] * 11)}), "query_terms")
    _limited(strict.get("/entities", params={"type": "L", "scopeQ": ";".join(["/a"] * 11)}), "query_terms")
    _limited(strict.get("/entities", params={"type": ",".join(["L"] * 11)}), "query_terms")
    assert strict.get("/entities", params={"type": "L", "q": _nested(3, "a==1")}).status_code == 200
    _limited(strict.get("/entities", params={"type": "L", "q": _nested(4, "a==1")}), "query_depth")
    selectors = [{"type": "L"}] * 6
    _limited(strict.post(QUERY, json={"type": "Query", "entities": selectors}), "selectors", 413)
    subscription = {"type": "Subscription", "entities": selectors,
                    "notification": {"endpoint": {"uri": "http://127.0.0.1:9/notify"}}}
    _limited(strict.post("/subscriptions", json=subscription), "selectors", 413)
    assert strict.get("/entities", params={"type": "L", "orderBy": "a,b"}).status_code == 200
    _limited(strict.get("/entities", params={"type": "L", "orderBy": "a,b,c"}), "order_keys")


def test_long_lists_of_ids_types_and_attributes(client: httpx.Client, numbered: tuple[str, list[str]]) -> None:
    kind, ids = numbered
    some_ids = ",".join([*ids[:4], *(f"urn:x:{i}" for i in range(600))])
    assert _found(client.get("/entities", params={"type": kind, "id": some_ids})) == sorted(ids[:4])
    types = ",".join([kind, *(f"Other{i}" for i in range(1000))])
    assert _found(client.get("/entities", params={"type": types, "q": "n>5"})) == sorted(ids[6:])
    attrs = ",".join(["n", *(f"other{i}" for i in range(600))])
    entities = client.get("/entities", params={"type": kind, "attrs": attrs, "q": "n<2"}).json()
    assert sorted(entities, key=lambda entity: entity["n"]["value"]) == [
        {"id": ids[value], "type": kind, "scope": f"/S{value}", "n": {"type": "Property", "value": value}}
        for value in (0, 1)]
    answer = client.get("/entities", params={"attrs": attrs, "q": "n<2", "type": kind, "count": "true"})
    assert answer.headers["NGSILD-Results-Count"] == "2"

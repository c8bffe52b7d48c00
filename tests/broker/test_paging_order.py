"""Pagination links (clause 5.5.9: Link headers rel="prev" and rel="next") and orderBy (Entity Ordering, clause
4.23 of the v1.9.1 specification) on Query Entities, POST /entityOperations/query and Query Subscriptions."""

from __future__ import annotations

import random
import re
import uuid
from typing import Any
from urllib.parse import urljoin

import httpx
import pytest

from tests.broker.entity_helpers import assert_problem, create, unique_type
from tests.conftest import CONTEXT_REL, unique_id

_LINK = re.compile(r'<([^>]*)>\s*;\s*rel="([^"]*)"')


def page_links(response: httpx.Response) -> dict[str, str]:
    """The prev and next links of an answer, resolved against the request's URL (RFC 8288, clause 3.2)."""
    found = {}
    for value in response.headers.get_list("link"):
        for url, rel in _LINK.findall(value):
            if rel in ("prev", "next"):
                assert rel not in found, response.headers.get_list("link")
                found[rel] = urljoin(str(response.url), url)
    return found


def walk(client: httpx.Client, response: httpx.Response) -> list[str]:
    """The ids of every page, following the next links from the answer given."""
    ids: list[str] = []
    while True:
        assert response.status_code == 200, response.text
        ids += [entity["id"] for entity in response.json()]
        following = page_links(response).get("next")
        if following is None:
            return ids
        response = client.get(following)


@pytest.fixture
def parkings(client: httpx.Client) -> dict[str, Any]:
    """Car parks of a fresh type: most with availableSpotNumber (distinct values), some without, by creation."""
    kind = unique_type()
    spots = random.Random(kind).sample(range(1000), 12)
    made: list[tuple[str, int | None]] = []
    for number, value in enumerate(spots + [None, None, None]):
        body: dict[str, Any] = {"id": unique_id(kind), "type": kind, "category": "public" if number % 3 else "private"}
        if value is not None:
            body["availableSpotNumber"] = value
        made.append((create(client, body), value))
    return {"type": kind, "made": made}


def _ids_by_spots(parkings: dict[str, Any], descending: bool) -> list[str]:
    with_spots = [(value, entity_id) for entity_id, value in parkings["made"] if value is not None]
    with_spots.sort(reverse=descending)
    return [entity_id for _, entity_id in with_spots] + [entity_id for entity_id, v in parkings["made"] if v is None]


# --- pagination links -----------------------------------------------------------------------------------------

def test_next_links_walk_every_page_and_keep_the_parameters(client: httpx.Client, parkings: dict[str, Any]) -> None:
    everything = [entity_id for entity_id, _ in parkings["made"]]
    first = client.get("/entities", params={"type": parkings["type"], "limit": 4, "count": "true"})
    links = page_links(first)
    assert "prev" not in links
    assert f"type={parkings['type']}" in links["next"] and "count=true" in links["next"]
    assert "limit=4" in links["next"] and "offset=4" in links["next"]
    assert walk(client, first) == everything


def test_middle_page_has_both_links_and_the_last_no_next(client: httpx.Client, parkings: dict[str, Any]) -> None:
    middle = client.get("/entities", params={"type": parkings["type"], "limit": 4, "offset": 5})
    links = page_links(middle)
    assert "offset=1&" in links["prev"] + "&" and "offset=9" in links["next"]
    assert [entity["id"] for entity in client.get(links["prev"]).json()] == [i for i, _ in parkings["made"][1:5]]
    last = client.get("/entities", params={"type": parkings["type"], "limit": 4, "offset": 12})
    assert len(last.json()) == 3
    assert set(page_links(last)) == {"prev"}


def test_a_page_beyond_the_end_links_back_only(client: httpx.Client, parkings: dict[str, Any]) -> None:
    beyond = client.get("/entities", params={"type": parkings["type"], "limit": 4, "offset": 40})
    assert beyond.json() == []
    assert set(page_links(beyond)) == {"prev"}


def test_a_single_page_has_no_links(client: httpx.Client, parkings: dict[str, Any]) -> None:
    whole = client.get("/entities", params={"type": parkings["type"], "limit": 100})
    assert len(whole.json()) == 15
    assert page_links(whole) == {}
    counted = client.get("/entities", params={"type": parkings["type"], "limit": 0, "count": "true"})
    assert counted.headers["NGSILD-Results-Count"] == "15"
    assert page_links(counted) == {}


def test_page_links_sit_beside_the_context_link(client: httpx.Client, parkings: dict[str, Any]) -> None:
    """application/json: the @context Link and the page links are separate Link fields; each is found."""
    page = client.get("/entities", params={"type": parkings["type"], "limit": 4, "offset": 4})
    values = page.headers.get_list("link")
    assert len(values) == 3
    assert sum(CONTEXT_REL in value for value in values) == 1
    assert all('type="application/json"' in value for value in values if CONTEXT_REL not in value)
    assert "ngsi-ld-core-context" in page.headers["link"]
    ld = client.get("/entities", params={"type": parkings["type"], "limit": 4},
                    headers={"Accept": "application/ld+json"})
    assert ld.headers.get_list("link") == [ld.headers["link"]]
    assert 'rel="next"; type="application/ld+json"' in ld.headers["link"]
    assert all("@context" in entity for entity in ld.json())


def test_links_keep_a_q_with_reserved_characters(client: httpx.Client, parkings: dict[str, Any]) -> None:
    q = 'availableSpotNumber>=0;(category=="public"|category=="private")'
    first = client.get("/entities", params={"type": parkings["type"], "q": q, "limit": 5})
    expected = [entity_id for entity_id, value in parkings["made"] if value is not None]
    assert walk(client, first) == expected
    assert "<" not in page_links(first)["next"].split("?", 1)[1]


def test_query_by_post_links_to_the_next_page_of_the_same_query(client: httpx.Client,
                                                                 parkings: dict[str, Any]) -> None:
    body = {"type": "Query", "entities": [{"type": parkings["type"]}]}
    answer = client.post("/entityOperations/query", params={"limit": 10}, json=body)
    assert answer.status_code == 200, answer.text
    following = page_links(answer)["next"]
    assert following.startswith(str(client.base_url) + "entityOperations/query?")
    rest = client.post(following, json=body)
    assert [entity["id"] for entity in answer.json() + rest.json()] == [i for i, _ in parkings["made"]]
    assert set(page_links(rest)) == {"prev"}


def test_query_subscriptions_links(client: httpx.Client) -> None:
    client.headers["NGSILD-Tenant"] = f"p{uuid.uuid4().hex[:12]}"
    body = {"type": "Subscription", "entities": [{"type": "Car"}],
            "notification": {"endpoint": {"uri": "http://127.0.0.1:9/notify"}}}
    made = []
    for _ in range(5):
        answer = client.post("/subscriptions", json=body)
        assert answer.status_code == 201, answer.text
        made.append(answer.headers["location"].rsplit("/", 1)[1])
    first = client.get("/subscriptions", params={"limit": 2})
    assert "prev" not in page_links(first)
    assert walk(client, first) == made
    last = client.get("/subscriptions", params={"limit": 2, "offset": 4})
    assert set(page_links(last)) == {"prev"}


# --- orderBy -----------------------------------------------------------------------------------------------------

def test_the_fullest_car_parks_first(client: httpx.Client, parkings: dict[str, Any]) -> None:
    answer = client.get("/entities", params={"type": parkings["type"], "orderBy": "availableSpotNumber;desc",
                                             "limit": 10})
    assert answer.status_code == 200, answer.text
    assert [entity["id"] for entity in answer.json()] == _ids_by_spots(parkings, True)[:10]


@pytest.mark.parametrize("order_by, descending", [("availableSpotNumber", False), ("availableSpotNumber;asc", False),
                                                  ("availableSpotNumber;desc", True)])
def test_entities_without_the_attribute_come_last(client: httpx.Client, parkings: dict[str, Any], order_by: str,
                                                  descending: bool) -> None:
    first = client.get("/entities", params={"type": parkings["type"], "orderBy": order_by, "limit": 4})
    assert walk(client, first) == _ids_by_spots(parkings, descending)


def test_order_with_q_pages_as_it_counts(client: httpx.Client, parkings: dict[str, Any]) -> None:
    threshold = sorted(value for _, value in parkings["made"] if value is not None)[3]
    params = {"type": parkings["type"], "q": f"availableSpotNumber>={threshold}", "orderBy": "availableSpotNumber",
              "count": "true", "limit": 3}
    first = client.get("/entities", params=params)
    expected = [entity_id for entity_id in _ids_by_spots(parkings, False)[3:12]]
    assert first.headers["NGSILD-Results-Count"] == str(len(expected)) == "9"
    assert walk(client, first) == expected


def test_order_by_two_keys_and_by_id(client: httpx.Client, parkings: dict[str, Any]) -> None:
    answer = client.get("/entities", params={"type": parkings["type"], "limit": 100,
                                             "orderBy": "category;desc,availableSpotNumber;desc"})
    spots = dict(parkings["made"])
    public = [i for i in _ids_by_spots(parkings, True) if parkings["made"].index((i, spots[i])) % 3]
    private = [i for i in _ids_by_spots(parkings, True) if not parkings["made"].index((i, spots[i])) % 3]
    assert [entity["id"] for entity in answer.json()] == public + private
    by_id = client.get("/entities", params={"type": parkings["type"], "limit": 100, "orderBy": "id;desc"})
    assert [entity["id"] for entity in by_id.json()] == sorted(spots, reverse=True)


def test_order_by_on_query_by_post(client: httpx.Client, parkings: dict[str, Any]) -> None:
    body = {"type": "Query", "entities": [{"type": parkings["type"]}], "q": "availableSpotNumber>=0"}
    answer = client.post("/entityOperations/query", params={"orderBy": "availableSpotNumber;desc", "limit": 5},
                         json=body)
    assert answer.status_code == 200, answer.text
    assert [entity["id"] for entity in answer.json()] == _ids_by_spots(parkings, True)[:5]


@pytest.mark.parametrize("order_by, status, error", [
    ("availableSpotNumber;sideways", 400, "BadRequestData"),
    ("availableSpotNumber;", 400, "BadRequestData"),
    (";desc", 400, "BadRequestData"),
    ("availableSpotNumber,,category", 400, "BadRequestData"),
    ("type", 400, "BadRequestData"),
    ("not a name", 400, "BadRequestData"),
    ("location;dist-asc", 422, "OperationNotSupported"),
])
def test_bad_order_by_is_refused(client: httpx.Client, order_by: str, status: int, error: str) -> None:
    answer = client.get("/entities", params={"type": unique_type(), "orderBy": order_by})
    assert_problem(answer, status, error)

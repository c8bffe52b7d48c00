"""Mistakes are answered, not silently accepted, and error details are written for people: values as the JSON
they were sent in, never a Python repr, and what is allowed where it is not obvious."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.broker.entity_helpers import assert_problem, unique_type
from tests.conftest import CONTEXT_REL, free_port, unique_id

PYTHON_REPR = re.compile(r"\{'|'\}|\['|'\]|\w+Error\(|ConnectionKey\(")


def detail(response: httpx.Response, status: int = 400, error: str = "BadRequestData") -> str:
    text = str(assert_problem(response, status, error)["detail"])
    assert PYTHON_REPR.search(text) is None, text
    return text


def thing(**attributes: Any) -> dict[str, Any]:
    return {"id": unique_id(), "type": unique_type(), **attributes}


@pytest.mark.parametrize("header", [
    f'https://example.org/context.jsonld; {CONTEXT_REL}',
    f'<https://example.org/context.jsonld; {CONTEXT_REL}',
    'https://example.org/context.jsonld',
    f'<https://example.org/context.jsonld>; {CONTEXT_REL}, garbage',
])
def test_a_malformed_link_header_is_rejected(client: httpx.Client, header: str) -> None:
    entity = thing(speed={"type": "Property", "value": 1})
    text = detail(client.post("/entities", json=entity, headers={"Link": header}))
    assert "Link header is malformed" in text and "<https://example.org/context.jsonld>" in text
    assert client.get(f"/entities/{entity['id']}").status_code == 404


def test_a_well_formed_link_of_another_relation_is_no_mistake(client: httpx.Client) -> None:
    headers = {"Link": '<https://example.org/terms>; rel="license", <https://example.org/next>; rel="next"'}
    assert client.post("/entities", json=thing(), headers=headers).status_code == 201


@pytest.mark.parametrize(("element", "kind"), [("oops", 'a string, "oops"'), (7, "a number, 7"), (None, "null"),
                                               ([1], "an array, [1]")])
def test_a_batch_with_a_non_object_element_says_which(client: httpx.Client, element: Any, kind: str) -> None:
    text = detail(client.post("/entityOperations/create", json=[thing(), element, thing()]), error="InvalidRequest")
    assert f"element number 2 is {kind}" in text


@pytest.mark.parametrize(("attribute", "expected"), [
    ({"type": "GeoProperty", "value": {"type": "Circle", "coordinates": [4.4, 51.0]}}, '{"type": "Circle"'),
    ({"type": "GeoProperty", "value": {"type": "Point", "coordinates": ["4.4", 51.0]}}, '["4.4", 51.0]'),
])
def test_geometry_errors_show_the_json_sent(client: httpx.Client, attribute: dict[str, Any], expected: str) -> None:
    assert expected in detail(client.post("/entities", json=thing(location=attribute)))


def test_entity_errors_show_the_json_sent(client: httpx.Client) -> None:
    assert '{"a": 1}' in detail(client.post("/entities", json={"id": {"a": 1}, "type": "T"}))
    assert '["T", 5]' in detail(client.post("/entities", json={"id": unique_id(), "type": ["T", 5]}))


def test_subscription_errors_show_the_json_sent(client: httpx.Client) -> None:
    subscription = {"type": "Subscription", "entities": [{"type": "T"}],
                    "notification": {"format": "xml", "endpoint": {"uri": "http://127.0.0.1:1/n"}}}
    assert 'got "xml"' in detail(client.post("/subscriptions", json=subscription))
    subscription["notification"] = {"endpoint": {"uri": "http://127.0.0.1:1/n",
                                                 "receiverInfo": [{"key": "X", "value": 1}]}}
    assert '{"key": "X", "value": 1}' in detail(client.post("/subscriptions", json=subscription))


def test_an_unreachable_context_says_why_in_words(client: httpx.Client) -> None:
    url = f"http://127.0.0.1:{free_port()}/context.jsonld"
    response = client.post("/entities", json=thing(), headers={"Link": f"<{url}>; {CONTEXT_REL}"})
    text = detail(response, 504, "LdContextNotAvailable")
    assert f"The @context {url} could not be fetched: Cannot connect to host 127.0.0.1" in text


@pytest.mark.parametrize("moment", ["2026-11-27T08:00:00", "2026-11-27T08:00:00+01:00", "27/11/2026"])
def test_datetime_errors_say_what_is_allowed(client: httpx.Client, moment: str) -> None:
    observed = thing(speed={"type": "Property", "value": 1, "observedAt": moment})
    typed = thing(since={"type": "Property", "value": {"@type": "DateTime", "@value": moment}})
    subscription = {"type": "Subscription", "entities": [{"type": "T"}], "expiresAt": moment,
                    "notification": {"endpoint": {"uri": "http://127.0.0.1:1/n"}}}
    for response in (client.post("/entities", json=observed), client.post("/entities", json=typed),
                     client.post("/subscriptions", json=subscription)):
        text = detail(response)
        assert f'"{moment}"' in text and "in UTC and ends with Z, such as 2026-11-27T08:00:00Z" in text

"""No error body tells of the broker's insides (stack traces, Python reprs, exception class names, file or module
paths): first with requests that used to produce such text, then with malformed requests that hypothesis makes.
(An internal error's body: tests/broker/test_logs.py.)"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import API, CONTEXT_REL, BrokerProcess, free_port, unique_id

INSIDES = ("Traceback", ".py", "Error(", "<class", "File \"", "site-packages", "broker.", "ngsi_ld.",
           "subscriptions.", "aiohttp", "orjson.", "Connect call failed", "object at 0x", "Errno")
"""Text that tells of the insides: none of it may be in an error body (unless the request itself wrote it)."""


def assert_no_insides(answer: httpx.Response, sent: str = "") -> None:
    for text in INSIDES:
        if text not in sent:
            assert text not in answer.text, (answer.status_code, answer.text)
    assert answer.status_code < 500 or answer.status_code in (503, 504), answer.text


def test_an_unreachable_context_is_told_without_reprs(client: httpx.Client) -> None:
    url = f"http://127.0.0.1:{free_port()}/context.jsonld"
    answer = client.post("/entities", json={"id": unique_id(), "type": "T"},
                         headers={"Link": f"<{url}>; {CONTEXT_REL}"})
    assert answer.status_code == 504
    assert "Connection refused" in answer.json()["detail"]
    assert_no_insides(answer, url)


DEEP_VALUE = b'{"id": "urn:x:1", "type": "T", "a": ' + b"[" * 5000 + b"]" * 5000 + b"}"


@pytest.mark.parametrize("body", [b"[" * 100_000, DEEP_VALUE, b"\xff\xfe", b'{"id": 1e999999}', b"\x00",
                                  b'"just a string"', b"null"])
def test_odd_bodies_are_told_without_insides(client: httpx.Client, body: bytes) -> None:
    for path in ("/entities", "/subscriptions", "/entityOperations/create", "/jsonldContexts"):
        answer = client.post(path, content=body, headers={"Content-Type": "application/json"})
        assert 400 <= answer.status_code < 500
        assert_no_insides(answer)


PATHS = ["/entities", "/entities/{id}", "/entities/{id}/attrs", "/entities/{id}/attrs/{name}", "/subscriptions",
         "/subscriptions/{id}", "/entityOperations/create", "/entityOperations/upsert", "/entityOperations/query",
         "/types", "/types/{name}", "/attributes", "/attributes/{name}", "/jsonldContexts", "/jsonldContexts/{id}"]
MEDIA_TYPES = ["application/json", "application/ld+json", "application/merge-patch+json", "text/plain", "", "*/*",
               "application/geo+json"]
names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=0, max_size=20)
json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | names,
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(names, inner, max_size=4),
                           max_leaves=12)
entity_like = st.fixed_dictionaries({}, optional={"id": json_values, "type": json_values, "@context": json_values,
                                                  "entities": json_values, "notification": json_values,
                                                  "q": json_values, "speed": json_values})


@st.composite
def malformed_requests(draw: st.DrawFn) -> tuple[str, str, dict[str, str], bytes]:
    method = draw(st.sampled_from(["GET", "POST", "PATCH", "PUT", "DELETE"]))
    path = draw(st.sampled_from(PATHS)).format(id=draw(names) or "x", name=draw(names) or "n")
    headers = {"Content-Type": draw(st.sampled_from(MEDIA_TYPES)), "Accept": draw(st.sampled_from(MEDIA_TYPES))}
    if draw(st.booleans()):
        headers["Link"] = draw(st.sampled_from([f"<{draw(names)}>; {CONTEXT_REL}", draw(names), "<>; rel=x"]))
    if draw(st.booleans()):
        headers["NGSILD-Tenant"] = draw(names)
    params = draw(st.dictionaries(st.sampled_from(["type", "q", "attrs", "limit", "offset", "options", "geometry",
                                                   "georel", "coordinates", "idPattern", "scopeQ", "pick", "format"]),
                                  names, max_size=3))
    query = "&".join(f"{key}={value}" for key, value in params.items())
    body = draw(st.one_of(entity_like.map(lambda value: json.dumps(value).encode()),
                          json_values.map(lambda value: json.dumps(value).encode()), st.binary(max_size=40)))
    return method, f"{API}{path}" + (f"?{query}" if query else ""), headers, body


@pytest.fixture(scope="module")
def raw_client(broker: BrokerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=broker.url, timeout=10) as client:
        yield client


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(request=malformed_requests())
def test_malformed_requests_are_told_without_insides(raw_client: httpx.Client,
                                                     request: tuple[str, str, dict[str, str], bytes]) -> None:
    method, target, headers, body = request
    safe_headers = {key.encode(): value.encode("utf-8") for key, value in headers.items()}
    try:
        answer = raw_client.request(method, target, headers=safe_headers, content=body)
    except (httpx.InvalidURL, httpx.LocalProtocolError):  # the client would not send it
        return
    sent = target + json.dumps(headers) + body.decode("utf-8", "replace")
    assert_no_insides(answer, sent)
    if answer.text == "Invalid HTTP request received.":  # refused by the HTTP server before the application
        return
    assert answer.headers.get("x-content-type-options") == "nosniff" and answer.headers.get("x-request-id")
    if answer.status_code >= 400 and answer.content:
        assert answer.json()["type"].startswith("https://uri.etsi.org/ngsi-ld/errors/")


def test_the_body_checks_catch_insides() -> None:
    """The check itself fails on a body that shows a traceback."""
    leaking = httpx.Response(500, text='Traceback (most recent call last):\n  File "/app/broker/http.py"')
    with pytest.raises(AssertionError):
        assert_no_insides(leaking)

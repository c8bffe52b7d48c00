"""Requests that would cost a worker without bound are answered in time, on every store: user regular
expressions run by RE2 (a catastrophic pattern answers at once; lookaround is refused), a query beyond
query_timeout is TooComplexQuery, a remote @context too large or too slow is LdContextNotAvailable, and a
tenant holds at most max_subscriptions subscriptions."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from uuid import uuid4

import httpx
import pytest

from tests.broker.entity_helpers import assert_problem, unique_type
from tests.conftest import API, BrokerProcess, free_port, link
from tests.mongodb import SecantusServer, given_url

QUERY = "/entityOperations/query"
LONG = 1500
"""Letters in the catastrophic ids and values: Python's re would take longer than the universe's age."""
CONTEXT_BYTES = 2000
CONTEXT_TIMEOUT = 1.0


class SlowContexts:
    """Serves @contexts over HTTP on loopback: /large/<n> (n bytes, with a Content-Length), /streamed/<n>
    (n bytes without one), /hang (never answers until the server closes)."""

    def __init__(self) -> None:
        released = self.released = threading.Event()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                if self.path == "/hang":
                    released.wait(30)
                    return
                kind, size = self.path.strip("/").split("/")
                body = _context_of_size(int(size))
                self.send_response(200)
                self.send_header("Content-Type", "application/ld+json")
                if kind == "large":
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                for start in range(0, len(body), 500):
                    self.wfile.write(body[start: start + 500])

            def log_message(self, *args: Any) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.http.daemon_threads = True
        self.thread = threading.Thread(target=self.http.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.http.server_address[1]}{path}"

    def close(self) -> None:
        self.released.set()
        self.http.shutdown()
        self.http.server_close()


def _context_of_size(size: int) -> bytes:
    """A JSON-LD @context document of exactly `size` bytes (at least 60)."""
    head = b'{"@context": {"name": "https://example.org/name", "pad": "https://example.org/'
    return head + b"x" * (size - len(head) - 3) + b'"}}'


@pytest.fixture(scope="module")
def slow_contexts() -> Iterator[SlowContexts]:
    server = SlowContexts()
    yield server
    server.close()


@pytest.fixture(scope="module")
def limited(store_kind: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    """A broker of tight limits: 3 subscriptions a tenant, @contexts of 2,000 bytes fetched within 1 s, and
    queries of 0.3 s. On MongoDB, a SecantusDB server of its own: that server checks maxTimeMS seldom and goes on
    with a query the broker gave up on for seconds, which would slow the other tests' brokers sharing it."""
    env = {"SCIFI_MAX_SUBSCRIPTIONS": "3", "SCIFI_MAX_CONTEXT_BYTES": str(CONTEXT_BYTES),
           "SCIFI_CONTEXT_TIMEOUT": str(CONTEXT_TIMEOUT), "SCIFI_QUERY_TIMEOUT": "0.3"}
    with contextlib.ExitStack() as started:
        if store_kind == "mongodb":
            env["SCIFI_STORE"] = given_url() or started.enter_context(
                SecantusServer(tmp_path_factory.mktemp("secantus"), free_port())).url
        broker = BrokerProcess(tmp_path_factory.mktemp("limited-broker"), env=env).start()
        started.callback(broker.stop)
        with httpx.Client(base_url=broker.url + API, timeout=30) as http:
            yield http


def _tenant() -> dict[str, str]:
    return {"NGSILD-Tenant": f"t{uuid4().hex[:12]}"}


def _timed(send: Any, *args: Any, **kwargs: Any) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    answer = send(*args, **kwargs)
    return answer, time.monotonic() - started


def _ids(answer: httpx.Response) -> list[str]:
    assert answer.status_code == 200, answer.text[:500]
    return sorted(entity["id"] for entity in answer.json())


# --- regular expressions ----------------------------------------------------------------------------------

@pytest.fixture
def letters(client: httpx.Client) -> tuple[str, str, str]:
    """Two entities of a fresh type whose ids and `name` are long runs of 'a': the second's end with 'b'."""
    kind = unique_type()
    plain, ending_b = f"urn:ngsi-ld:{kind}:{'a' * LONG}", f"urn:ngsi-ld:{kind}:{'a' * LONG}b"
    entities = [{"id": plain, "type": kind, "name": "a" * LONG},
                {"id": ending_b, "type": kind, "name": "a" * LONG + "b"}]
    created = client.post("/entityOperations/create", json=entities)
    assert created.status_code == 201, created.text
    return kind, plain, ending_b


@pytest.mark.parametrize("pattern", [":(a+)+b$", ":(a|aa)+b$"])
def test_a_catastrophic_id_pattern_is_answered_at_once(client: httpx.Client, letters: tuple[str, str, str],
                                                      pattern: str) -> None:
    kind, _, ending_b = letters
    answer, took = _timed(client.get, "/entities", params={"type": kind, "idPattern": pattern}, timeout=30)
    assert _ids(answer) == [ending_b]
    assert took < 10
    body = {"type": "Query", "entities": [{"type": kind, "idPattern": pattern}]}
    answer, took = _timed(client.post, QUERY, json=body, timeout=30)
    assert _ids(answer) == [ending_b]
    assert took < 10


@pytest.mark.parametrize("pattern", ["^(a+)+b$", "^(a|aa)+b$"])
def test_a_catastrophic_value_pattern_is_answered_at_once(client: httpx.Client, letters: tuple[str, str, str],
                                                         pattern: str) -> None:
    kind, plain, ending_b = letters
    answer, took = _timed(client.get, "/entities", params={"type": kind, "q": f"name~={pattern}"}, timeout=30)
    assert _ids(answer) == [ending_b]
    assert took < 10
    answer = client.get("/entities", params={"type": kind, "q": f"name!~={pattern}", "count": "true"}, timeout=30)
    assert _ids(answer) == [plain]
    assert answer.headers["NGSILD-Results-Count"] == "1"


@pytest.mark.parametrize("params", [
    {"idPattern": "(?=urn)"}, {"idPattern": "(?<!x)urn"}, {"idPattern": r"(u)\1"},
    {"q": "name~=(?!a)b"}, {"q": r"name~=(a)\1"},
])
def test_lookaround_and_backreferences_are_refused(client: httpx.Client, params: dict[str, str]) -> None:
    problem = assert_problem(client.get("/entities", params={"type": "Thing", **params}), 400, "BadRequestData")
    assert "no backreferences or lookaround" in problem["detail"], problem["detail"]


def test_a_pattern_beyond_max_regex_length_is_refused(client: httpx.Client) -> None:
    problem = assert_problem(client.get("/entities", params={"idPattern": "a" * 1001}), 400, "BadRequestData")
    assert "max_regex_length is 1000" in problem["detail"]
    body = {"type": "Query", "entities": [{"type": "Thing", "idPattern": "x" * 1001}]}
    problem = assert_problem(client.post(QUERY, json=body), 400, "BadRequestData")
    assert "max_regex_length is 1000" in problem["detail"]


def test_a_subscription_takes_only_patterns_the_broker_runs(client: httpx.Client) -> None:
    subscription = {"type": "Subscription", "entities": [{"type": "Thing", "idPattern": "(?=a)"}],
                    "notification": {"endpoint": {"uri": "http://127.0.0.1:9/notify"}}}
    assert_problem(client.post("/subscriptions", json=subscription), 400, "BadRequestData")
    subscription["entities"] = [{"type": "Thing", "idPattern": "(a+)+b$"}]
    subscription["q"] = "name~=(a|aa)+b"
    created = client.post("/subscriptions", json=subscription)
    assert created.status_code == 201, created.text
    location = created.headers["Location"].removeprefix(API)
    try:
        patched = client.patch(location, json={"entities": [{"type": "Thing", "idPattern": r"(a)\1"}]})
        assert_problem(patched, 400, "BadRequestData")
        assert_problem(client.patch(location, json={"q": "name~=(?<=a)b"}), 400, "BadRequestData")
    finally:
        client.delete(location)


# --- subscriptions per tenant -----------------------------------------------------------------------------

def _subscribe(client: httpx.Client, tenant: dict[str, str]) -> httpx.Response:
    subscription = {"type": "Subscription", "entities": [{"type": "Thing"}],
                    "notification": {"endpoint": {"uri": "http://127.0.0.1:9/notify"}}}
    return client.post("/subscriptions", json=subscription, headers=tenant)


def test_a_tenant_holds_at_most_max_subscriptions(limited: httpx.Client) -> None:
    tenant, other = _tenant(), _tenant()
    locations = []
    for _ in range(3):
        created = _subscribe(limited, tenant)
        assert created.status_code == 201, created.text
        locations.append(created.headers["Location"].removeprefix(API))
    problem = assert_problem(_subscribe(limited, tenant), 422, "OperationNotSupported")
    assert "max_subscriptions is 3" in problem["detail"]
    assert limited.get("/subscriptions", headers=tenant).json().__len__() == 3
    assert _subscribe(limited, other).status_code == 201
    assert limited.delete(locations[0], headers=tenant).status_code == 204
    assert _subscribe(limited, tenant).status_code == 201


# --- remote @contexts -------------------------------------------------------------------------------------

def _create_with_context(client: httpx.Client, url: str) -> httpx.Response:
    entity = {"id": f"urn:ngsi-ld:Thing:{uuid4().hex}", "type": "Thing", "name": {"type": "Property", "value": 1}}
    return client.post("/entities", json=entity, headers={**link(url), **_tenant()})


def test_a_context_within_max_context_bytes_is_used(limited: httpx.Client, slow_contexts: SlowContexts) -> None:
    for kind in ("large", "streamed"):
        created = _create_with_context(limited, slow_contexts.url(f"/{kind}/{CONTEXT_BYTES}"))
        assert created.status_code == 201, created.text


@pytest.mark.parametrize("kind", ["large", "streamed"])
def test_a_context_beyond_max_context_bytes_is_not_available(limited: httpx.Client, slow_contexts: SlowContexts,
                                                             kind: str) -> None:
    answer = _create_with_context(limited, slow_contexts.url(f"/{kind}/{CONTEXT_BYTES + 1}"))
    problem = assert_problem(answer, 504, "LdContextNotAvailable")
    assert "max_context_bytes" in problem["detail"]


def test_a_context_that_does_not_come_is_not_available_after_context_timeout(
        limited: httpx.Client, slow_contexts: SlowContexts) -> None:
    answer, took = _timed(_create_with_context, limited, slow_contexts.url("/hang"))
    problem = assert_problem(answer, 504, "LdContextNotAvailable")
    assert "context_timeout" in problem["detail"]
    assert CONTEXT_TIMEOUT <= took < CONTEXT_TIMEOUT + 3


# --- query time -------------------------------------------------------------------------------------------

def test_a_query_beyond_query_timeout_is_too_complex(limited: httpx.Client) -> None:
    tenant, kind = _tenant(), unique_type()
    entities = [{"id": f"urn:ngsi-ld:{kind}:{i}", "type": kind, "n": i} for i in range(1000)]
    created = limited.post("/entityOperations/create", json=entities, headers=tenant)
    assert created.status_code == 201, created.text
    costly = ";".join(f"n>-{term}" for term in range(1, 2001))  # every entity meets each of the 2,000 terms
    answer, took = _timed(limited.get, "/entities", params={"type": kind, "q": costly, "count": "true"},
                          headers=tenant)
    problem = assert_problem(answer, 403, "TooComplexQuery")
    assert "query_timeout is 0.3" in problem["detail"]
    assert took < 10
    cheap = limited.get("/entities", params={"type": kind, "q": "n<3"}, headers=tenant)
    assert _ids(cheap) == [f"urn:ngsi-ld:{kind}:{i}" for i in range(3)]


def test_page_size_beyond_max_page_size(client: httpx.Client) -> None:
    problem = assert_problem(client.get("/entities", params={"type": "Thing", "limit": 1001}), 403, "TooManyResults")
    assert "max_page_size is 1000" in problem["detail"]
    for odd in ("²", "9" * 30):
        assert_problem(client.get("/entities", params={"type": "Thing", "offset": odd}), 400, "BadRequestData")

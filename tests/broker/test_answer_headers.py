"""What every answer carries, errors and 404s too: its request id (the client's when well formed), and the security
headers; and the request id on every line that the broker logs while serving the request."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import API, CONTEXT_REL, BrokerProcess, free_port, unique_id

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}


def assert_secured(answer: httpx.Response) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert answer.headers.get(name) == value, (answer.status_code, name, answer.headers)
    assert "strict-transport-security" not in answer.headers
    assert "server" not in answer.headers


@pytest.fixture(scope="module")
def logged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[httpx.Client, Path]]:
    directory = tmp_path_factory.mktemp("headers-broker")
    log_file = directory / "stderr.log"
    broker = BrokerProcess(directory / "data", log_level="info", stderr=log_file).start()
    try:
        with httpx.Client(base_url=broker.url, timeout=10) as client:
            yield client, log_file
    finally:
        broker.stop()


def lines_of(log_file: Path, request_id: str, count: int) -> list[str]:
    deadline = time.monotonic() + 10
    while True:
        lines = [line for line in log_file.read_text().splitlines() if f"request_id={request_id}" in line]
        if len(lines) >= count or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


def test_every_kind_of_answer_is_secured(logged: tuple[httpx.Client, Path]) -> None:
    client, _ = logged
    entity = {"id": unique_id(), "type": "Thing"}
    assert client.post(f"{API}/entities", json=entity).status_code == 201
    answers = [
        client.get("/health"),
        client.get(f"{API}/entities/{entity['id']}"),
        client.get(f"{API}/entities/urn:ngsi-ld:Thing:none"),
        client.get("/no/such/path"),
        client.put("/health"),
        client.post(f"{API}/entities", content=b"{not json", headers={"Content-Type": "application/json"}),
        client.post(f"{API}/entities", content=b"x", headers={"Content-Type": "text/plain"}),
        client.get(f"{API}/entities", params={"type": "T", "q": "speed>"}),
        client.delete(f"{API}/entities/{entity['id']}"),
    ]
    assert sorted({answer.status_code for answer in answers}) == [200, 204, 400, 404, 405, 415]
    for answer in answers:
        assert_secured(answer)
        assert re.fullmatch(r"[0-9a-f]{32}", answer.headers["x-request-id"])


def test_a_well_formed_request_id_is_kept(logged: tuple[httpx.Client, Path]) -> None:
    client, _ = logged
    for request_id in ("4bf92f3577b34da6a3ce929d0e0e4736", "client-7:req/42+x=", "a" * 128):
        answer = client.get("/no/such/path", headers={"X-Request-Id": request_id})
        assert answer.status_code == 404 and answer.headers["x-request-id"] == request_id


@pytest.mark.parametrize("request_id", [b"", b"has space", b"a" * 129, b'quote"d', b"semi;colon", "é".encode()])
def test_a_malformed_request_id_is_replaced(logged: tuple[httpx.Client, Path], request_id: bytes) -> None:
    client, _ = logged
    answer = client.get("/health", headers={b"X-Request-Id": request_id})
    assert re.fullmatch(r"[0-9a-f]{32}", answer.headers["x-request-id"])


def test_the_lines_of_a_request_carry_its_id(logged: tuple[httpx.Client, Path]) -> None:
    """A request whose remote @context cannot be fetched logs a warning besides its request line: both name it."""
    client, log_file = logged
    url = f"http://127.0.0.1:{free_port()}/context.jsonld"
    answer = client.post(f"{API}/entities", json={"id": unique_id(), "type": "Thing"},
                         headers={"Link": f"<{url}>; {CONTEXT_REL}", "X-Request-Id": "ctx-unreachable-1"})
    assert answer.status_code == 504 and answer.headers["x-request-id"] == "ctx-unreachable-1"
    warning, request = lines_of(log_file, "ctx-unreachable-1", 2)
    assert "context fetch failed" in warning and "status=504" in request
    generated = client.get("/no/such/path").headers["x-request-id"]
    assert len(lines_of(log_file, generated, 1)) == 1

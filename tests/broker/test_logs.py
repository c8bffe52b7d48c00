"""The broker's log, as written by a broker process: one line per event, values of requests escaped, and an
internal error logged once, with a trimmed traceback."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.broker.entity_helpers import assert_problem
from tests.conftest import API, BrokerProcess


@pytest.fixture(scope="module")
def logged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[httpx.Client, Path]]:
    """A client of a broker logging at level info into a file; its q parser may nest parentheses so deep that
    Python's stack overflows (a limit raised too far), which is an internal error."""
    directory = tmp_path_factory.mktemp("logged-broker")
    log_file = directory / "stderr.log"
    broker = BrokerProcess(directory / "data", log_level="info", stderr=log_file,
                           env={"SCIFI_MAX_QUERY_DEPTH": "100000"}).start()
    try:
        with httpx.Client(base_url=broker.url + API, timeout=10) as client:
            yield client, log_file
    finally:
        broker.stop()


def _lines_of(log_file: Path, request_id: str, count: int) -> list[str]:
    """The lines of the log that name the request id, once there are `count` of them (the request line follows
    the answer)."""
    deadline = time.monotonic() + 10
    while True:
        lines = [line for line in log_file.read_bytes().decode().split("\n") if request_id in line]
        if len(lines) >= count or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


def test_request_values_cannot_forge_a_line(logged: tuple[httpx.Client, Path]) -> None:
    client, log_file = logged
    path = "/entities/urn:x:1%0Atime=forged level=ERROR%00%1b[31m%E2%80%A8"
    answer = client.get(path, headers={"X-Request-Id": "forge-1", "NGSILD-Tenant": 'a" b\\'})
    assert answer.status_code in (400, 404)
    [line] = _lines_of(log_file, "forge-1", 1)
    assert 'path="/ngsi-ld/v1/entities/urn:x:1\\ntime=forged level=ERROR\\x00\\x1b[31m\\u2028"' in line
    assert 'tenant="a\\" b\\\\"' in line
    assert "error=" in line
    content = log_file.read_bytes()
    assert b"\x00" not in content and b"\x1b" not in content and "\u2028".encode() not in content
    assert not any(line.startswith(b"time=forged") for line in content.split(b"\n"))


def test_a_failure_is_one_line(logged: tuple[httpx.Client, Path]) -> None:
    client, log_file = logged
    answer = client.get("/entities", params={"type": "T", "q": "speed>"}, headers={"X-Request-Id": "bad-1"})
    assert_problem(answer, 400, "BadRequestData")
    [line] = _lines_of(log_file, "bad-1", 1)
    assert "status=400 error=BadRequestData" in line


def test_an_internal_error_is_logged_once_and_trimmed(logged: tuple[httpx.Client, Path]) -> None:
    client, log_file = logged
    q = "(" * 3000 + "speed>1" + ")" * 3000
    answer = client.get("/entities", params={"type": "T", "q": q}, headers={"X-Request-Id": "deep-1"})
    problem = assert_problem(answer, 500, "InternalError")
    assert "deep-1" in problem["detail"]
    assert not any(inside in answer.text for inside in ("Recursion", "Error(", ".py", "Traceback", "<class"))
    lines = _lines_of(log_file, "deep-1", 2)
    assert len(lines) == 2
    error, request = lines
    assert "level=ERROR" in error and "error=RecursionError" in error and "outer frames left out" in error
    assert len(error) < 4000
    assert "status=500 error=InternalError" in request
    content = log_file.read_text()
    assert "Traceback" not in content and "Exception in ASGI application" not in content
    assert len(content.splitlines()) < 40

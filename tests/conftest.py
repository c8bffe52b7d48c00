"""Fixtures: a real broker process on a free port, on each store in turn, HTTP clients, and a local @context
server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.mongodb import SecantusServer, drop_test_databases, given_url
from tests.processes import free_port, stop_process

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
"""Test data the tests read: the NGSI-LD core contexts and a subset of the Smart Data Models (see its README)."""
API = "/ngsi-ld/v1"
CONTEXT_REL = 'rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'


class BrokerDidNotStart(RuntimeError):
    """The broker process exited, or did not answer, before it was ready."""


@dataclass
class BrokerProcess:
    """A `scifi serve` process; start() waits until it answers /health."""

    data_dir: Path
    port: int = field(default_factory=free_port)
    workers: int = 1
    env: dict[str, str] = field(default_factory=dict)
    log_level: str = "warning"
    stderr: Path | None = None
    """A file that gets what the process writes to stderr (its log), instead of the tests' stderr."""
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> BrokerProcess:
        """Starts the process; BrokerDidNotStart if it exits or does not answer within 30 s."""
        command = [sys.executable, "-m", "broker.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port),
                   "--data-dir", str(self.data_dir), "--workers", str(self.workers), "--log-level", self.log_level]
        environment = {**os.environ, **self.env}
        if self.stderr is None:
            self.process = subprocess.Popen(command, env=environment, cwd=ROOT)
        else:
            with self.stderr.open("ab") as log:
                self.process = subprocess.Popen(command, env=environment, cwd=ROOT, stderr=log)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BrokerDidNotStart(f"broker exited with {self.process.returncode}")
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()  # a process left running (and its workers) would outlive the test
        raise BrokerDidNotStart("broker did not start within 30 s")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        stop_process(self.process, sig)
        self.process = None


@dataclass(frozen=True)
class Certificates:
    """A test certificate authority, and a server certificate it signed for 127.0.0.1 (PEM files)."""

    ca_file: Path
    cert_file: Path
    key_file: Path


@pytest.fixture(scope="session")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    import trustme

    directory = tmp_path_factory.mktemp("certificates")
    authority = trustme.CA()
    server = authority.issue_cert("127.0.0.1")
    files = Certificates(directory / "ca.pem", directory / "server.pem", directory / "server.key")
    authority.cert_pem.write_to_path(str(files.ca_file))
    server.cert_chain_pems[0].write_to_path(str(files.cert_file))
    server.private_key_pem.write_to_path(str(files.key_file))
    return files


FAST_RETRIES = {"SCIFI_NOTIFICATION_RETRY": "0.2", "SCIFI_NOTIFICATION_RETRY_MAX": "0.5"}
"""Retries of failed notifications within a second, for tests that make a receiver fail."""


STORES = ("sqlite", "mongodb")
"""The stores the broker runs on in the tests: each test that uses a broker runs once on each (`store_kind`)."""


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--store", action="append", choices=STORES, dest="stores",
                     help="run the tests that use a broker on this store only (repeatable; default: every store)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "stores(*names): the only stores the test runs on (default: every store)")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Runs each test that uses `store_kind` (through `broker`, `client`, `store_url`...) once per store."""
    if "store_kind" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker("stores")
        chosen = metafunc.config.getoption("stores") or STORES
        stores = [name for name in (marker.args if marker else STORES) if name in chosen]
        metafunc.parametrize("store_kind", stores, indirect=True, scope="session")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leaves out the tests that --store left without a store."""
    left_out = [item for item in items if "store_kind" in getattr(item, "fixturenames", ()) and
                _store_kind(item) not in STORES]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if item not in left_out]


def _store_kind(item: pytest.Item) -> Any:
    callspec = getattr(item, "callspec", None)
    return None if callspec is None else callspec.params.get("store_kind")


@pytest.fixture(scope="session")
def store_kind(request: pytest.FixtureRequest) -> str:
    """The store of the broker: `sqlite` or `mongodb` (see pytest_generate_tests)."""
    name: str = request.param
    return name


@pytest.fixture(scope="session")
def mongodb_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of the MongoDB server the session's brokers share: MONGODB_URL's (its `scifi*` databases are
    dropped before and after), or a SecantusDB server started for the session on a free loopback port."""
    url = given_url()
    if url is not None:
        drop_test_databases(url)
        yield url
        drop_test_databases(url)
        return
    with SecantusServer(tmp_path_factory.mktemp("secantus"), free_port()) as server:
        yield server.url


@pytest.fixture
def secantus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecantusServer]:
    """A SecantusDB server of the test's own, which the test may stop and start again."""
    server = SecantusServer(tmp_path_factory.mktemp("secantus"), free_port()).start()
    yield server
    server.stop()


@pytest.fixture
def store_url(store_kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """The store of a broker that a test starts itself (give it as SCIFI_STORE), empty at the start: the test's
    folder for SQLite, a SecantusDB server of the test's own for MongoDB."""
    if store_kind == "sqlite":
        return f"sqlite://{tmp_path}"
    server: SecantusServer = request.getfixturevalue("secantus")
    return server.url


@pytest.fixture(scope="session")
def broker(store_kind: str, tmp_path_factory: pytest.TempPathFactory, certificates: Certificates,
           request: pytest.FixtureRequest) -> Iterator[BrokerProcess]:
    """One broker per store for the API tests (tests keep apart by unique entity ids, types and tenants); it
    trusts the test certificate authority for HTTPS and MQTTS endpoints."""
    env = {"SCIFI_MAX_BODY_BYTES": "100000", "SCIFI_NOTIFICATION_CA_FILE": str(certificates.ca_file), **FAST_RETRIES}
    if store_kind == "mongodb":
        env["SCIFI_STORE"] = request.getfixturevalue("mongodb_url")
    process = BrokerProcess(tmp_path_factory.mktemp("broker-data"), env=env).start()
    yield process
    process.stop()


@pytest.fixture
def client(broker: BrokerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=broker.url + API, timeout=10) as http:
        yield http


class ContextServer:
    """Serves @context documents over HTTP on loopback; counts the requests per path."""

    def __init__(self) -> None:
        self.documents: dict[str, Any] = {}
        self.hits: dict[str, int] = {}
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                server.hits[self.path] = server.hits.get(self.path, 0) + 1
                document = server.documents.get(self.path)
                if document is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                body = document if isinstance(document, bytes) else json.dumps(document).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/ld+json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.http.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.http.server_address[1]}{path}"

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()


@pytest.fixture(scope="session")
def context_server() -> Iterator[ContextServer]:
    server = ContextServer()
    yield server
    server.close()


def link(url: str) -> dict[str, str]:
    """The Link header that gives a request its @context."""
    return {"Link": f"<{url}>; {CONTEXT_REL}"}


_counter = iter(range(1, 10**9))


def unique_id(kind: str = "Thing") -> str:
    """An entity id no other test uses."""
    return f"urn:ngsi-ld:{kind}:{os.getpid()}-{time.monotonic_ns()}-{next(_counter)}"

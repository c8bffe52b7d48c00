"""Fixtures for notification tests: a receiver process and a Mosquitto broker (the broker is the session's)."""

from __future__ import annotations

import getpass
import json
import ssl
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from broker.app import create_app
from broker.settings import Settings
from tests.conftest import API, ROOT, Certificates, free_port
from tests.services import mosquitto_executable

WAIT_SECONDS = 30.0
"""How long a test waits for what must come: under CI's load a notification takes seconds now and then."""


def wait_until(check: Callable[[], Any], timeout: float = WAIT_SECONDS, interval: float = 0.05) -> Any:
    """Polls `check` until it returns something true, and returns it; fails the test after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"nothing came within {timeout} s (last: {result!r})")
        time.sleep(interval)


@contextmanager
def served_in_process(settings: Settings) -> Iterator[httpx.Client]:
    """The broker's app served by uvicorn in a thread of the test process, so that the test can change its parts;
    a client of its API."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, timeout=30)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}{API}", timeout=10) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(30)


class ReceiverProcess:
    """tests/receiver.py in a process of its own: records what it is sent; can be told to fail."""

    def __init__(self, certificates: Certificates | None = None) -> None:
        self.port = free_port()
        self.certificates = certificates
        self._verify = ssl.create_default_context(cafile=certificates.ca_file) if certificates else True
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> ReceiverProcess:
        command = [sys.executable, "-m", "tests.receiver", "--port", str(self.port)]
        if self.certificates is not None:
            command += ["--certfile", str(self.certificates.cert_file), "--keyfile", str(self.certificates.key_file)]
        self.process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE)
        assert self.process.stdout is not None and self.process.stdout.readline().strip() == b"ready"
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            if self.process.stdout is not None:
                self.process.stdout.close()
            self.process = None

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        scheme = "https" if self.certificates else "http"
        return f"{scheme}://{host}:{self.port}{path}"

    def received(self, path: str, *, failed: bool = False) -> list[dict[str, Any]]:
        """What arrived at `path` and was taken (answered 2xx), oldest first; with `failed`, every attempt."""
        everything = httpx.get(self.url("/received"), timeout=5, verify=self._verify).json()
        return [item for item in everything
                if item["path"] == path and (failed or 200 <= item["status"] < 300)]

    def wait_for(self, path: str, count: int, timeout: float = WAIT_SECONDS) -> list[dict[str, Any]]:
        """Waits until `count` notifications were taken at `path`, and returns them."""
        return wait_until(lambda: (lambda got: got if len(got) >= count else None)(self.received(path)), timeout)

    def wait_for_entities(self, path: str, count: int, timeout: float = WAIT_SECONDS) -> list[dict[str, Any]]:
        """Waits until notifications taken at `path` carry `count` entities in all, and returns them (a
        receiver that was behind gets several changes in one notification)."""
        def enough() -> list[dict[str, Any]] | None:
            received = self.received(path)
            return received if sum(len(item["body"]["data"]) for item in received) >= count else None
        return wait_until(enough, timeout)  # type: ignore[no-any-return]

    def answer(self, path: str, status: int = 204, delay: float = 0.0) -> None:
        """How the receiver answers at `path` from now on."""
        mode = {"path": path, "status": status, "delay": delay}
        httpx.put(self.url("/mode"), json=mode, timeout=5, verify=self._verify).raise_for_status()


@pytest.fixture(scope="session")
def receiver() -> Iterator[ReceiverProcess]:
    process = ReceiverProcess().start()
    yield process
    process.stop()


@pytest.fixture(scope="session")
def https_receiver(certificates: Certificates) -> Iterator[ReceiverProcess]:
    """A receiver over HTTPS, with a certificate of the test authority for 127.0.0.1."""
    process = ReceiverProcess(certificates).start()
    yield process
    process.stop()


def unique_path() -> str:
    return f"/n-{uuid.uuid4().hex}"


def subscribe(client: httpx.Client, uri: str, **members: Any) -> str:
    body = {"type": "Subscription", "entities": [{"type": "Car"}], "notification": {"endpoint": {"uri": uri}}}
    notification = members.pop("notification", {})
    body.update(members)
    body["notification"] = {**body["notification"], **notification}  # type: ignore[dict-item]
    answer = client.post("/subscriptions", json=body)
    assert answer.status_code == 201, answer.text
    return answer.headers["location"].removeprefix("/ngsi-ld/v1/subscriptions/")


def bodies(received: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [item["body"] for item in received]


class Mosquitto:
    """A Mosquitto broker for the tests only: MQTT on `port`, MQTT over TLS on `tls_port` (with a certificate
    of the test authority). It runs as the tests' user, so that it can read the test certificates."""

    def __init__(self, directory: Path, certificates: Certificates) -> None:
        executable = mosquitto_executable()
        if executable is None:
            raise RuntimeError("mosquitto is not installed: `make test` installs it (see tests/services.py)")
        self.port, self.tls_port = free_port(), free_port()
        config = directory / "mosquitto.conf"
        config.write_text(
            f"user {getpass.getuser()}\nallow_anonymous true\npersistence false\nlistener {self.port} 127.0.0.1\n"
            f"listener {self.tls_port} 127.0.0.1\ncertfile {certificates.cert_file}\nkeyfile {certificates.key_file}\n"
        )
        self.process = subprocess.Popen([executable, "-c", str(config)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        wait_until(self._listening, timeout=10)

    def _listening(self) -> bool:
        import socket
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", self.port)) == 0

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture(scope="session")
def mosquitto(tmp_path_factory: pytest.TempPathFactory, certificates: Certificates) -> Iterator[Mosquitto]:
    server = Mosquitto(tmp_path_factory.mktemp("mosquitto"), certificates)
    yield server
    server.stop()


def decoded(payload: bytes) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(payload)
    return message

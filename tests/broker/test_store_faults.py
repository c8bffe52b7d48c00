"""Faults under a running broker: it is killed during writes (on every store); its MongoDB server goes away and
comes back; its MongoDB server cannot be reached at start. No acknowledged write is ever lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from ngsi_ld.errors import ERROR_TYPE_BASE
from tests.broker.entity_helpers import unique_type
from tests.conftest import API, ROOT, BrokerProcess, free_port, unique_id
from tests.mongodb import SecantusServer
from tests.notifications.conftest import wait_until
from tests.processes import child_pids

UNAVAILABLE_WITHIN = 15.0
"""How long a request may take to get its 503 when the database is gone."""
RECOVERED_WITHIN = 30.0
"""How long after the database is back the broker may take to serve again."""
GIVES_UP_WITHIN = 60.0
"""How long a broker whose database cannot be reached may take to give up at start."""


class Writers:
    """Threads that create entities of one type, each on a connection of its own, until stopped: half of them
    one entity per request, half three per batch request; they record which creations were acknowledged (201)
    and every status answered."""

    def __init__(self, base_url: str, entity_type: str, count: int = 4) -> None:
        self.base_url, self.entity_type = base_url, entity_type
        self.acknowledged: list[str] = []
        self.statuses: set[int] = set()
        self._stopped = threading.Event()
        self._threads = [threading.Thread(target=self._write, args=(number % 2 == 1,)) for number in range(count)]

    def _write(self, batch: bool) -> None:
        """Creates one entity per request, or (`batch`) three per request with entityOperations/create."""
        with httpx.Client(base_url=self.base_url + API, timeout=UNAVAILABLE_WITHIN + 15) as http:
            while not self._stopped.is_set():
                ids = [unique_id(self.entity_type) for _ in range(3 if batch else 1)]
                bodies = [{"id": entity_id, "type": self.entity_type} for entity_id in ids]
                try:
                    answer = (http.post("/entityOperations/create", json=bodies) if batch
                              else http.post("/entities", json=bodies[0]))
                except httpx.TransportError:
                    return  # the broker is gone
                self.statuses.add(answer.status_code)
                if answer.status_code == 201:
                    self.acknowledged.extend(ids)
                else:
                    time.sleep(0.05)

    @contextmanager
    def running(self) -> Iterator[Writers]:
        for thread in self._threads:
            thread.start()
        try:
            yield self
        finally:
            self._stopped.set()
            for thread in self._threads:
                thread.join(timeout=60)

    def wait_for(self, count: int) -> None:
        """Waits until `count` more creations than now were acknowledged."""
        target = len(self.acknowledged) + count
        wait_until(lambda: len(self.acknowledged) >= target, timeout=30)


def stored_ids(base_url: str, entity_type: str) -> set[str]:
    """The ids of every entity of the type, page after page."""
    found: set[str] = set()
    with httpx.Client(base_url=base_url + API, timeout=30) as http:
        while True:
            page = http.get("/entities", params={"type": entity_type, "limit": 1000, "offset": len(found),
                                                 "options": "keyValues"})
            assert page.status_code == 200, page.text
            found |= {entity["id"] for entity in page.json()}
            if len(page.json()) < 1000:
                return found


@pytest.mark.parametrize("workers", [1, 2])
def test_a_broker_killed_during_writes_loses_no_acknowledged_write(tmp_path: Path, store_url: str,
                                                                   workers: int) -> None:
    """With two workers, the writes of each process share transactions, and the processes wait for each
    other's write lock: every acknowledged creation was committed all the same."""
    entity_type = unique_type()
    broker = BrokerProcess(tmp_path, workers=workers, env={"SCIFI_STORE": store_url}).start()
    try:
        writers = Writers(broker.url, entity_type, count=4 * workers)
        with writers.running():
            writers.wait_for(60 * workers)
            assert broker.process is not None
            for pid in child_pids(broker.process):
                os.kill(pid, signal.SIGKILL)
            broker.stop(signal.SIGKILL)
        broker.start()
        assert writers.statuses == {201}
        assert set(writers.acknowledged) <= stored_ids(broker.url, entity_type)
    finally:
        broker.stop()


def get_entity(base_url: str, entity_id: str) -> httpx.Response:
    return httpx.get(f"{base_url}{API}/entities/{quote(entity_id, safe=':')}", timeout=UNAVAILABLE_WITHIN + 15)


def timed(request: Callable[[], httpx.Response]) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    answer = request()
    return answer, time.monotonic() - started


def assert_unavailable(answer: httpx.Response, seconds: float) -> None:
    """A 503 ProblemDetails, in time."""
    assert answer.status_code == 503, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    problem = answer.json()
    assert problem["type"].startswith(ERROR_TYPE_BASE) and problem["status"] == 503 and problem["detail"]
    assert seconds < UNAVAILABLE_WITHIN


@pytest.mark.stores("mongodb")
@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGKILL], ids=["stopped", "killed"])
def test_mongodb_gone_answers_503_and_the_broker_recovers_when_it_is_back(
        tmp_path: Path, store_kind: str, stop_signal: int) -> None:
    """The database server is stopped cleanly (SIGTERM), or crashes (SIGKILL: it then syncs each commit to
    disk, as a production server with journaling does), under a broker that is writing; the broker answers
    503 while it is gone (/health too, for load balancers), and serves again once it is back, without a
    restart and without losing any write it acknowledged."""
    entity_type = unique_type()
    with SecantusServer(tmp_path / "secantus", free_port(), sync_on_commit=stop_signal == signal.SIGKILL) as database:
        broker = BrokerProcess(tmp_path / "broker", env={"SCIFI_STORE": database.url}).start()
        try:
            kept = unique_id(entity_type)
            assert httpx.post(broker.url + API + "/entities", json={"id": kept, "type": entity_type}).status_code == 201
            writers = Writers(broker.url, entity_type, count=2)
            with writers.running():
                writers.wait_for(20)
                database.stop(stop_signal)
                assert_unavailable(*timed(lambda: get_entity(broker.url, kept)))
                assert_unavailable(*timed(lambda: httpx.get(broker.url + "/health", timeout=30)))
                refused = unique_id(entity_type)
                assert_unavailable(*timed(lambda: httpx.post(broker.url + API + "/entities", timeout=30,
                                                             json={"id": refused, "type": entity_type})))
                database.start()
                wait_until(lambda: get_entity(broker.url, kept).status_code == 200, timeout=RECOVERED_WITHIN)
                writers.wait_for(20)
            assert broker.process is not None and broker.process.poll() is None, "the broker was not restarted"
            assert writers.statuses <= {201, 503}
            assert set(writers.acknowledged) | {kept} <= stored_ids(broker.url, entity_type)
            assert get_entity(broker.url, refused).status_code == 404, "a write answered 503 was not made"
        finally:
            broker.stop()


def test_mongodb_unreachable_at_start_is_one_line_and_exit_status_1(tmp_path: Path) -> None:
    """Nothing listens at the URL: after a bounded wait, one line on stderr that names the server (and not
    the password of the URL), and exit status 1."""
    address = f"127.0.0.1:{free_port()}"
    command = [sys.executable, "-m", "broker.cli", "serve", "--port", str(free_port()), "--data-dir", str(tmp_path),
               "--store", f"mongodb://scifi:s3cret@{address}/?directConnection=true"]
    started = time.monotonic()
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=GIVES_UP_WITHIN + 30)
    assert time.monotonic() - started < GIVES_UP_WITHIN
    lines = run.stderr.strip().splitlines()
    assert run.returncode == 1, run.stderr
    assert len(lines) == 1 and lines[0].startswith("scifi serve: "), run.stderr
    assert address in lines[0] and "s3cret" not in lines[0], lines[0]

"""The broker as a process: data survives a crash, several workers share one store, shutdown is clean."""

from __future__ import annotations

import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from tests.conftest import API, BrokerProcess, unique_id
from tests.processes import child_pids


def test_entities_survive_a_killed_process(tmp_path: Path, store_url: str) -> None:
    broker = BrokerProcess(tmp_path, env={"SCIFI_STORE": store_url}).start()
    ids = [unique_id("Sensor") for _ in range(20)]
    try:
        with httpx.Client(base_url=broker.url + API) as http:
            for number, entity_id in enumerate(ids):
                body = {"id": entity_id, "type": "Sensor", "reading": number}
                assert http.post("/entities", json=body).status_code == 201
            assert http.patch(f"/entities/{ids[0]}/attrs", json={"reading": 99}).status_code == 204
    finally:
        broker.stop(signal.SIGKILL)
    broker.start()
    try:
        with httpx.Client(base_url=broker.url + API) as http:
            found = http.get("/entities", params={"type": "Sensor", "limit": 100, "options": "keyValues"}).json()
    finally:
        broker.stop()
    readings = {entity["id"]: entity["reading"] for entity in found}
    assert readings == {entity_id: (99 if n == 0 else n) for n, entity_id in enumerate(ids)}


def test_sigterm_shuts_down_cleanly(tmp_path: Path) -> None:
    broker = BrokerProcess(tmp_path).start()
    with httpx.Client(base_url=broker.url + API) as http:
        assert http.post("/entities", json={"id": unique_id(), "type": "Sensor"}).status_code == 201
    assert (tmp_path / "entities.sqlite-wal").exists()
    process = broker.process
    assert process is not None
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=20) in (0, -signal.SIGTERM)
    # The store was closed: SQLite folds the write-ahead log into the file when its last connection closes.
    assert not (tmp_path / "entities.sqlite-wal").exists()


def worker_pids(broker: BrokerProcess) -> list[int]:
    assert broker.process is not None
    return child_pids(broker.process)


def test_two_workers_share_one_store(tmp_path: Path, store_url: str) -> None:
    broker = BrokerProcess(tmp_path, workers=2, env={"SCIFI_STORE": store_url}).start()
    contested = unique_id("Contested")
    shared = unique_id("Shared")
    try:
        assert len(worker_pids(broker)) >= 2
        with httpx.Client(base_url=broker.url + API, limits=httpx.Limits(max_keepalive_connections=0)) as http:
            assert http.post("/entities", json={"id": shared, "type": "Shared"}).status_code == 201

            def create_contested(_: int) -> int:
                return http.post("/entities", json={"id": contested, "type": "Contested"}).status_code

            def append_attribute(number: int) -> int:
                return http.post(f"/entities/{shared}/attrs", json={f"a{number}": number}).status_code

            with ThreadPoolExecutor(max_workers=8) as pool:
                creations = list(pool.map(create_contested, range(16)))
                appends = list(pool.map(append_attribute, range(40)))
            entity = http.get(f"/entities/{shared}", params={"options": "keyValues"}).json()
    finally:
        broker.stop()
    assert sorted(creations) == [201] + [409] * 15
    assert appends == [204] * 40
    assert {key: value for key, value in entity.items() if key.startswith("a")} == {f"a{n}": n for n in range(40)}

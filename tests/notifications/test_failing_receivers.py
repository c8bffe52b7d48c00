"""A receiver that answers 500, hangs, or refuses connections "for an hour": the broker's memory stays bounded
(the waiting notifications are in the store), each notification is retried with a backoff that doubles up to a
cap, the subscription shows the failure, the API answers as fast as without it, and once the receiver is back
it gets every change, in order.

The hour is scaled down: the first retry after 0.1 s, doubling up to 0.8 s (SCIFI_NOTIFICATION_RETRY_MAX, 60 s
by default), for 6 s, so the cap is reached after four attempts and held for the rest of the run, as it would
be for most of an hour with the defaults.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from tests.broker.entity_helpers import unique_type
from tests.conftest import API, BrokerProcess, unique_id
from tests.notifications.conftest import ReceiverProcess, subscribe, unique_path, wait_until
from tests.notifications.test_durability import speeds
from tests.processes import free_port

RETRY, RETRY_MAX, TIMEOUT = 0.1, 0.8, 0.5
FAILING_FOR = 6.0
ENV = {"SCIFI_NOTIFICATION_RETRY": str(RETRY), "SCIFI_NOTIFICATION_RETRY_MAX": str(RETRY_MAX),
       "SCIFI_NOTIFICATION_TIMEOUT": str(TIMEOUT)}


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def latencies(request: Callable[[], httpx.Response], count: int) -> list[float]:
    taken = []
    for _ in range(count):
        started = time.monotonic()
        assert request().status_code == 200
        taken.append(time.monotonic() - started)
    return taken


@pytest.mark.parametrize("failure", ["answers 500", "hangs", "refuses"])
def test_a_failing_receiver_costs_no_memory_nor_latency_is_retried_with_capped_backoff_and_gets_everything_back(
        tmp_path: Path, store_url: str, receiver: ReceiverProcess, failure: str) -> None:
    car = unique_type()
    late_receiver = None
    if failure == "refuses":
        late_receiver = ReceiverProcess()
        late_receiver.port = free_port()
        target, path = late_receiver, unique_path()
    else:
        target, path = receiver, unique_path()
        receiver.answer(path, status=500) if failure == "answers 500" else receiver.answer(path, 504, delay=30)
    broker = BrokerProcess(tmp_path, env={**ENV, "SCIFI_STORE": store_url}).start()
    assert broker.process is not None
    try:
        with httpx.Client(base_url=broker.url + API, timeout=10) as api:
            entity_id = unique_id(car)
            entity_path = f"/entities/{quote(entity_id, safe=':')}"
            assert api.post("/entities", json={"id": entity_id, "type": car}).status_code == 201
            before = latencies(lambda: api.get(entity_path), 40)

            subscription_id = subscribe(api, target.url(path), entities=[{"type": car}])
            assert api.post(entity_path + "/attrs", json={"speed": {"type": "Property", "value": 0}}).status_code == 204
            wait_until(lambda: api.get(f"/subscriptions/{subscription_id}").json()["notification"].get("timesFailed"))
            rss_at_start = rss_bytes(broker.process.pid)
            during, speed, started = [], 0, time.monotonic()
            while time.monotonic() - started < FAILING_FOR:
                speed += 1
                assert api.post(entity_path + "/attrs", json={"speed": {"type": "Property", "value": speed}}
                                ).status_code == 204
                during += latencies(lambda: api.get(entity_path), 2)
            rss_at_end = rss_bytes(broker.process.pid)
            status = api.get(f"/subscriptions/{subscription_id}").json()["notification"]

            assert status["status"] == "failed" and "lastFailure" in status and "lastSuccess" not in status
            capped_attempts = FAILING_FOR / RETRY_MAX
            assert 4 <= status["timesFailed"] <= capped_attempts + 6, status
            if failure != "refuses":
                attempts = [item["at"] for item in receiver.received(path, failed=True)]
                gaps = [later - earlier for earlier, later in zip(attempts, attempts[1:], strict=False)]
                assert all(RETRY_MAX * 0.9 <= gap <= RETRY_MAX + TIMEOUT + 1.0 for gap in gaps[4:]), gaps
            assert statistics.median(during) <= max(3 * statistics.median(before), statistics.median(before) + 0.05)
            assert max(during) < 2.0
            assert rss_at_end - rss_at_start < 20 * 1024 * 1024, (rss_at_start, rss_at_end)
            assert speed > 10

            if late_receiver is not None:
                late_receiver.start()
            else:
                receiver.answer(path, status=200)
            delivered = target.wait_for_entities(path, speed + 1, timeout=RETRY_MAX + 15)
            time.sleep(0.3)
            assert speeds(target.received(path)) == list(range(speed + 1)), "every change, once, in order"
            assert len({item["body"]["id"] for item in delivered}) == len(delivered)
            wait_until(lambda: api.get(f"/subscriptions/{subscription_id}").json()["notification"]["status"] == "ok")
    finally:
        broker.stop()
        if late_receiver is not None:
            late_receiver.stop()

"""Soak run: minutes of mixed load against one broker process, whose receiver fails 10 % of the time.

    python -m bench.soak [--minutes 10] [--writers 4] [--readers 2] [--entities 200] [--store sqlite|mongodb]

Writers update entities (and create one now and then), readers query them (by type with q, by id), a
subscription sends every change to a receiver in this process that answers 500 to one notification in ten
(at random, seeded). Reports the requests per second, the 5xx answers, the broker's RSS after the warm-up
(the first tenth of the run, at most a minute) and at the end, and, once the receiver has caught up, whether
every change was delivered. Exits with 1 when a request got a 5xx, the RSS grew by 10 % or more, or a change
was not delivered.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bench.entities import ROOT, wait_ready
from bench.stores import add_store_option, store_label, store_url
from tests.processes import free_port

FAILURE_RATE = 0.1
MAX_GROWTH = 0.10


class Receiver:
    """Takes notifications at /notify; answers 500 to a tenth of them. Records the (entity, speed) delivered."""

    def __init__(self, seed: int) -> None:
        self.delivered: set[tuple[str, int]] = set()
        self.answers: Counter[int] = Counter()
        self._random = random.Random(seed)

    async def receive(self, request: web.Request) -> web.Response:
        body = await request.json()
        if self._random.random() < FAILURE_RATE:
            self.answers[500] += 1
            return web.Response(status=500)
        self.answers[204] += 1
        for entity in body["data"]:
            if "speed" in entity:
                self.delivered.add((entity["id"], entity["speed"]["value"]))
        return web.Response(status=204)


class Load:
    def __init__(self, base: str, entities: int, seed: int) -> None:
        self.base = base
        self.ids = [f"urn:ngsi-ld:Car:soak-{number}" for number in range(entities)]
        self.statuses: Counter[int] = Counter()
        self.sent: set[tuple[str, int]] = set()
        self._speeds = dict.fromkeys(self.ids, 0)
        self._random = random.Random(seed)
        self._created = 0

    async def write(self, session: aiohttp.ClientSession, until: float) -> None:
        while time.monotonic() < until:
            if self._random.random() < 0.05:
                self._created += 1
                body = {"id": f"urn:ngsi-ld:Car:soak-new-{os.getpid()}-{self._created}", "type": "Car"}
                await self._request(session, "POST", "/entities", body)
                continue
            entity_id = self._random.choice(self.ids)
            self._speeds[entity_id] += 1
            speed = self._speeds[entity_id]
            status = await self._request(session, "POST", f"/entities/{entity_id}/attrs",
                                         {"speed": {"type": "Property", "value": speed}})
            if status == 204:
                self.sent.add((entity_id, speed))

    async def read(self, session: aiohttp.ClientSession, until: float) -> None:
        while time.monotonic() < until:
            if self._random.random() < 0.5:
                await self._request(session, "GET", "/entities?type=Car&q=speed>3&limit=50")
            else:
                await self._request(session, "GET", f"/entities/{self._random.choice(self.ids)}")

    async def _request(self, session: aiohttp.ClientSession, method: str, path: str, body: Any = None) -> int:
        async with session.request(method, self.base + path, json=body) as response:
            await response.read()
            self.statuses[response.status] += 1
            return response.status


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


async def soak(minutes: float, writers: int, readers: int, entities: int, url: str) -> dict[str, Any]:
    receiver = Receiver(seed=17)
    app = web.Application()
    app.router.add_post("/notify", receiver.receive)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    receiver_port, port = free_port(), free_port()
    await web.TCPSite(runner, "127.0.0.1", receiver_port).start()
    with tempfile.TemporaryDirectory() as directory:
        server = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "broker.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
            "--data-dir", directory, "--log-level", "error", cwd=ROOT,
            env={**os.environ, "SCIFI_STORE": url, "SCIFI_NOTIFICATION_RETRY": "0.2",
                 "SCIFI_NOTIFICATION_RETRY_MAX": "2"},
        )
        load = Load(f"http://127.0.0.1:{port}/ngsi-ld/v1", entities, seed=42)
        try:
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=writers + readers)) as session:
                await wait_ready(session, f"http://127.0.0.1:{port}", 60, server)
                await _prepare(session, load, f"http://127.0.0.1:{receiver_port}/notify")
                duration = minutes * 60
                started = time.monotonic()
                until = started + duration
                warm_up = asyncio.create_task(asyncio.sleep(min(duration / 10, 60)))
                clients = [asyncio.create_task(load.write(session, until)) for _ in range(writers)]
                clients += [asyncio.create_task(load.read(session, until)) for _ in range(readers)]
                await warm_up
                rss_start = rss_mib(server.pid)
                await asyncio.gather(*clients)
                elapsed = time.monotonic() - started
                rss_end = rss_mib(server.pid)
                caught_up = await _caught_up(receiver, load, timeout=120)
        finally:
            server.terminate()
            await server.wait()
            await runner.cleanup()
    requests = sum(load.statuses.values())
    return {
        "minutes": minutes, "requests": requests, "requests per second": requests / elapsed,
        "5xx answers": sum(count for status, count in load.statuses.items() if status >= 500),
        "statuses": dict(sorted(load.statuses.items())), "receiver answers": dict(sorted(receiver.answers.items())),
        "changes sent": len(load.sent), "changes delivered": len(load.sent & receiver.delivered),
        "caught up": caught_up, "RSS after warm-up (MiB)": rss_start, "RSS at end (MiB)": rss_end,
        "RSS growth (%)": (rss_end - rss_start) / rss_start * 100,
    }


async def _prepare(session: aiohttp.ClientSession, load: Load, receiver_url: str) -> None:
    subscription = {"type": "Subscription", "entities": [{"type": "Car"}], "watchedAttributes": ["speed"],
                    "notification": {"endpoint": {"uri": receiver_url}}}
    async with session.post(load.base + "/subscriptions", json=subscription) as response:
        assert response.status == 201, await response.text()
    batch = [{"id": entity_id, "type": "Car", "speed": {"type": "Property", "value": 0}} for entity_id in load.ids]
    async with session.post(load.base + "/entityOperations/create", json=batch) as response:
        assert response.status == 201, await response.text()


async def _caught_up(receiver: Receiver, load: Load, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if load.sent <= receiver.delivered:
            return True
        await asyncio.sleep(0.5)
    return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--readers", type=int, default=2)
    parser.add_argument("--entities", type=int, default=200)
    add_store_option(parser)
    args = parser.parse_args()
    with store_url(args.store) as url:
        results = asyncio.run(soak(args.minutes, args.writers, args.readers, args.entities, url))
    print(store_label(args.store))
    width = max(map(len, results))
    for name, value in results.items():
        print(f"{name:<{width}}  {value:.1f}" if isinstance(value, float) else f"{name:<{width}}  {value}")
    healthy = (results["5xx answers"] == 0 and results["RSS growth (%)"] < MAX_GROWTH * 100
               and results["caught up"])
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())

"""Entity hot paths: parse + expand, render, store writes and reads, and the HTTP API end to end.

    python -m bench.entities [--requests N] [--concurrency C] [--store sqlite|mongodb]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

from bench.stores import add_store_option, store_label, store_url
from broker.store import open_store
from ngsi_ld.context import build_term_map
from ngsi_ld.entity import parse_entity
from ngsi_ld.render import RenderOptions, render_entity
from ngsi_ld.updates import new_entity
from ngsi_ld.values import utc_now

ROOT = Path(__file__).resolve().parent.parent


def parking(number: int) -> dict[str, Any]:
    """An OffStreetParking entity of about 1 KB in normalized form."""
    return {
        "id": f"urn:ngsi-ld:OffStreetParking:bench-{number}",
        "type": "OffStreetParking",
        "name": {"type": "Property", "value": f"Parking {number}"},
        "availableSpotNumber": {"type": "Property", "value": number % 200, "observedAt": "2026-11-27T08:00:00Z",
                                "reliability": {"type": "Property", "value": 0.9}},
        "totalSpotNumber": {"type": "Property", "value": 200},
        "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [4.47, 51.02]}},
        "street": {"type": "LanguageProperty", "languageMap": {"nl": "Grote Markt", "fr": "Grand Place"}},
        "category": {"type": "VocabProperty", "vocab": ["public", "underground"]},
        "refParkingSite": {"type": "Relationship", "object": "urn:ngsi-ld:ParkingSite:1"},
        "occupancy": {"type": "ListProperty", "valueList": [1, 2, 3, 4]},
        "extra": {"type": "JsonProperty", "json": {"a": [1, 2], "b": "c"}},
    }


def per_call(function: Callable[[], Any], repeat: int = 5, number: int = 2000) -> float:
    """Median microseconds per call over `repeat` runs of `number` calls."""
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            function()
        runs.append((time.perf_counter() - start) / number * 1e6)
    return statistics.median(runs)


def bench_model() -> dict[str, float]:
    terms = build_term_map(None, lambda url: None)
    raw = parking(1)
    entity = new_entity(parse_entity(raw, terms), utc_now())
    return {
        "parse + expand (us/entity)": per_call(lambda: parse_entity(raw, terms)),
        "render normalized (us/entity)": per_call(lambda: render_entity(entity, terms, RenderOptions())),
        "render keyValues (us/entity)": per_call(lambda: render_entity(entity, terms, RenderOptions("keyValues"))),
    }


async def bench_store(count: int, url: str) -> dict[str, float]:
    terms = build_term_map(None, lambda url: None)
    entities = [new_entity(parse_entity(parking(n), terms), utc_now()) for n in range(count)]
    async with open_store(url) as store:
        start = time.perf_counter()
        for entity in entities:
            await store.create("", entity)
        created = time.perf_counter() - start
        start = time.perf_counter()
        for entity in entities:
            await store.get("", entity["id"])
        read = time.perf_counter() - start
    return {
        "store create (entities/s, sequential)": count / created,
        "store get (entities/s, sequential)": count / read,
    }


async def bench_http(requests: int, concurrency: int, url: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as directory:
        port = 18999
        server = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "broker.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
            "--data-dir", directory, "--log-level", "warning", cwd=ROOT, env={**os.environ, "SCIFI_STORE": url},
        )
        base = f"http://127.0.0.1:{port}"
        try:
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
                await wait_ready(session, base)
                bodies = [parking(n) for n in range(requests)]
                posts = await _drive(session, concurrency, [("POST", f"{base}/ngsi-ld/v1/entities", b) for b in bodies])
                gets = await _drive(session, concurrency, [
                    ("GET", f"{base}/ngsi-ld/v1/entities/{b['id']}", None) for b in bodies])
        finally:
            server.terminate()
            await server.wait()
    return {
        "HTTP POST /entities (requests/s)": posts[0], "HTTP POST latency p50 (ms)": posts[1],
        "HTTP GET /entities/{id} (requests/s)": gets[0], "HTTP GET latency p50 (ms)": gets[1],
    }


async def wait_ready(session: aiohttp.ClientSession, base: str, seconds: float = 10.0,
                     server: asyncio.subprocess.Process | None = None) -> None:
    """Waits until the broker at `base` (its root URL) answers its health check, at most `seconds`, and not
    once its `server` process has exited."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and (server is None or server.returncode is None):
        try:
            async with session.get(base + "/health") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError("the broker did not start")


async def _drive(
    session: aiohttp.ClientSession, concurrency: int, calls: list[tuple[str, str, Any]]
) -> tuple[float, float]:
    latencies: list[float] = []
    queue = iter(calls)

    async def worker() -> None:
        for method, url, body in queue:
            start = time.perf_counter()
            async with session.request(method, url, json=body) as response:
                await response.read()
                assert response.status in (200, 201), response.status
            latencies.append(time.perf_counter() - start)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    return len(calls) / elapsed, statistics.median(latencies) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=16)
    add_store_option(parser)
    args = parser.parse_args()
    results = bench_model()
    with store_url(args.store) as url:
        results.update(asyncio.run(bench_store(args.requests, url)))
    with store_url(args.store) as url:
        results.update(asyncio.run(bench_http(args.requests, args.concurrency, url)))
    print(store_label(args.store))
    width = max(map(len, results))
    for name, value in results.items():
        print(f"{name:<{width}}  {value:10.1f}")


if __name__ == "__main__":
    main()

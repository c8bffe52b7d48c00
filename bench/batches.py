"""Batch upsert throughput: batches of 1,000 entities, into the store and through POST /entityOperations/upsert.

    python -m bench.batches [--entities 20000] [--batch 1000] [--store sqlite|mongodb]

The entity is a sensor gateway's reading (an AirQualityObserved with three measured values, each with
observedAt and unitCode, and a location). Each run creates the entities (all new), then upserts them again
(all existing, replaced), which also rewrites their query index.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from bench.entities import wait_ready
from bench.stores import add_store_option, store_label, store_url
from broker.batch import upsertion
from broker.store import open_store
from ngsi_ld.context import build_term_map
from ngsi_ld.entity import parse_entity
from ngsi_ld.values import utc_now

ROOT = Path(__file__).resolve().parent.parent
TERMS = build_term_map(None, lambda url: None)


def reading(number: int, rng: random.Random) -> dict[str, Any]:
    observed = "2026-11-27T08:00:00Z"

    def measure(value: float, unit: str) -> dict[str, Any]:
        return {"type": "Property", "value": value, "observedAt": observed, "unitCode": unit}

    return {
        "id": f"urn:ngsi-ld:AirQualityObserved:{number}",
        "type": "AirQualityObserved",
        "NO2": measure(round(rng.uniform(0, 80), 1), "GQ"),
        "PM10": measure(round(rng.uniform(0, 60), 1), "GQ"),
        "temperature": measure(round(rng.uniform(-5, 30), 1), "CEL"),
        "location": {"type": "GeoProperty",
                     "value": {"type": "Point", "coordinates": [rng.uniform(2.5, 6.4), rng.uniform(49.5, 51.5)]}},
    }


async def bench_store(bodies: list[dict[str, Any]], batch: int, url: str) -> dict[str, float]:
    figures = {}
    async with open_store(url) as store:
        for label in ("store upsert, all new (entities/s)", "store upsert, all existing (entities/s)"):
            parsed = [parse_entity(orjson.loads(orjson.dumps(body)), TERMS) for body in bodies]
            start = time.perf_counter()
            for first in range(0, len(parsed), batch):
                now = utc_now()
                await store.write("", [upsertion(entity, now) for entity in parsed[first:first + batch]],
                                  create_tenant=True)
            figures[label] = len(parsed) / (time.perf_counter() - start)
    return figures


async def bench_http(bodies: list[dict[str, Any]], batch: int, workers: int, url: str) -> dict[str, float]:
    figures = {}
    port = 20000 + os.getpid() % 20000
    with tempfile.TemporaryDirectory() as directory:
        env = {**os.environ, "SCIFI_DATA_DIR": directory, "SCIFI_STORE": url, "SCIFI_PORT": str(port),
               "SCIFI_WORKERS": str(workers), "SCIFI_LOG_LEVEL": "warning",
               "SCIFI_MAX_BODY_BYTES": str(64 * 1024 * 1024)}
        server = subprocess.Popen([sys.executable, "-m", "broker.cli", "serve"], cwd=ROOT, env=env)
        try:
            base = f"http://127.0.0.1:{port}/ngsi-ld/v1"
            async with aiohttp.ClientSession() as session:
                await wait_ready(session, f"http://127.0.0.1:{port}")
                for label in ("new", "existing"):
                    payloads = [orjson.dumps(bodies[first:first + batch]) for first in range(0, len(bodies), batch)]
                    start = time.perf_counter()
                    await asyncio.gather(*(_post_all(session, base, payloads[k::workers]) for k in range(workers)))
                    figures[f"HTTP upsert, {workers} worker(s), all {label} (entities/s)"] = (
                        len(bodies) / (time.perf_counter() - start))
        finally:
            server.terminate()
            server.wait(timeout=30)
    return figures


async def _post_all(session: aiohttp.ClientSession, base: str, payloads: list[bytes]) -> None:
    for payload in payloads:
        async with session.post(f"{base}/entityOperations/upsert", data=payload,
                                headers={"Content-Type": "application/json"}) as answer:
            assert answer.status in (201, 204), await answer.text()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entities", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=1000)
    add_store_option(parser)
    args = parser.parse_args()
    rng = random.Random(1)
    bodies = [reading(number, rng) for number in range(args.entities)]
    with store_url(args.store) as url:
        figures = asyncio.run(bench_store(bodies, args.batch, url))
    for workers in (1, 2):
        with store_url(args.store) as url:
            figures.update(asyncio.run(bench_http(bodies, args.batch, workers, url)))
    print(store_label(args.store))
    for label, value in figures.items():
        print(f"{label:<55}{value:12.0f}")


if __name__ == "__main__":
    main()

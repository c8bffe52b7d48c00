"""A pilot copied between two local brokers: `scifi replicate` from a Mechelen broker to a Delft one.

    python -m bench.replication [--entities 100000] [--batch 1000]

The source holds ParkingSpots (a status, a location, a refParkingSite) and one OffStreetParking per 1,000
spots, all of Mechelen. The benchmark times the loading of the source (the batch upserts alone: what a copy
can at best approach, since the target writes the same batches), then three runs of the same command: the
first copy (every entity new in the target), a second run (nothing to change: every page read from both
brokers and compared), and a copy whose target holds every spot with its status changed (each one replaced).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from bench.entities import wait_ready
from broker.cli import main as scifi

ROOT = Path(__file__).resolve().parent.parent
TYPES = "OffStreetParking,ParkingSpot"


def pilot(spots: int) -> Iterator[dict[str, Any]]:
    for site in range(max(1, spots // 1000)):
        yield {"id": f"urn:ngsi-ld:OffStreetParking:mechelen:{site}", "type": "OffStreetParking",
               "totalSpotNumber": {"type": "Property", "value": 1000},
               "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [4.47, 51.02]}}}
    for spot in range(spots):
        yield {"id": f"urn:ngsi-ld:ParkingSpot:mechelen:{spot}", "type": "ParkingSpot",
               "status": {"type": "Property", "value": "free" if spot % 3 else "occupied",
                          "observedAt": "2026-12-01T08:00:00Z"},
               "refParkingSite": {"type": "Relationship", "object": f"urn:ngsi-ld:OffStreetParking:mechelen:"
                                                                   f"{spot // 1000}"},
               "location": {"type": "GeoProperty",
                            "value": {"type": "Point", "coordinates": [4.47 + spot / 1e6, 51.02]}}}


@contextlib.contextmanager
def brokers(directory: str) -> Iterator[tuple[str, str]]:
    processes, urls = [], []
    for number, name in enumerate(("mechelen", "delft")):
        port = 21000 + (os.getpid() + 7 * number) % 20000
        env = {**os.environ, "SCIFI_DATA_DIR": f"{directory}/{name}", "SCIFI_PORT": str(port),
               "SCIFI_LOG_LEVEL": "warning", "SCIFI_MAX_BODY_BYTES": str(64 * 1024 * 1024)}
        processes.append(subprocess.Popen([sys.executable, "-m", "broker.cli", "serve"], cwd=ROOT, env=env))
        urls.append(f"http://127.0.0.1:{port}")
    try:
        yield urls[0], urls[1]
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)


async def ready(*urls: str) -> None:
    async with aiohttp.ClientSession() as session:
        for url in urls:
            await wait_ready(session, url)


async def load(source: str, spots: int, batch: int) -> None:
    async with aiohttp.ClientSession() as session:
        entities = list(pilot(spots))
        for first in range(0, len(entities), batch):
            async with session.post(f"{source}/ngsi-ld/v1/entityOperations/upsert",
                                    data=orjson.dumps(entities[first:first + batch]),
                                    headers={"Content-Type": "application/json"}) as answer:
                assert answer.status in (201, 204), await answer.text()


async def change_target(target: str, spots: int, batch: int) -> None:
    """Every spot of the target gets another status, so that the next copy replaces each one."""
    async with aiohttp.ClientSession() as session:
        for first in range(0, spots, batch):
            body = [{"id": f"urn:ngsi-ld:ParkingSpot:delft:{spot}", "type": "ParkingSpot",
                     "status": {"type": "Property", "value": "closed"}}
                    for spot in range(first, min(spots, first + batch))]
            async with session.post(f"{target}/ngsi-ld/v1/entityOperations/update", data=orjson.dumps(body),
                                    headers={"Content-Type": "application/json"}) as answer:
                assert answer.status in (204,), await answer.text()


def copy(source: str, target: str, batch: int, state: Path) -> float:
    argv = ["replicate", "--from", source, "--to", target, "--types", TYPES, "--rewrite", "mechelen=delft",
            "--batch-size", str(batch), "--state", str(state)]
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()) as out:
        status = scifi(argv)
    elapsed = time.perf_counter() - start
    assert status == 0, out.getvalue()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entities", type=int, default=100_000, help="ParkingSpots (default 100,000)")
    parser.add_argument("--batch", type=int, default=1000, help="--batch-size of the copy (default 1000)")
    args = parser.parse_args()
    total = args.entities + max(1, args.entities // 1000)
    with tempfile.TemporaryDirectory() as directory, brokers(directory) as (source, target):
        asyncio.run(ready(source, target))
        start = time.perf_counter()
        asyncio.run(load(source, args.entities, args.batch))
        state = Path(directory) / "state.json"
        figures = {"loading the source: batch upserts alone": time.perf_counter() - start,
                   "first copy, every entity new": copy(source, target, args.batch, state),
                   "second run, nothing to change": copy(source, target, args.batch, state)}
        asyncio.run(change_target(target, args.entities, args.batch))
        figures["copy over changed entities, every one replaced"] = copy(source, target, args.batch, state)
    print(f"{total} entities, batches of {args.batch}")
    for label, seconds in figures.items():
        print(f"{label:<50}{seconds:8.1f} s {total / seconds:10.0f} entities/s")


if __name__ == "__main__":
    main()

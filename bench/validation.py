"""Smart Data Models validation: the cost per entity, and creates over HTTP with `enforce` against `off`.

    python -m bench.validation [--sdm-dir DIR] [--requests N] [--concurrency C]

DIR is a tree of the Smart Data Models laid out like their published URLs (default: SCIFI_SDM_DIR, else the
subset the tests carry, tests/data/smart-data-models).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from bench.entities import ROOT, per_call, wait_ready
from ngsi_ld.context import build_term_map, builtin_document
from ngsi_ld.entity import parse_entity
from ngsi_ld.updates import new_entity
from ngsi_ld.values import utc_now
from smart_data_models.models import compile_model
from smart_data_models.reduce import reduced_stored
from smart_data_models.source import SchemaSource, context_url

MODEL = "dataModel.Parking/OffStreetParking"
PORT = 18995


def parking(number: int) -> dict[str, Any]:
    """An OffStreetParking that its model accepts (normalized, with the Parking subject's names)."""
    return {
        "id": f"urn:ngsi-ld:OffStreetParking:bench-{number}", "type": "OffStreetParking",
        "name": {"type": "Property", "value": f"Parking {number}"},
        "availableSpotNumber": {"type": "Property", "value": number % 200, "observedAt": "2026-11-27T08:00:00Z"},
        "totalSpotNumber": {"type": "Property", "value": 200},
        "category": {"type": "Property", "value": ["public", "underground"]},
        "allowedVehicleType": {"type": "Property", "value": ["car", "motorcycle"]},
        "dateModified": {"type": "Property", "value": {"@type": "DateTime", "@value": "2026-11-27T08:00:00Z"}},
        "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [4.47, 51.02]}},
        "refParkingGroup": {"type": "Relationship", "object": "urn:ngsi-ld:ParkingGroup:1"},
    }


def bench_validation(tree: Path) -> dict[str, float]:
    source = SchemaSource(tree)
    model = compile_model(source, MODEL)
    terms = build_term_map(context_url(MODEL), lambda url: builtin_document(url) or source.document(url))
    entity = new_entity(parse_entity(parking(1), terms), utc_now())
    key_values = reduced_stored(entity, model.terms)
    assert model.violations(key_values) == [], model.violations(key_values)
    invalid = {**key_values, "availableSpotNumber": -1}
    return {
        "reduce to key-values (us/entity)": per_call(lambda: reduced_stored(entity, model.terms)),
        "validate, valid (us/entity)": per_call(lambda: model.violations(key_values)),
        "reduce + validate (us/entity)": per_call(lambda: model.violations(reduced_stored(entity, model.terms))),
        "validate, invalid, listing violations (us/entity)": per_call(lambda: model.violations(invalid)),
    }


async def bench_creates(tree: Path, requests: int, concurrency: int) -> dict[str, float]:
    link = f'<{context_url(MODEL)}>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'
    results = {}
    rounds: dict[str, list[float]] = {"off": [], "enforce": []}
    for round_number in range(3):  # alternate, so that the machine's drift hits both alike
        for policy in ("off", "enforce"):
            rounds[policy].append(await _creates(tree, policy, link, requests, concurrency, round_number))
    for policy, rates in rounds.items():
        results[f"HTTP POST /entities, {policy} (requests/s, median of 3)"] = statistics.median(rates)
    off, enforce = (results[f"HTTP POST /entities, {p} (requests/s, median of 3)"] for p in ("off", "enforce"))
    results["enforce against off (% slower)"] = (off - enforce) / off * 100
    return results


async def _creates(tree: Path, policy: str, link: str, requests: int, concurrency: int, round_number: int) -> float:
    with tempfile.TemporaryDirectory() as directory:
        env = {**os.environ, "SCIFI_SDM_DIR": str(tree), "SCIFI_SDM_MODELS": MODEL, "SCIFI_SDM_POLICY": policy}
        server = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "broker.cli", "serve", "--host", "127.0.0.1", "--port", str(PORT),
            "--data-dir", directory, "--log-level", "warning", cwd=ROOT, env=env,
        )
        try:
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
                await wait_ready(session, f"http://127.0.0.1:{PORT}")
                bodies = iter([parking(round_number * requests + n) for n in range(requests)])

                async def client() -> None:
                    for body in bodies:
                        async with session.post(f"http://127.0.0.1:{PORT}/ngsi-ld/v1/entities", json=body,
                                                headers={"Link": link}) as response:
                            assert response.status == 201, await response.text()
                start = time.perf_counter()
                await asyncio.gather(*(client() for _ in range(concurrency)))
                return requests / (time.perf_counter() - start)
        finally:
            server.terminate()
            await server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sdm-dir", type=Path,
                        default=os.environ.get("SCIFI_SDM_DIR") or ROOT / "tests" / "data" / "smart-data-models")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    results = {**bench_validation(args.sdm_dir), **asyncio.run(bench_creates(args.sdm_dir, args.requests,
                                                                              args.concurrency))}
    width = max(map(len, results))
    for name, value in results.items():
        print(f"{name:<{width}}  {value:10.1f}")


if __name__ == "__main__":
    main()

"""Query hot paths over 10k and 100k entities: type + q with limit 20, 'near' over points, and orderBy.

    python -m bench.queries [--sizes 10000 100000] [--runs 50] [--store sqlite|mongodb] [--json FILE]
                            [--fresh-counts]

The ratio of the medians at the two sizes shows whether an index answers the query (about 1) or a
scan does (about 10). A count visits every match, so it grows with the number of matches. `--json` also
writes the medians to FILE: {"sizes": [...], "median_ms": {query: [one per size]}} (for `make bench`).
Each query is run again and again, so the SQLite planner's counts of its conditions are those of a moment
ago after the first run; `--fresh-counts` has them counted for every run (as a query never seen before).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import time
from pathlib import Path
from typing import Any

from bench.stores import add_store_option, store_label, store_url
from broker.store import EntityQuery, EntityStore, creation, open_store, sqlite_plan
from ngsi_ld.context import build_term_map
from ngsi_ld.entity import parse_entity
from ngsi_ld.query import EntitySelector, Selection, parse_q
from ngsi_ld.query.geo import parse_geo_query
from ngsi_ld.query.order import parse_order_by
from ngsi_ld.typeexpr import parse_types
from ngsi_ld.updates import new_entity
from ngsi_ld.values import utc_now

TERMS = build_term_map(None, lambda url: None)
TYPES = ("OffStreetParking", "ParkingSpot", "AirQualityObserved", "TrafficFlowObserved")


def entity(number: int, rng: random.Random) -> dict[str, Any]:
    return {
        "id": f"urn:ngsi-ld:{TYPES[number % 4]}:{number}",
        "type": TYPES[number % 4],
        "availableSpotNumber": {"type": "Property", "value": rng.randrange(0, 1000),
                                "observedAt": "2026-11-27T08:00:00Z"},
        "status": {"type": "Property", "value": rng.choice(["free", "occupied", "closed"])},
        "location": {"type": "GeoProperty",
                     "value": {"type": "Point", "coordinates": [rng.uniform(2.5, 6.4), rng.uniform(49.5, 51.5)]}},
    }


async def median_ms(store: EntityStore, query: EntityQuery, runs: int) -> float:
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        await store.query("", query)
        timings.append((time.perf_counter() - start) * 1000)
    return statistics.median(timings)


PARKING = (EntitySelector(types=parse_types("OffStreetParking", TERMS.expand)),)
BROAD_Q = parse_q('availableSpotNumber>900;status=="free"', TERMS.expand)
FULLEST = parse_order_by("availableSpotNumber;desc", TERMS.expand)
QUERIES = {
    "type + q (limit 20)": EntityQuery(Selection(PARKING, q=BROAD_Q)),
    "type + selective q (limit 20)": EntityQuery(Selection(PARKING, q=parse_q("availableSpotNumber==7", TERMS.expand))),
    "q alone (limit 20)": EntityQuery(Selection(q=BROAD_Q)),
    "type + q, count=true (limit 20)": EntityQuery(Selection(PARKING, q=BROAD_Q), count=True),
    "near;maxDistance==2000 (limit 20)": EntityQuery(Selection(
        geo=parse_geo_query("near;maxDistance==2000", "Point", "[4.4777,51.0259]", None, TERMS.expand),
    )),
    "type, orderBy desc (limit 10)": EntityQuery(Selection(PARKING), limit=10, order=FULLEST),
    "type + q, orderBy desc (limit 20)": EntityQuery(Selection(PARKING, q=BROAD_Q), order=FULLEST),
    "type + sel. q, orderBy (limit 20)": EntityQuery(
        Selection(PARKING, q=parse_q("availableSpotNumber<8", TERMS.expand)), order=FULLEST),
}


async def load(store: EntityStore, size: int, batch: int = 1000) -> float:
    """Stores `size` entities, `batch` to a transaction (as a batch create does); returns entities/s."""
    rng = random.Random(size)
    now = utc_now()
    start = time.perf_counter()
    for first in range(0, size, batch):
        changes = [creation(new_entity(parse_entity(entity(number, rng), TERMS), now))
                   for number in range(first, min(first + batch, size))]
        outcomes = await store.write("", changes, create_tenant=True)
        assert not any(outcome.error for outcome in outcomes), outcomes
    return size / (time.perf_counter() - start)


async def measure(url: str, size: int, runs: int) -> dict[str, float]:
    """The median milliseconds of each query over `size` entities in the empty store at `url`."""
    async with open_store(url) as store:
        rate = await load(store, size)
        print(f"{size} entities loaded at {rate:.0f}/s (with query index, 1,000 to a transaction)")
        return {name: await median_ms(store, query, runs) for name, query in QUERIES.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--json", type=Path, help="also write the medians to this file")
    parser.add_argument("--fresh-counts", action="store_true",
                        help="count the SQLite planner's conditions on every run (no count of the last second)")
    add_store_option(parser)
    args = parser.parse_args()
    if args.fresh_counts:
        sqlite_plan.SIZE_SECONDS = 0.0
    print(store_label(args.store))
    results: dict[str, list[float]] = {name: [] for name in QUERIES}
    for size in args.sizes:
        with store_url(args.store) as url:
            for name, median in asyncio.run(measure(url, size, args.runs)).items():
                results[name].append(median)
    header = "".join(f"{size:>12}" for size in args.sizes)
    print(f"{'median ms':<36}{header}{'ratio':>8}")
    for name, medians in results.items():
        cells = "".join(f"{median:12.2f}" for median in medians)
        print(f"{name:<36}{cells}{medians[-1] / medians[0]:8.2f}")
    if args.json:
        args.json.write_text(json.dumps({"sizes": args.sizes, "median_ms": results}, indent=1))


if __name__ == "__main__":
    main()

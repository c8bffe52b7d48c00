"""Notifications: matching cost against many subscriptions, and delivery over HTTP end to end.

    python -m bench.notifications [--updates N] [--concurrency C] [--subscriptions S] [--workers W]
                                  [--store sqlite|mongodb]

End to end: a broker process, and a receiver in this process; C clients update entities (N updates in all),
S subscriptions watch them. Reports notifications delivered per second and the latency from sending an
update to receiving its notification (p50, p99).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from typing import Any

import aiohttp
from aiohttp import web

from bench.entities import ROOT, parking, per_call, wait_ready
from bench.stores import add_store_option, store_label, store_url
from broker.store import StoredSubscription, open_store
from ngsi_ld.context import build_term_map
from ngsi_ld.entity import parse_entity
from ngsi_ld.updates import new_entity
from ngsi_ld.values import utc_now
from subscriptions.matcher import Matcher, event_of
from subscriptions.model import parse_subscription
from subscriptions.notification import event_data

PORT = 18997
RECEIVER_PORT = 18996


def _subscription(number: int, entity_type: str, terms: Any) -> Any:
    payload = {"id": f"urn:ngsi-ld:Subscription:{number}", "type": "Subscription",
               "entities": [{"type": entity_type}], "q": "speed>10",
               "notification": {"endpoint": {"uri": "http://127.0.0.1:9/n"}}}
    return parse_subscription(payload, terms, None)


def bench_matching() -> dict[str, float]:
    """Microseconds to find and render the notifications of one change, beside 0 or 10,000 subscriptions
    that cannot match it (other types)."""
    terms = build_term_map(None, lambda url: None)
    before = new_entity(parse_entity({"id": "urn:ngsi-ld:Car:1", "type": "Car",
                                      "speed": {"type": "Property", "value": 50}}, terms), utc_now())
    after = {**before, "attrs": {**before["attrs"], terms.expand("speed"): [{"type": "Property", "value": 60}]}}
    event = event_of(before, after)
    mine = [_subscription(n, "Car", terms) for n in range(1)]
    others = [_subscription(n, f"Bus{n}", terms) for n in range(1, 10_001)]
    alone, crowded = Matcher(mine), Matcher(mine + others)
    assert len(alone.matching(event, time.time())) == len(crowded.matching(event, time.time())) == 1
    return {
        "match, 1 subscription (us/change)": per_call(lambda: alone.matching(event, time.time())),
        "match, 1 + 10,000 of other types (us/change)": per_call(lambda: crowded.matching(event, time.time())),
        "render the notification data (us/change)": per_call(lambda: event_data(mine[0], event, utc_now())),
    }


async def bench_outbox(count: int, kind: str) -> dict[str, float]:
    """Sequential store creates in a tenant without subscriptions, and in one with a subscription, where each
    write also records its change for the notifier (the outbox)."""
    terms = build_term_map(None, lambda url: None)
    results = {}
    for label, subscribed in (("no subscription", False), ("a subscription: + outbox", True)):
        entities = [new_entity(parse_entity(parking(n), terms), utc_now()) for n in range(count)]
        with store_url(kind) as url:
            async with open_store(url) as store:
                if subscribed:
                    await store.create_subscription("", StoredSubscription(
                        "urn:ngsi-ld:Subscription:1", {}, None, utc_now(), utc_now(), {}))
                start = time.perf_counter()
                for entity in entities:
                    await store.create("", entity)
                results[f"store create, {label} (entities/s)"] = count / (time.perf_counter() - start)
    return results


async def bench_delivery(
        updates: int, concurrency: int, subscriptions: int, workers: int, url: str) -> dict[str, float]:
    sent: dict[tuple[str, int], float] = {}
    latencies: list[float] = []
    arrivals: list[float] = []
    messages = [0]
    expected = updates * subscriptions
    done = asyncio.Event()

    async def receive(request: web.Request) -> web.Response:
        now = time.perf_counter()
        body = await request.json()
        messages[0] += 1
        for entity in body["data"]:
            if "speed" not in entity:
                continue  # the notification of the entity's creation
            latencies.append(now - sent[(entity["id"], entity["speed"]["value"])])
            arrivals.append(now)
        if len(arrivals) >= expected:
            done.set()
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/notify", receive)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", RECEIVER_PORT).start()
    with tempfile.TemporaryDirectory() as directory:
        server = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "broker.cli", "serve", "--host", "127.0.0.1", "--port", str(PORT),
            "--data-dir", directory, "--log-level", "warning", "--workers", str(workers), cwd=ROOT,
            env={**os.environ, "SCIFI_STORE": url},
        )
        base = f"http://127.0.0.1:{PORT}/ngsi-ld/v1"
        try:
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
                await wait_ready(session, f"http://127.0.0.1:{PORT}")
                for _ in range(subscriptions):
                    await _post(session, f"{base}/subscriptions", {
                        "type": "Subscription", "entities": [{"type": "Car"}],
                        "notification": {"endpoint": {"uri": f"http://127.0.0.1:{RECEIVER_PORT}/notify"}}})
                ids = [f"urn:ngsi-ld:Car:bench-{n}" for n in range(concurrency)]
                for entity_id in ids:
                    await _post(session, f"{base}/entities", {"id": entity_id, "type": "Car"})
                await asyncio.sleep(0.5)
                latencies.clear()
                arrivals.clear()
                messages[0] = 0
                start = time.perf_counter()
                await asyncio.gather(*(_updates(session, base, entity_id, updates // concurrency, sent)
                                       for entity_id in ids))
                await asyncio.wait_for(done.wait(), 120)
        finally:
            server.terminate()
            await server.wait()
            await runner.cleanup()
    latencies.sort()
    return {
        "changes notified (per s)": len(arrivals) / (max(arrivals) - start),
        "notification messages (per s)": messages[0] / (max(arrivals) - start),
        "update -> receipt latency p50 (ms)": statistics.median(latencies) * 1000,
        "update -> receipt latency p99 (ms)": latencies[int(len(latencies) * 0.99) - 1] * 1000,
    }


async def _updates(session: aiohttp.ClientSession, base: str, entity_id: str, count: int,
                   sent: dict[tuple[str, int], float]) -> None:
    for value in range(1, count + 1):
        sent[(entity_id, value)] = time.perf_counter()
        async with session.post(f"{base}/entities/{entity_id}/attrs",
                                json={"speed": {"type": "Property", "value": value}}) as response:
            assert response.status == 204, await response.text()


async def _post(session: aiohttp.ClientSession, url: str, body: dict[str, Any]) -> None:
    async with session.post(url, json=body) as response:
        assert response.status == 201, await response.text()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--updates", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--subscriptions", type=int, default=1)
    parser.add_argument("--workers", type=int, default=1)
    add_store_option(parser)
    args = parser.parse_args()
    results = {**bench_matching(), **asyncio.run(bench_outbox(2000, args.store))}
    with store_url(args.store) as url:
        results.update(asyncio.run(bench_delivery(args.updates, args.concurrency, args.subscriptions,
                                                  args.workers, url)))
    print(store_label(args.store))
    width = max(map(len, results))
    for name, value in results.items():
        print(f"{name:<{width}}  {value:10.1f}")


if __name__ == "__main__":
    main()

"""The notifiers on their own, against a real HTTP server: the limit of notifications in flight per
endpoint, timeouts, and answers that are not 2xx."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web

from subscriptions.model import Endpoint
from subscriptions.notifiers import DeliveryError, Notifiers


async def serve(delay: float, status: int = 204) -> tuple[web.AppRunner, str, list[int]]:
    """A server that answers after `delay`; the list holds how many requests it had in hand, at each one."""
    in_hand: list[int] = []
    current = [0]

    async def receive(request: web.Request) -> web.Response:
        current[0] += 1
        in_hand.append(current[0])
        await asyncio.sleep(delay)
        current[0] -= 1
        return web.Response(status=status)
    app = web.Application()
    app.router.add_post("/{path:.*}", receive)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}", in_hand


@pytest.mark.parametrize("limit", [1, 3])
def test_notifications_in_flight_per_endpoint_are_limited(limit: int) -> None:
    async def scenario() -> list[int]:
        runner, base, in_hand = await serve(0.1)
        notifiers = Notifiers(timeout=5, per_endpoint=limit)
        try:
            await asyncio.gather(*(notifiers.send(Endpoint(f"{base}/s{n}"), b"{}", {}, "") for n in range(6)))
        finally:
            await notifiers.aclose()
            await runner.cleanup()
        return in_hand
    assert max(asyncio.run(scenario())) == limit


def test_a_slow_receiver_times_out_and_an_error_status_fails() -> None:
    async def scenario() -> tuple[str, str]:
        slow, slow_base, _ = await serve(2.0)
        failing, failing_base, _ = await serve(0.0, status=500)
        notifiers = Notifiers(timeout=5, per_endpoint=4)
        messages = []
        try:
            for endpoint in (Endpoint(f"{slow_base}/x", timeout=0.2), Endpoint(f"{failing_base}/x")):
                with pytest.raises(DeliveryError) as caught:
                    await notifiers.send(endpoint, b"{}", {}, "")
                messages.append(str(caught.value))
        finally:
            await notifiers.aclose()
            await slow.cleanup()
            await failing.cleanup()
        return messages[0], messages[1]
    timed_out, refused = asyncio.run(scenario())
    assert "timed out" in timed_out and refused == "HTTP 500"

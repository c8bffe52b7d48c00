"""Fixtures of the conformance tests: our broker in a process, a broker that is wrong in known ways (a proxy in
front of ours), and a way to run `scifi conformance` and read its JSON report."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import ClientSession, web
from multidict import CIMultiDict, MultiDict

from broker.cli import main
from tests.conftest import BrokerProcess, free_port

API = "/ngsi-ld/v1"
DEAD_ENDPOINT = "http://127.0.0.1:9/never"


@pytest.fixture(scope="module")
def our_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    process = BrokerProcess(tmp_path_factory.mktemp("conformance-broker")).start()
    yield process
    process.stop()


@dataclass
class Run:
    status: int
    report: dict[str, Any]
    raw: bytes

    def outcomes(self, outcome: str) -> set[str]:
        return {result["id"] for result in self.report["mim1"]["results"] if result["outcome"] == outcome}


def run_conformance(url: str, tmp_path: Path, *options: str) -> Run:
    """`scifi conformance --broker url ... --json FILE`, in this process; its exit status and JSON report."""
    report = tmp_path / f"report-{len(list(tmp_path.iterdir()))}.json"
    status = main(["conformance", "--broker", url, "--json", str(report), "--timeout", "5", *options])
    raw = report.read_bytes() if report.exists() else b"{}"
    return Run(status, orjson.loads(raw), raw)


class FaultyBroker:
    """Our broker behind a proxy that is wrong in five known ways:

    - Delete Entity answers 200 instead of 204;
    - Create Entity answers 201 without a Location header;
    - options=keyValues is ignored on GET;
    - a subscription with a q never notifies (its endpoint is replaced by a dead one);
    - a 409 error has a text/plain body instead of ProblemDetails.
    """

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FaultyBroker:
        self.thread.start()
        assert self.ready.wait(10), "the faulty broker did not start"
        return self

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self._forward)
        runner = web.AppRunner(app, access_log=None)
        self.loop.run_until_complete(runner.setup())
        self.loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", self.port).start())
        self.session = self.loop.run_until_complete(_client_session())
        self.ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(self.session.close())
        self.loop.run_until_complete(runner.cleanup())
        self.loop.close()

    async def _forward(self, request: web.Request) -> web.Response:
        body = await request.read()
        query = MultiDict(request.query)
        if request.method == "GET" and "options" in query:
            kept = [o for o in query.popall("options") for o in o.split(",") if o != "keyValues"]
            if kept:
                query["options"] = ",".join(kept)
        if request.method == "POST" and request.path == f"{API}/subscriptions" and body:
            subscription = orjson.loads(body)
            if isinstance(subscription, dict) and "q" in subscription:
                subscription["notification"]["endpoint"]["uri"] = DEAD_ENDPOINT
                body = orjson.dumps(subscription)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        async with self.session.request(request.method, self.upstream + request.path, params=query, data=body,
                                        headers=headers, allow_redirects=False) as answer:
            content = await answer.read()
            status = answer.status
            answered = CIMultiDict((k, v) for k, v in answer.headers.items()
                                   if k.lower() not in ("content-length", "transfer-encoding", "content-encoding"))
        if request.method == "DELETE" and re.fullmatch(f"{API}/entities/[^/]+", request.path) and status == 204:
            status = 200
        if request.method == "POST" and request.path == f"{API}/entities" and status == 201:
            answered.popall("Location", None)
        if status == 409:
            content, answered["Content-Type"] = b"Conflict", "text/plain"
        return web.Response(status=status, body=content, headers=answered)


async def _client_session() -> ClientSession:
    return ClientSession()


@pytest.fixture(scope="module")
def faulty_broker(our_broker: BrokerProcess) -> Iterator[FaultyBroker]:
    proxy = FaultyBroker(our_broker.url).start()
    yield proxy
    proxy.stop()

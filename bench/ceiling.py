"""The ceiling of the HTTP benchmarks: a trivial Starlette app on the stack `scifi serve` runs.

    python -m bench.ceiling [--port P] [--workers W]

Every GET answers 200 with a small JSON body, every POST, PATCH or PUT reads its body and answers 204, at
once (it also serves as the receiver of notifications): what remains of a request's cost is the stack's own
(uvicorn with uvloop and httptools, as broker/cli.py starts it, Starlette), which no broker can go below.
"""

from __future__ import annotations

import argparse

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

BODY = b'{"id":"urn:ngsi-ld:OffStreetParking:1","type":"OffStreetParking"}'


async def read(request: Request) -> Response:
    return Response(BODY, media_type="application/json")


async def write(request: Request) -> Response:
    await request.body()
    return Response(status_code=204)


def create_app() -> Starlette:
    return Starlette(routes=[Route("/{path:path}", read, methods=["GET"]),
                             Route("/{path:path}", write, methods=["POST", "PATCH", "PUT"])])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18990)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    uvicorn.run("bench.ceiling:create_app", factory=True, host=args.host, port=args.port, workers=args.workers,
                loop="uvloop", http="httptools", log_level="warning", access_log=False)


if __name__ == "__main__":
    main()

"""Service endpoints outside the NGSI-LD API: version and health."""

from __future__ import annotations

import os

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from broker import __version__
from broker.http import json_response
from ngsi_ld.context import CORE_CONTEXT_URL

__all__ = ["routes"]

SPEC_VERSION = "1.8.1"


async def version(request: Request) -> Response:
    return json_response({
        "name": "scifi",
        "version": __version__,
        "specVersion": SPEC_VERSION,
        "coreContext": CORE_CONTEXT_URL,
        "store": request.app.state.settings.store_url.partition("://")[0],
    })


async def health(request: Request) -> Response:
    await request.app.state.store.ping()
    notifier = "leading" if request.app.state.notifier.leading else "standby"
    validator = request.app.state.validator
    violations = [] if validator is None else [
        {"tenant": tenant, "model": model, "policy": policy, "entities": count}
        for (tenant, model, policy), count in sorted(validator.counts.items())
    ]
    return json_response({"status": "ok", "worker": os.getpid(), "notifier": notifier,
                          "modelViolations": violations})


routes = [Route("/version", version, methods=["GET"]), Route("/health", health, methods=["GET"])]

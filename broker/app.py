"""The ASGI application: routes of every API area, error rendering, and the resources of one process."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import fields

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from broker import (
    attributes,
    batch,
    entities,
    entity_attributes,
    entity_query,
    jsonld_contexts,
    subscriptions,
    system,
    types,
)
from broker.auth import guarded_routes, open_authenticator
from broker.context_store import ContextStore
from broker.contexts import ContextResolver
from broker.http import json_response
from broker.logs import LOG_STATE, REQUEST_ID, RequestLog, configure_logging, escaped, internal_detail
from broker.notifier import Notifier
from broker.openapi import openapi_route
from broker.parameters import checked_route
from broker.paths import EncodedSlashes
from broker.settings import Settings
from broker.store import open_store
from broker.validation import ValidationWarnings, known_document, open_source, open_validator, validation_hook
from ngsi_ld.errors import ERROR_TYPE_BASE, LengthRequired, NgsiLdError, UnsupportedMediaType
from ngsi_ld.limits import Limits, configure
from ngsi_ld.values import utc_now
from subscriptions.outbound import OutboundPolicy, open_resolver, parse_rules

__all__ = ["api_routes", "create_app", "limits_of", "outbound_policy"]


_HTTP_ERRORS = {404: "ResourceNotFound", 405: "OperationNotSupported"}
_INSIDE = {500: "", 503: "The store cannot be reached for now; try again later"}
"""The answers whose detail is the broker's own (500: where to look in the log) rather than the cause's."""
errors = logging.getLogger("scifi.errors")


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings.from_env()
    configure_logging(settings.log_level)
    configure(limits_of(settings))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.started_at = utc_now()
        app.state.store = open_store(settings.store_url)
        app.state.store.query_timeout = settings.query_timeout
        source, validation = open_source(settings)
        await app.state.store.open()
        app.state.context_store = ContextStore(app.state.store.context_documents(settings.data_dir))
        outbound = app.state.outbound = outbound_policy(settings)
        app.state.contexts = ContextResolver(app.state.context_store, settings.context_timeout,
                                             settings.context_cache_size, known_document(source), outbound,
                                             settings.max_context_bytes)
        app.state.validator = await open_validator(source, validation)
        if app.state.validator is not None:
            app.state.store.validate = validation_hook(app.state.validator)
        notifier = app.state.notifier = Notifier(app.state.store, app.state.contexts, settings, outbound)
        app.state.store.on_change = notifier.wake
        notifier.start()
        _freeze_startup_objects()
        try:
            yield
        finally:
            await notifier.aclose()
            await app.state.contexts.aclose()
            await outbound.aclose()
            await app.state.store.aclose()

    api = guarded_routes(api_routes(), open_authenticator(settings))
    return Starlette(
        routes=[Mount("/ngsi-ld/v1", routes=api), *system.routes],
        middleware=[Middleware(RequestLog), Middleware(ValidationWarnings), Middleware(EncodedSlashes)],
        exception_handlers={NgsiLdError: _problem, HTTPException: _http_problem},
        lifespan=lifespan,
    )


def _freeze_startup_objects() -> None:
    """Leaves the objects made so far (modules, routes, schemas, the core @context: over 100,000) out of the
    garbage collector's walks: they live as long as the process, and each full collection walked them all
    (100 to 190 ms of a worker's time, seen during batch loads)."""
    gc.collect()
    gc.freeze()


def outbound_policy(settings: Settings) -> OutboundPolicy:
    """What notification endpoints and remote @contexts may be called, by the settings."""
    return OutboundPolicy(parse_rules(settings.outbound_allow), parse_rules(settings.outbound_deny),
                          open_resolver(settings.resolver))


def api_routes() -> list[Route]:
    """The routes of the NGSI-LD API (under /ngsi-ld/v1), each checking its URL parameters, and the route of
    their OpenAPI document."""
    areas = (entities, entity_attributes, batch, entity_query, types, attributes, subscriptions, jsonld_contexts)
    api = [checked for area in areas for route in area.routes for checked in checked_route(route)]
    return api + checked_route(openapi_route(api))


def limits_of(settings: Settings) -> Limits:
    """The limits of requests that the settings give (each limit is the setting max_<name>)."""
    return Limits(**{limit.name: getattr(settings, f"max_{limit.name}") for limit in fields(Limits)})


async def _problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, NgsiLdError)
    _log_error(request, exc.name)
    if isinstance(exc, (UnsupportedMediaType, LengthRequired)):
        return Response(status_code=exc.status)  # clause 6.3.4: "just a 411 / 415 ... without any payload body"
    problem = exc.problem()
    if exc.status in _INSIDE:  # what failed inside the broker (a database's address, say) is for its log
        errors.warning('%s detail="%s"', exc.name, escaped(exc.detail, 500))
        problem["detail"] = _INSIDE[exc.status] or internal_detail(REQUEST_ID.get())
    return json_response(problem, status=exc.status, headers=exc.headers)


async def _http_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    name = _HTTP_ERRORS.get(exc.status_code, "BadRequestData" if exc.status_code < 500 else "InternalError")
    _log_error(request, name)
    problem = {"type": ERROR_TYPE_BASE + name, "title": exc.detail, "status": exc.status_code,
               "detail": f"{exc.detail}: {request.method} {request.url.path}"}
    return json_response(problem, status=exc.status_code, headers=exc.headers)


def _log_error(request: Request, name: str) -> None:
    """Tells the request's log line which error the request is answered with."""
    state = request.scope.get(LOG_STATE)
    if state is not None:
        state["error"] = name

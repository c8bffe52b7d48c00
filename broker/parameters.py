"""The URL parameters each operation takes; any other one is refused before the operation starts.

The lists follow the OpenAPI document of v1.8.1 (ngsi-ld-api-v1.8.1.yaml), with three corrections: `offset`
wherever there is `limit` (clause 6.3.10 defines both; the document forgets it), `entityMap` where the
document's parameter Query.entityMap is misnamed `details`, and the parameters of operations added after
v1.8.1 that the broker implements (`orderBy`, and the Purge Entities of v1.9).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ngsi_ld.errors import BadRequestData, InvalidRequest

__all__ = ["ALLOWED", "check_parameters", "checked_route"]

Endpoint = Callable[[Request], Awaitable[Response]]

_GEO_QUERY = ("georel", "geometry", "coordinates", "geoproperty")
_LINKED = ("join", "joinLevel", "containedBy", "entityMap")
_PAGE = ("limit", "offset", "count")
_REPRESENTATION = ("attrs", "pick", "omit", "geometryProperty", "lang", "datasetId", "options", "format")
_SELECTION = ("id", "type", "idPattern", "q", "scopeQ", "csf", *_GEO_QUERY)


def _allowed(*names: str) -> frozenset[str]:
    return frozenset({"local", *names})


ALLOWED: dict[tuple[str, str], frozenset[str]] = {
    ("POST", "/entities"): _allowed(),
    ("GET", "/entities"): _allowed(*_SELECTION, *_REPRESENTATION, *_LINKED, *_PAGE, "orderBy"),
    ("DELETE", "/entities"): _allowed("id", "type", "idPattern", "attrs", "q", "scopeQ", *_GEO_QUERY),
    ("PUT", "/entities"): _allowed("type"),
    ("PATCH", "/entities"): _allowed("type", "options", "format", "observedAt", "lang"),
    ("GET", "/entities/{}"): _allowed("type", *_REPRESENTATION, *_LINKED),
    ("DELETE", "/entities/{}"): _allowed("type"),
    ("PATCH", "/entities/{}"): _allowed("type", "options", "format", "observedAt", "lang"),
    ("PUT", "/entities/{}"): _allowed("type"),
    ("POST", "/entities/{}/attrs"): _allowed("type", "options"),
    ("PATCH", "/entities/{}/attrs"): _allowed("type"),
    ("PATCH", "/entities/{}/attrs/{}"): _allowed("type"),
    ("PUT", "/entities/{}/attrs/{}"): _allowed("type"),
    ("DELETE", "/entities/{}/attrs/{}"): _allowed("type", "deleteAll", "datasetId"),
    ("POST", "/entityOperations/create"): _allowed(),
    ("POST", "/entityOperations/upsert"): _allowed("options"),
    ("POST", "/entityOperations/update"): _allowed("options"),
    ("POST", "/entityOperations/merge"): _allowed(),
    ("POST", "/entityOperations/delete"): _allowed(),
    ("POST", "/entityOperations/query"): _allowed(*_PAGE, "options", "format", "geometryProperty", *_LINKED, "orderBy"),
    ("GET", "/types"): _allowed("details"),
    ("GET", "/types/{}"): _allowed(),
    ("GET", "/attributes"): _allowed("details"),
    ("GET", "/attributes/{}"): _allowed(),
    ("POST", "/subscriptions"): _allowed(),
    ("GET", "/subscriptions"): _allowed(*_PAGE, "options"),
    ("GET", "/subscriptions/{}"): _allowed("options"),
    ("PATCH", "/subscriptions/{}"): _allowed(),
    ("DELETE", "/subscriptions/{}"): _allowed(),
    ("POST", "/jsonldContexts"): frozenset(),
    ("GET", "/jsonldContexts"): frozenset({"details", "kind"}),
    ("GET", "/jsonldContexts/{}"): frozenset({"details"}),
    ("DELETE", "/jsonldContexts/{}"): frozenset({"reload"}),
    ("GET", "/entityMap/{}"): frozenset(),
    ("PATCH", "/entityMap/{}"): frozenset(),
    ("DELETE", "/entityMap/{}"): frozenset(),
    ("GET", "/openapi.json"): frozenset(),
}
"""The parameters of each operation, by method and path (its path parameters written {})."""

_PATH_PARAMETER = re.compile(r"\{[^}]*\}")


def check_parameters(request: Request, allowed: frozenset[str]) -> None:
    """InvalidRequest when the request has a URL parameter that its operation does not take (clause 5.5.2);
    BadRequestData when `local`, which every operation takes (and most ignore), is not true or false."""
    if not request.scope["query_string"]:
        return
    unknown = [name for name in request.query_params if name not in allowed]
    if unknown:
        raise InvalidRequest(f"Unknown URL parameter(s) for this operation: {', '.join(unknown)}")
    local = request.query_params.get("local")
    if local not in (None, "true", "false"):
        raise BadRequestData(f"Parameter 'local' must be true or false, got '{local}'")


def checked_route(route: BaseRoute) -> list[Route]:
    """The route, one per method, each checking the request's parameters against ALLOWED before its endpoint."""
    assert isinstance(route, Route) and route.methods, f"not an API route: {route!r}"
    shape = _PATH_PARAMETER.sub("{}", route.path)
    checked = []
    for method in sorted(route.methods - {"HEAD"}):
        assert (method, shape) in ALLOWED, f"broker.parameters.ALLOWED has no entry for {method} {shape}"
        endpoint = _checking(route.endpoint, ALLOWED[method, shape])
        checked.append(Route(route.path, endpoint, methods=[method], name=route.name))
    return checked


def _checking(endpoint: Endpoint, allowed: frozenset[str]) -> Endpoint:
    async def checked(request: Request) -> Response:
        check_parameters(request, allowed)
        return await endpoint(request)
    return checked

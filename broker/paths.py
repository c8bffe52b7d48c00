"""The entity a request's path aims at: its id, attribute name and type selector.

Entity ids and attribute names may contain '/' (sent as %2F) and stay one path segment each.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import unquote

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from ngsi_ld.entity import Entity, check_entity_id
from ngsi_ld.errors import ResourceNotFound
from ngsi_ld.typeexpr import TypeExpr, matches_types, parse_types

__all__ = ["EncodedSlashes", "attribute_name_of", "entity_id_of", "selected_entity", "type_selector_of"]


class EncodedSlashes:
    """Keeps %2F (and %25) encoded in the routed path, so that one path segment stays one parameter."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw_path = scope.get("raw_path")
        if scope["type"] == "http" and raw_path and b"%" in raw_path:
            path = raw_path.decode("latin-1").split("?")[0]
            segments = [unquote(s).replace("%", "%25").replace("/", "%2F") for s in path.split("/")]
            scope = {**scope, "path": "/".join(segments)}
        await self.app(scope, receive, send)


def entity_id_of(request: Request) -> str:
    entity_id = unquote(request.path_params["entity_id"])
    check_entity_id(entity_id)
    return entity_id


def attribute_name_of(request: Request) -> str:
    return unquote(request.path_params["attr_id"])


def type_selector_of(request: Request, expand: Callable[[str], str]) -> TypeExpr | None:
    """The entity type selection of the 'type' parameter (clause 4.17); None when absent or '*'."""
    type_param = request.query_params.get("type")
    if type_param is None or type_param == "*":
        return None
    return parse_types(type_param, expand)


def selected_entity(entity: Entity | None, entity_id: str, types: TypeExpr | None) -> Entity:
    """The entity, unless it is missing or the type selector leaves it out (ResourceNotFound)."""
    if entity is None or (types is not None and not matches_types(types, set(entity["type"]))):
        raise ResourceNotFound(f"Entity '{entity_id}' does not exist" + ("" if types is None else " with this type"))
    return entity

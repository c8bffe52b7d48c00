"""The entity a request's path aims at: its id, attribute name and type selector.

Entity ids and attribute names may contain '/' (sent as %2F) and stay one path segment each. A path
parameter written {name:segment} also matches an empty segment, so that `/entities//attrs` reaches its
operation, which refuses the empty id (BadRequestData) rather than answering 404.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import unquote

from starlette.convertors import StringConvertor, register_url_convertor
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from ngsi_ld.entity import Entity, check_entity_id
from ngsi_ld.errors import ResourceNotFound
from ngsi_ld.typeexpr import TypeExpr, matches_types, parse_types

__all__ = ["EncodedSlashes", "attribute_name_of", "entity_id_of", "selected_entity", "type_selector_of"]


class EncodedSlashes:
    """Keeps %2F (and %25) encoded in the routed path, so that one path segment stays one parameter; and
    routes a path that ends with '/' as the path without it (`POST /entities/` creates an entity), with no
    redirect: Table 6.2-1 of the specification writes the collections that way, and clients send them so."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            raw_path = scope.get("raw_path")
            path = scope["path"]
            if raw_path and b"%" in raw_path:
                segments = [unquote(s).replace("%", "%25").replace("/", "%2F") for s in
                            raw_path.decode("latin-1").split("?")[0].split("/")]
                path = "/".join(segments)
            if len(path) > 1 and path[-1] == "/":
                path = path[:-1]
            if path is not scope["path"]:
                scope = {**scope, "path": path}
        await self.app(scope, receive, send)


class _Segment(StringConvertor):
    """A path segment, possibly empty."""

    regex = "[^/]*"


register_url_convertor("segment", _Segment())


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

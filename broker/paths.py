"""Path segments that hold URIs: entity ids and attribute names may contain '/' (sent as %2F)."""

from __future__ import annotations

from urllib.parse import unquote

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from ngsi_ld.entity import check_entity_id

__all__ = ["EncodedSlashes", "attribute_name_of", "entity_id_of"]


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

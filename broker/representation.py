"""Reading the representation parameters of a request: options, format, attrs, pick, omit, lang, and the
linked entity retrieval (join, joinLevel, containedBy)."""

from __future__ import annotations

from collections.abc import Iterable

from starlette.requests import Request

from ngsi_ld.attributes import DEFAULT_DATASET
from ngsi_ld.context import TermMap
from ngsi_ld.errors import BadRequestData, InvalidRequest
from ngsi_ld.linked import Join, checked_join
from ngsi_ld.projection import ENTITY_MEMBERS, Projected, check_projection_depth, parse_projection, projected
from ngsi_ld.render import LOCATION, RenderOptions
from ngsi_ld.values import is_name, is_uri

__all__ = [
    "attribute_names", "boolean_param", "check_attribute_names", "csv_param", "join_of", "render_options",
    "representation_format",
]

_FORMATS = {"normalized": "normalized", "concise": "concise", "keyValues": "keyValues", "simplified": "keyValues"}
_OPTIONS = frozenset(_FORMATS) | {"sysAttrs"}


def csv_param(request: Request, name: str) -> list[str] | None:
    """A comma-separated list parameter, None when absent; empty items are refused."""
    raw = request.query_params.get(name)
    if raw is None:
        return None
    items = [item.strip() for item in raw.split(",")]
    if not all(items):
        raise BadRequestData(f"Parameter '{name}' has an empty item: '{raw}'")
    return items


def boolean_param(request: Request, name: str) -> bool:
    """A true/false parameter, false when absent; any other value is BadRequestData."""
    raw = request.query_params.get(name, "false")
    if raw not in ("true", "false"):
        raise BadRequestData(f"Parameter '{name}' must be true or false, got '{raw}'")
    return raw == "true"


def representation_format(request: Request) -> str:
    """normalized, concise or keyValues, from the 'format' parameter or else the 'options' one (6.3.7)."""
    return _format(request, _options(request))


def render_options(
    request: Request, terms: TermMap, *, geojson: bool = False, join: Join | None = None
) -> RenderOptions:
    """The representation a request asks for; `geojson` tells whether it is answered as GeoJSON, `join` which
    linked entities it retrieves (pick and omit may project them, clause 4.21)."""
    options = _options(request)
    attrs, pick, omit = attribute_names(request), _projection(request, "pick"), _projection(request, "omit")
    if pick is not None and omit is not None:
        raise BadRequestData("Parameters 'pick' and 'omit' cannot be used together")
    check_projection_depth(pick or omit, join)
    geometry_property = request.query_params.get("geometryProperty")
    if geometry_property is not None and not geojson:
        raise BadRequestData("Parameter 'geometryProperty' needs Accept: application/geo+json")
    rendered = RenderOptions(
        format=_format(request, options),
        sys_attrs="sysAttrs" in options,
        lang=request.query_params.get("lang") or None,
        attrs=None if attrs is None else frozenset(terms.expand(a) for a in attrs),
        geometry_property=terms.expand(geometry_property) if geometry_property else LOCATION,
        dataset_ids=_dataset_ids(csv_param(request, "datasetId")),
    )
    return projected(rendered, pick, omit, terms.expand)


def join_of(request: Request) -> Join | None:
    """The linked entity retrieval a request asks for (join, joinLevel, containedBy; clause 4.5.23), None for
    none. entityMap is only checked: EntityMaps record the context sources of a distributed query, and this
    broker has none."""
    params = request.query_params
    level = params.get("joinLevel")
    if level is not None and not level.isdigit():
        raise BadRequestData(f"Parameter 'joinLevel' must be a whole number >= 1, got '{level}'")
    boolean_param(request, "entityMap")
    return checked_join(params.get("join"), None if level is None else int(level), csv_param(request, "containedBy"),
                        request.app.state.settings.max_join_level)


def attribute_names(request: Request) -> list[str] | None:
    """The 'attrs' parameter: attribute names, which id, type and scope are not (clause 4.6.2)."""
    names = _names(request, "attrs")
    check_attribute_names(names or (), "Parameter 'attrs'")
    return names


def check_attribute_names(names: Iterable[str], where: str) -> None:
    members = [name for name in names if name in ENTITY_MEMBERS]
    if members:
        raise BadRequestData(f"{where} names entity members, not attributes: {', '.join(members)}")


def _names(request: Request, name: str) -> list[str] | None:
    """A list parameter of entity member or attribute names (clause 4.6.2)."""
    names = csv_param(request, name)
    invalid = [item for item in names or () if not is_name(item)]
    if invalid:
        raise BadRequestData(f"Parameter '{name}' holds invalid names: {', '.join(invalid)}")
    return names


def _options(request: Request) -> list[str]:
    options = csv_param(request, "options") or []
    unknown = [option for option in options if option not in _OPTIONS]
    if unknown:
        raise InvalidRequest(f"Unsupported value(s) of 'options' here: {', '.join(unknown)}")
    return options


def _format(request: Request, options: list[str]) -> str:
    explicit = request.query_params.get("format")
    if explicit is not None:
        if explicit not in _FORMATS:
            raise InvalidRequest(f"Unknown format '{explicit}'; use one of {', '.join(_FORMATS)}")
        return _FORMATS[explicit]
    formats = {_FORMATS[option] for option in options if option in _FORMATS}
    if len(formats) > 1:
        raise BadRequestData(f"'options' asks for more than one representation: {', '.join(sorted(formats))}")
    return formats.pop() if formats else "normalized"


def _dataset_ids(dataset_ids: list[str] | None) -> frozenset[str] | None:
    if dataset_ids is None:
        return None
    invalid = [item for item in dataset_ids if item != DEFAULT_DATASET and not is_uri(item)]
    if invalid:
        raise BadRequestData(f"Parameter 'datasetId' takes URIs or @none, got {', '.join(invalid)}")
    return frozenset(dataset_ids)


def _projection(request: Request, name: str) -> tuple[Projected, ...] | None:
    """A pick or omit parameter (clause 4.21)."""
    raw = request.query_params.get(name)
    return None if raw is None else parse_projection(raw, name)

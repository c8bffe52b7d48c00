"""Reading the representation parameters of a request: options, format, attrs, pick, omit, lang."""

from __future__ import annotations

from collections.abc import Iterable

from starlette.requests import Request

from ngsi_ld.attributes import DEFAULT_DATASET
from ngsi_ld.context import TermMap
from ngsi_ld.errors import BadRequestData, InvalidRequest
from ngsi_ld.render import LOCATION, RenderOptions
from ngsi_ld.values import is_name, is_uri

__all__ = [
    "attribute_names", "boolean_param", "check_attribute_names", "csv_param", "render_options", "representation_format",
]

_FORMATS = {"normalized": "normalized", "concise": "concise", "keyValues": "keyValues", "simplified": "keyValues"}
_OPTIONS = frozenset(_FORMATS) | {"sysAttrs"}
_MEMBERS = frozenset({"id", "type", "scope"})


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


def render_options(request: Request, terms: TermMap, *, geojson: bool = False) -> RenderOptions:
    """The representation a request asks for; `geojson` tells whether it is answered as GeoJSON."""
    options = _options(request)
    attrs, pick, omit = attribute_names(request), _names(request, "pick"), _names(request, "omit")
    if pick is not None and omit is not None:
        raise BadRequestData("Parameters 'pick' and 'omit' cannot be used together")
    geometry_property = request.query_params.get("geometryProperty")
    if geometry_property is not None and not geojson:
        raise BadRequestData("Parameter 'geometryProperty' needs Accept: application/geo+json")
    return RenderOptions(
        format=_format(request, options),
        sys_attrs="sysAttrs" in options,
        lang=request.query_params.get("lang") or None,
        attrs=None if attrs is None else frozenset(terms.expand(a) for a in attrs),
        pick=None if pick is None else _members(pick, terms),
        omit=frozenset() if omit is None else _members(omit, terms),
        geometry_property=terms.expand(geometry_property) if geometry_property else LOCATION,
        dataset_ids=_dataset_ids(csv_param(request, "datasetId")),
    )


def attribute_names(request: Request) -> list[str] | None:
    """The 'attrs' parameter: attribute names, which id, type and scope are not (clause 4.6.2)."""
    names = _names(request, "attrs")
    check_attribute_names(names or (), "Parameter 'attrs'")
    return names


def check_attribute_names(names: Iterable[str], where: str) -> None:
    members = [name for name in names if name in _MEMBERS]
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


def _members(names: list[str], terms: TermMap) -> frozenset[str]:
    return frozenset(name if name in _MEMBERS else terms.expand(name) for name in names)

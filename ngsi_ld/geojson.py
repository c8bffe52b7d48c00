"""Checks that a GeoProperty value is a GeoJSON geometry (IETF RFC 7946) in WGS 84 coordinates.

Every geometry type of RFC 7946 is allowed except GeometryCollection (clause 4.6.3).
"""

from __future__ import annotations

from typing import Any

from ngsi_ld.errors import BadRequestData, shown

__all__ = ["GEOMETRY_TYPES", "bounds", "check_geometry", "looks_like_geometry"]

GEOMETRY_TYPES = frozenset(
    {"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon", "GeometryCollection"}
)


def looks_like_geometry(value: Any) -> bool:
    """Whether `value` presents itself as a geometry (so a concise attribute is a GeoProperty)."""
    return (
        isinstance(value, dict)
        and _is_geometry_type(value.get("type"))
        and ("coordinates" in value or "geometries" in value)
    )


def check_geometry(value: Any) -> None:
    """Raises BadRequestData unless `value` is a valid GeoJSON geometry."""
    if not isinstance(value, dict) or not _is_geometry_type(value.get("type")):
        raise BadRequestData(f"A GeoProperty value must be a GeoJSON geometry, got {shown(value)}")
    kind = value["type"]
    if kind == "GeometryCollection":
        raise BadRequestData("A GeoProperty value cannot be a GeometryCollection (clause 4.6.3)")
    if "coordinates" not in value:
        raise BadRequestData(f"A {kind} needs 'coordinates'")
    _COORDINATE_CHECKS[kind](value["coordinates"], kind)


def bounds(geometry: dict[str, Any]) -> tuple[float, float, float, float]:
    """The bounding box (min x, min y, max x, max y) of a valid geometry: its extreme longitudes and latitudes."""
    if geometry["type"] == "GeometryCollection":
        return _enclosing([bounds(member) for member in geometry["geometries"]])
    return _coordinates_bounds(geometry["coordinates"])


def _coordinates_bounds(coords: list[Any]) -> tuple[float, float, float, float]:
    if not isinstance(coords[0], list):  # a position
        return coords[0], coords[1], coords[0], coords[1]
    return _enclosing([_coordinates_bounds(inner) for inner in coords])


def _enclosing(boxes: list[tuple[float, float, float, float]]) -> tuple[float, float, float, float]:
    return (min(box[0] for box in boxes), min(box[1] for box in boxes),
            max(box[2] for box in boxes), max(box[3] for box in boxes))


def _is_geometry_type(name: Any) -> bool:
    return isinstance(name, str) and name in GEOMETRY_TYPES


def _position(coords: Any, kind: str) -> None:
    if not isinstance(coords, list) or not 2 <= len(coords) <= 3:
        raise BadRequestData(f"A position of a {kind} must be an array of 2 or 3 numbers, got {shown(coords)}")
    if not all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in coords):
        raise BadRequestData(f"A position of a {kind} must hold numbers, got {shown(coords)}")
    longitude, latitude = coords[0], coords[1]
    if not (-180 <= longitude <= 180 and -90 <= latitude <= 90):
        raise BadRequestData(f"Position {coords} of a {kind} is outside longitude [-180, 180] / latitude [-90, 90]")


def _positions(coords: Any, kind: str, minimum: int = 1) -> None:
    if not isinstance(coords, list) or len(coords) < minimum:
        raise BadRequestData(f"A {kind} needs an array of at least {minimum} positions")
    for position in coords:
        _position(position, kind)


def _line(coords: Any, kind: str) -> None:
    _positions(coords, kind, minimum=2)


def _ring(coords: Any, kind: str) -> None:
    _positions(coords, kind, minimum=4)
    if coords[0] != coords[-1]:
        raise BadRequestData(f"A linear ring of a {kind} must end where it starts")


def _each(check: Any) -> Any:
    def check_all(coords: Any, kind: str) -> None:
        if not isinstance(coords, list) or not coords:
            raise BadRequestData(f"A {kind} needs a non-empty array of coordinates")
        for item in coords:
            check(item, kind)

    return check_all


_COORDINATE_CHECKS = {
    "Point": _position,
    "MultiPoint": _positions,
    "LineString": _line,
    "MultiLineString": _each(_line),
    "Polygon": _each(_ring),
    "MultiPolygon": _each(_each(_ring)),
}


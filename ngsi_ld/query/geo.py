"""The geo-query language (clause 4.10): georel, geometry, coordinates and geoproperty, and its evaluation.

Distances are metres on a sphere of the Earth's mean radius: exact (haversine) between two points, and
in a local equirectangular projection around the query geometry otherwise.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import shapely
from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry

from ngsi_ld.errors import BadRequestData
from ngsi_ld.geojson import check_geometry
from ngsi_ld.render import LOCATION

__all__ = ["GeoQuery", "distance_metres", "geo_matches", "parse_geo_query"]

EARTH_RADIUS = 6_371_008.8
QUERY_GEOMETRIES = ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon")
RELATIONS = ("near", "within", "contains", "intersects", "disjoint", "overlaps", "equals")


@dataclass(frozen=True, slots=True)
class GeoQuery:
    """A parsed geo-query; `geometry` is GeoJSON text, so that the query is hashable and cacheable."""

    relation: str
    geometry: str
    geoproperty: str = LOCATION
    max_distance: float | None = None
    min_distance: float | None = None

    @property
    def shape(self) -> BaseGeometry:
        return _shape(self.geometry)

    def bounding_box(self) -> tuple[float, float, float, float] | None:
        """The box (lon/lat degrees) that holds every matching geometry, or None when no box does."""
        if self.relation in ("disjoint",) or self.min_distance is not None:
            return None
        min_x, min_y, max_x, max_y = self.shape.bounds
        if self.max_distance is not None:
            grow_y = math.degrees(self.max_distance / EARTH_RADIUS)
            widest = max(abs(min_y), abs(max_y)) + grow_y
            grow_x = 360.0 if widest >= 89.9 else grow_y / math.cos(math.radians(widest))
            min_x, max_x, min_y, max_y = min_x - grow_x, max_x + grow_x, min_y - grow_y, max_y + grow_y
        return min_x, min_y, max_x, max_y

    def bounding_boxes(self) -> tuple[tuple[float, float, float, float], ...] | None:
        """Boxes within longitudes -180..180 that together hold every matching geometry, or None.

        Distances go around the Earth: the box of a 'near' that reaches the antimeridian is cut there, and
        the part beyond it continues on the other side (longitudes 180 and -180 are one meridian).
        """
        box = self.bounding_box()
        if box is None:
            return None
        min_x, min_y, max_x, max_y = box
        if max_x - min_x >= 360:
            return ((-180.0, min_y, 180.0, max_y),)
        if min_x <= -180:
            return (-180.0, min_y, max_x, max_y), (min_x + 360, min_y, 180.0, max_y)
        if max_x >= 180:
            return (min_x, min_y, 180.0, max_y), (-180.0, min_y, max_x - 360, max_y)
        return (box,)


def parse_geo_query(
    georel: str | None, geometry: str | None, coordinates: str | None, geoproperty: str | None,
    expand: Callable[[str], str],
) -> GeoQuery | None:
    """The geo-query of a request's parameters; None when it has none. BadRequestData when it is incomplete."""
    if georel is None and geometry is None and coordinates is None:
        return None
    if georel is None or geometry is None or coordinates is None:
        raise BadRequestData("A geo-query needs all of 'georel', 'geometry' and 'coordinates'")
    if geometry not in QUERY_GEOMETRIES:
        raise BadRequestData(f"Geometry '{geometry}' is not one of {', '.join(QUERY_GEOMETRIES)}")
    try:
        parsed = json.loads(coordinates)
    except json.JSONDecodeError as exc:
        raise BadRequestData(f"'coordinates' is not a JSON array: {exc.msg}") from exc
    geojson = {"type": geometry, "coordinates": parsed}
    check_geometry(geojson)
    relation, max_distance, min_distance = _relation(georel)
    if relation == "near" and geometry != "Point":
        raise BadRequestData("'near' needs a Point geometry")
    return GeoQuery(relation, json.dumps(geojson), expand(geoproperty) if geoproperty else LOCATION,
                    max_distance, min_distance)


def _relation(georel: str) -> tuple[str, float | None, float | None]:
    relation, _, rest = georel.partition(";")
    if relation not in RELATIONS:
        raise BadRequestData(f"Unknown georel '{relation}'; use one of {', '.join(RELATIONS)}")
    if relation != "near":
        if rest:
            raise BadRequestData(f"georel '{relation}' takes no modifier")
        return relation, None, None
    name, _, value = rest.partition("==")
    if name not in ("maxDistance", "minDistance"):
        raise BadRequestData("'near' needs maxDistance==<metres> or minDistance==<metres>")
    try:
        distance = float(value)
    except ValueError as exc:
        raise BadRequestData(f"'{name}' must be a number of metres, got '{value}'") from exc
    if not math.isfinite(distance) or distance < 0:
        raise BadRequestData(f"'{name}' must be a non-negative number of metres, got '{value}'")
    return "near", (distance if name == "maxDistance" else None), (distance if name == "minDistance" else None)


@lru_cache(maxsize=1024)
def _shape(geojson: str) -> BaseGeometry:
    return shape(json.loads(geojson))


def distance_metres(query: GeoQuery, geometry: dict[str, Any]) -> float:
    """The distance on the sphere between the query geometry and a GeoJSON geometry.

    Around the Earth: a geometry just over the antimeridian is as near as it is (the projection takes the
    nearest of the geometry and its copies shifted by 360 degrees of longitude, as haversine does for points).
    """
    target = shape(geometry)
    origin = query.shape
    if isinstance(origin, Point) and isinstance(target, Point):
        return _haversine(origin.x, origin.y, target.x, target.y)
    centre = origin.centroid
    scale_x = math.radians(1) * EARTH_RADIUS * math.cos(math.radians(centre.y))
    scale_y = math.radians(1) * EARTH_RADIUS

    def project(geom: BaseGeometry, shift: float = 0.0) -> BaseGeometry:
        return shapely.transform(geom, lambda xy: (xy - (centre.x - shift, centre.y)) * (scale_x, scale_y))

    projected = project(origin)
    return min(float(projected.distance(project(target, shift))) for shift in (0.0, 360.0, -360.0))


def _haversine(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    half_dphi, half_dlambda = (phi2 - phi1) / 2, math.radians(lon2 - lon1) / 2
    a = math.sin(half_dphi) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(half_dlambda) ** 2
    return 2 * EARTH_RADIUS * math.asin(min(1.0, math.sqrt(a)))


def geo_matches(query: GeoQuery, geometry: dict[str, Any]) -> bool:
    """Whether one GeoJSON geometry of an entity satisfies the geo-query."""
    if query.relation == "near":
        distance = distance_metres(query, geometry)
        if query.max_distance is not None:
            return distance <= query.max_distance
        return distance >= (query.min_distance or 0.0)
    target = shape(geometry)
    origin = query.shape
    if query.relation == "within":
        return bool(target.within(origin))
    if query.relation == "contains":
        return bool(target.contains(origin))
    if query.relation == "intersects":
        return bool(target.intersects(origin))
    if query.relation == "disjoint":
        return bool(target.disjoint(origin))
    if query.relation == "overlaps":
        return bool(target.overlaps(origin))
    return bool(target.equals(origin))

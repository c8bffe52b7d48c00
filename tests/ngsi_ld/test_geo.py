"""The geo-query language: parameters, distances on the sphere, and each georel."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import shape

from ngsi_ld.context import build_term_map
from ngsi_ld.entity import parse_entity
from ngsi_ld.errors import BadRequestData
from ngsi_ld.geojson import bounds
from ngsi_ld.query.geo import distance_metres, geo_matches, parse_geo_query
from ngsi_ld.query.selection import Selection, entity_geometries

MECHELEN = "[4.4777,51.0259]"
SQUARE = "[[[4.0,51.0],[5.0,51.0],[5.0,52.0],[4.0,52.0],[4.0,51.0]]]"


def query(georel: str, geometry: str = "Point", coordinates: str = MECHELEN):  # type: ignore[no-untyped-def]
    parsed = parse_geo_query(georel, geometry, coordinates, None, str)
    assert parsed is not None
    return parsed


def point(lon: float, lat: float) -> dict[str, object]:
    return {"type": "Point", "coordinates": [lon, lat]}


def box(west: float, south: float, east: float, north: float) -> dict[str, object]:
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}


def test_distance_between_points_is_the_great_circle_distance() -> None:
    # one degree along a meridian, and a quarter of the equator
    one_degree = distance_metres(query("near;maxDistance==1", coordinates="[4,51]"), point(4, 52))
    assert one_degree == pytest.approx(111_195, rel=1e-4)
    quarter = distance_metres(query("near;maxDistance==1", coordinates="[0,0]"), point(90, 0))
    assert quarter == pytest.approx(10_007_557, rel=1e-4)


@pytest.mark.parametrize(("georel", "target", "expected"), [
    ("near;maxDistance==2000", point(4.48, 51.04), True),
    ("near;maxDistance==1000", point(4.48, 51.04), False),
    ("near;minDistance==1000", point(4.48, 51.04), True),
    ("near;minDistance==2000", point(4.48, 51.04), False),
])
def test_near(georel: str, target: dict[str, object], expected: bool) -> None:
    assert geo_matches(query(georel), target) is expected


@pytest.mark.parametrize(("georel", "target", "expected"), [
    ("within", point(4.5, 51.5), True),
    ("within", point(3.5, 51.5), False),
    ("intersects", point(4.5, 51.5), True),
    ("disjoint", point(3.5, 51.5), True),
    ("disjoint", point(4.5, 51.5), False),
    ("contains", point(4.5, 51.5), False),
    ("equals", box(4, 51, 5, 52), True),
    ("overlaps", box(4.5, 51.5, 5.5, 52.5), True),
    ("overlaps", point(4.5, 51.5), False),
])
def test_relations_against_a_polygon(georel: str, target: dict[str, object], expected: bool) -> None:
    assert geo_matches(query(georel, "Polygon", SQUARE), target) is expected


def test_contains_a_point() -> None:
    region = {"type": "Polygon", "coordinates": [[[4.0, 51.0], [5.0, 51.0], [5.0, 52.0], [4.0, 52.0], [4.0, 51.0]]]}
    assert geo_matches(query("contains", "Point", "[4.5,51.5]"), region)


def test_bounding_box_of_near_holds_the_circle() -> None:
    box = query("near;maxDistance==2000").bounding_box()
    assert box is not None
    min_x, min_y, max_x, max_y = box
    assert min_x < 4.4777 - 0.02 and max_x > 4.4777 + 0.02 and min_y < 51.0259 - 0.017 and max_y > 51.0259 + 0.017
    assert query("near;minDistance==10").bounding_box() is None


def test_no_geo_query() -> None:
    assert parse_geo_query(None, None, None, None, str) is None


@pytest.mark.parametrize(("georel", "geometry", "coordinates"), [
    ("near;maxDistance==10", None, MECHELEN),
    ("near;maxDistance==10", "Point", None),
    (None, "Point", MECHELEN),
    ("nearby", "Point", MECHELEN),
    ("near", "Point", MECHELEN),
    ("near;maxDistance==-1", "Point", MECHELEN),
    ("near;maxDistance==x", "Point", MECHELEN),
    ("near;maxDistance==10", "Polygon", SQUARE),
    ("within", "Circle", MECHELEN),
    ("within", "Point", "[4.4,"),
    ("within", "Point", "[400,51]"),
    ("within", "Polygon", "[[[4,51],[5,51],[5,52],[4,51.5]]]"),
    ("within;x", "Point", MECHELEN),
])
def test_invalid_geo_queries(georel: str | None, geometry: str | None, coordinates: str | None) -> None:
    with pytest.raises(BadRequestData):
        parse_geo_query(georel, geometry, coordinates, None, str)


GEO_CASES = json.loads((Path(__file__).parent.parent / "query_cases" / "geo.json").read_text())


@pytest.mark.parametrize("case", GEO_CASES["cases"], ids=[f"{c['georel']} {c['geometry']}" for c in GEO_CASES["cases"]])
def test_geo_case_with_the_python_evaluator(case: dict[str, Any]) -> None:
    terms = build_term_map(None, lambda url: None)
    geo = parse_geo_query(case["georel"], case["geometry"], json.dumps(case["coordinates"]), None, terms.expand)
    assert geo is not None
    selection = Selection(geo=geo)
    entities = [parse_entity(raw, terms) for raw in GEO_CASES["given"]]
    matching = [entity for entity in entities if selection.matches(entity)]
    matching.sort(key=lambda entity: min(distance_metres(geo, g) for g in entity_geometries(entity, geo))
                  if geo.relation == "near" else 0)
    assert [entity["id"] for entity in matching] == case["result"]


def _positions(least: int) -> st.SearchStrategy[list[list[float]]]:
    return st.lists(st.tuples(st.floats(-180, 180), st.floats(-90, 90)).map(list), min_size=least, max_size=5)


_geometries = st.one_of(
    _positions(1).map(lambda positions: {"type": "Point", "coordinates": positions[0]}),
    _positions(1).map(lambda positions: {"type": "MultiPoint", "coordinates": positions}),
    st.lists(_positions(2), min_size=1, max_size=3).map(
        lambda lines: {"type": "MultiLineString", "coordinates": lines}),
    st.lists(_positions(3), min_size=1, max_size=2).map(  # polygons of an exterior ring each (holes lie within)
        lambda rings: {"type": "MultiPolygon", "coordinates": [[[*ring, ring[0]]] for ring in rings]}),
)


@settings(max_examples=200, deadline=None)
@given(st.one_of(_geometries, st.lists(_geometries, min_size=1, max_size=3).map(
    lambda members: {"type": "GeometryCollection", "geometries": members})))
def test_bounds_are_shapelys(geometry: dict[str, Any]) -> None:
    """The bounding box that the SQLite store's R*Tree holds, computed without building the shape."""
    assert bounds(geometry) == pytest.approx(shape(geometry).bounds)


def test_bounds_of_a_position_with_altitude() -> None:
    line = {"type": "LineString", "coordinates": [[4.0, 51.0, 12.0], [5.5, 50.5, 3.0]]}
    assert bounds(line) == (4.0, 50.5, 5.5, 51.0)

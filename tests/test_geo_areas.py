"""geo.areas: a catalogue of good and bad uploaded areas, swept as Shapely's own tests do."""

from __future__ import annotations

import copy
import math
import re
from typing import Any

import geopandas as gpd
import pytest
import shapely
from shapely.geometry import Polygon, mapping

from geo.areas import (
    DEFAULT_LIMITS,
    AreaLimits,
    CheckedArea,
    InvalidArea,
    check_coverage,
    parse_area,
)

# About 1.0 km by 0.56 km around Waterloo station: 0.58 km².
WATERLOO = [
    [-0.120, 51.500],
    [-0.106, 51.500],
    [-0.106, 51.505],
    [-0.120, 51.505],
    [-0.120, 51.500],
]
POLYGON = {"type": "Polygon", "coordinates": [WATERLOO]}
LAMBETH = ["E09000022"]


def km2(geometry: Any) -> float:
    return float(gpd.GeoSeries([geometry], crs=4326).to_crs(27700).area.iloc[0]) / 1e6


def square(lon: float, lat: float, side_deg: float) -> list[list[float]]:
    return [
        [lon, lat],
        [lon + side_deg, lat],
        [lon + side_deg, lat + side_deg],
        [lon, lat + side_deg],
        [lon, lat],
    ]


# --- good areas ----------------------------------------------------------------------------


GOOD = {
    "polygon": POLYGON,
    "feature": {"type": "Feature", "properties": {"name": "Bid area"}, "geometry": POLYGON},
    "multipolygon": {
        "type": "MultiPolygon",
        "coordinates": [[WATERLOO], [square(-0.100, 51.480, 0.004)]],
    },
    "with a hole": {
        "type": "Polygon",
        "coordinates": [square(-0.120, 51.490, 0.012), square(-0.116, 51.494, 0.003)],
    },
    "clockwise shell": {"type": "Polygon", "coordinates": [WATERLOO[::-1]]},
    "integer-free floats and ints mixed": {
        "type": "Polygon",
        "coordinates": [
            [[-0.12, 51.5], [-0.106, 51.5], [-0.106, 51.505], [-0.12, 51.505], [-0.12, 51.5]]
        ],
    },
}


@pytest.mark.parametrize("name", list(GOOD))
def test_good_areas_are_accepted_as_valid_2d_multipolygons(name: str) -> None:
    area = parse_area(GOOD[name])
    assert isinstance(area, CheckedArea)
    assert area.geometry.geom_type == "MultiPolygon"
    assert area.geometry.is_valid and not area.geometry.has_z
    assert not area.repaired and area.warnings == ()
    assert area.area_km2 == pytest.approx(km2(area.geometry), rel=1e-9)
    assert DEFAULT_LIMITS.min_km2 < area.area_km2 < DEFAULT_LIMITS.max_km2


def test_the_area_is_measured_on_the_british_national_grid() -> None:
    area = parse_area(POLYGON)
    # 0.014° of longitude at 51.5° N is 0.969 km; 0.005° of latitude is 0.556 km.
    assert area.area_km2 == pytest.approx(0.969 * 0.556, rel=0.01)


def test_a_hole_is_not_counted_as_area() -> None:
    area = parse_area(GOOD["with a hole"])
    shell = km2(Polygon(square(-0.120, 51.490, 0.012)))
    hole = km2(Polygon(square(-0.116, 51.494, 0.003)))
    assert area.area_km2 == pytest.approx(shell - hole, rel=1e-6)


def test_heights_are_dropped_and_said_so() -> None:
    with_z = {"type": "Polygon", "coordinates": [[[*p, 12.5] for p in WATERLOO]]}
    area = parse_area(with_z)
    assert not area.geometry.has_z
    assert area.warnings == ("heights (a third coordinate) were dropped: areas are 2-D",)
    assert area.area_km2 == pytest.approx(parse_area(POLYGON).area_km2)


# --- repaired, and said so -------------------------------------------------------------------


def test_a_bow_tie_is_repaired_into_its_two_triangles_and_the_answer_says_so() -> None:
    # The outline crosses itself at the middle: a figure of eight.
    bow_tie = [
        [-0.120, 51.500],
        [-0.106, 51.505],
        [-0.106, 51.500],
        [-0.120, 51.505],
        [-0.120, 51.500],
    ]
    assert not shapely.is_valid(Polygon(bow_tie))
    area = parse_area({"type": "Polygon", "coordinates": [bow_tie]})
    assert area.repaired
    assert area.geometry.is_valid
    assert len(area.geometry.geoms) == 2  # the two triangles either side of the crossing
    (warning,) = area.warnings
    assert warning.startswith("the outline was not valid (Self-intersection")
    assert "it was repaired" in warning and "check the repaired outline" in warning
    # Half the box: two triangles, each a quarter of it.
    assert area.area_km2 == pytest.approx(parse_area(POLYGON).area_km2 / 2, rel=1e-3)


def test_overlapping_parts_of_a_multipolygon_are_unioned_not_double_counted() -> None:
    overlapping = {
        "type": "MultiPolygon",
        "coordinates": [[square(-0.120, 51.490, 0.008)], [square(-0.116, 51.490, 0.008)]],
    }
    area = parse_area(overlapping)
    assert area.repaired
    union = shapely.union(
        Polygon(square(-0.120, 51.490, 0.008)), Polygon(square(-0.116, 51.490, 0.008))
    )
    assert area.area_km2 == pytest.approx(km2(union), rel=1e-6)


# --- refused, with how to fix it --------------------------------------------------------------


def _with(coordinates: Any, kind: str = "Polygon") -> dict[str, Any]:
    return {"type": kind, "coordinates": coordinates}


BAD: dict[str, tuple[Any, str]] = {
    "not an object": ([1, 2, 3], "must be a GeoJSON object"),
    "a point": (_with([-0.11, 51.5], "Point"), "a Point is not an area"),
    "a line": (_with(WATERLOO, "LineString"), "a LineString is not an area"),
    "a multipoint": (_with(WATERLOO, "MultiPoint"), "a MultiPoint is not an area"),
    "no type": ({"coordinates": [WATERLOO]}, "the object has no GeoJSON type"),
    "a geometry collection": (
        {"type": "GeometryCollection", "geometries": [POLYGON]},
        "a GeometryCollection is not an area: send its polygons as one MultiPolygon",
    ),
    "a feature collection": (
        {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": POLYGON}]},
        "a FeatureCollection holds many features",
    ),
    "a feature without geometry": (
        {"type": "Feature", "geometry": None, "properties": {}},
        "the Feature has no geometry",
    ),
    "a feature of a point": (
        {"type": "Feature", "geometry": _with([-0.11, 51.5], "Point")},
        "a Point is not an area",
    ),
    "empty polygon": (_with([]), "the Polygon is empty"),
    "empty multipolygon": (_with([], "MultiPolygon"), "the MultiPolygon is empty"),
    "polygon with an empty ring list in a multipolygon": (
        _with([[WATERLOO], []], "MultiPolygon"),
        "polygon 1, has no rings",
    ),
    "no coordinates": ({"type": "Polygon"}, "has no coordinates list"),
    "ring of three": (_with([WATERLOO[:3]]), "ring 0 has 3 position(s): a ring needs at least 4"),
    "unclosed ring": (_with([[*WATERLOO[:4], [-0.121, 51.5]]]), "ring 0 is not closed"),
    "a position of one number": (
        _with([[[-0.12], *WATERLOO[1:]]]),
        "ring 0, position 0 must be [longitude, latitude]",
    ),
    "a position of four numbers": (
        _with([[[-0.12, 51.5, 0, 0], *WATERLOO[1:]]]),
        "must be [longitude, latitude]",
    ),
    "a string coordinate": (
        _with([[["-0.12", 51.5], *WATERLOO[1:]]]),
        "longitude '-0.12' is not a number",
    ),
    "a boolean coordinate": (
        _with([[[True, 51.5], *WATERLOO[1:]]]),
        "longitude True is not a number",
    ),
    "NaN": (_with([[[math.nan, 51.5], *WATERLOO[1:]]]), "longitude nan is not a finite number"),
    "infinity": (
        _with([[[-0.12, math.inf], *WATERLOO[1:]]]),
        "latitude inf is not a finite number",
    ),
    "longitude out of range": (
        _with([[[-190.0, 51.5], *WATERLOO[1:]]]),
        "longitude -190.0 is outside [-180, 180]",
    ),
    "latitude out of range": (
        _with([[[-0.12, 95.0], *WATERLOO[1:]]]),
        "latitude 95.0 is outside [-90, 90]",
    ),
    "latitude first, out of range (Sydney)": (
        _with([[[-33.87, 151.21], *WATERLOO[1:]]]),
        "latitude 151.21 is outside [-90, 90]; positions are [longitude, latitude] in GeoJSON",
    ),
    "latitude first": (
        _with([[[lat, lon] for lon, lat in WATERLOO]]),
        "look like [latitude, longitude]: GeoJSON gives longitude first",
    ),
    "British National Grid metres": (
        _with([[[530000, 180000], [531000, 180000], [531000, 181000], [530000, 180000]]]),
        "longitude 530000.0 is outside [-180, 180]",
    ),
    "elsewhere on earth": (_with([square(2.35, 48.85, 0.01)]), "lies outside Great Britain"),
    "tiny": (
        _with([square(-0.115, 51.500, 0.001)]),
        "is 0.008 km², smaller than the 0.05 km² minimum",
    ),
    # 1,928.46 km² on the National Grid by OSTN15 (PROJ's Helmert fallback made it 1,929).
    "huge": (_with([square(-0.60, 51.30, 0.5)]), "is 1,928 km², larger than the 100 km² maximum"),
    "no inside": (
        _with([[[-0.12, 51.5], [-0.11, 51.5], [-0.10, 51.5], [-0.11, 51.5], [-0.12, 51.5]]]),
        "has no inside once its outline is made valid",
    ),
}


@pytest.mark.parametrize("name", list(BAD))
def test_bad_areas_are_refused_saying_what_to_do(name: str) -> None:
    body, message = BAD[name]
    with pytest.raises(InvalidArea, match=re.escape(message)):
        parse_area(body)


def test_too_many_vertices_is_refused_before_anything_is_built() -> None:
    ring = shapely.get_coordinates(
        shapely.segmentize(Polygon(WATERLOO).exterior, 0.038 / 12_000)
    ).tolist()
    assert len(ring) > 10_000
    with pytest.raises(InvalidArea, match="more than 10,000 vertices: simplify it first"):
        parse_area(_with([ring]))
    # The same outline, simplified (Shapely's mapping gives tuples: accepted too), is fine.
    simplified = parse_area(mapping(shapely.simplify(Polygon(ring), 1e-6)))
    assert simplified.area_km2 == pytest.approx(parse_area(POLYGON).area_km2, rel=1e-6)


def test_limits_can_be_set() -> None:
    strict = AreaLimits(max_vertices=4, min_km2=1.0)
    with pytest.raises(InvalidArea, match="more than 4 vertices"):
        parse_area(POLYGON, strict)
    with pytest.raises(InvalidArea, match=re.escape("0.541 km², smaller than the 1 km² minimum")):
        parse_area(POLYGON, AreaLimits(min_km2=1.0))
    with pytest.raises(InvalidArea, match=re.escape("0.541 km², larger than the 0.5 km² maximum")):
        parse_area(POLYGON, AreaLimits(max_km2=0.5))


def test_the_input_is_not_changed() -> None:
    body = {"type": "Feature", "geometry": _with([[[*p, 3.0] for p in WATERLOO]])}
    before = copy.deepcopy(body)
    parse_area(body)
    assert body == before


# --- coverage: service area and scope --------------------------------------------------------


@pytest.fixture
def area() -> CheckedArea:
    return parse_area(POLYGON)


def test_an_area_inside_the_scope_has_no_warnings(area: CheckedArea) -> None:
    assert (
        check_coverage(area, service_km2=area.area_km2, scope_km2=area.area_km2, scope=LAMBETH)
        == ()
    )


def test_an_area_mostly_outside_the_service_area_is_refused(area: CheckedArea) -> None:
    with pytest.raises(InvalidArea, match=r"only 40% of the area lies within the service area"):
        check_coverage(
            area, service_km2=0.4 * area.area_km2, scope_km2=0.4 * area.area_km2, scope=LAMBETH
        )


def test_an_area_entirely_outside_the_scope_is_refused(area: CheckedArea) -> None:
    with pytest.raises(
        InvalidArea, match="entirely outside the wards of your scope \\(boroughs E09000022\\)"
    ):
        check_coverage(area, service_km2=area.area_km2, scope_km2=0.0, scope=LAMBETH)


def test_an_area_touching_the_scope_by_a_sliver_is_refused(area: CheckedArea) -> None:
    # Mostly in Southwark, a corner in Lambeth: counting the corner would count a street.
    with pytest.raises(
        InvalidArea, match=re.escape("only 0.010 km² of the area lies inside your scope")
    ):
        check_coverage(area, service_km2=area.area_km2, scope_km2=0.01, scope=LAMBETH)


def test_an_area_partly_outside_the_scope_is_counted_with_a_warning(area: CheckedArea) -> None:
    (warning,) = check_coverage(
        area, service_km2=area.area_km2, scope_km2=0.75 * area.area_km2, scope=LAMBETH
    )
    assert warning.startswith("25% of the area lies outside your scope (boroughs E09000022)")
    assert f"per km² of the {0.75 * area.area_km2:.2f} km² inside it" in warning

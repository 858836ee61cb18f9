import geopandas as gpd
import pytest
import shapely
from shapely import (
    GeometryCollection,
    LineString,
    MultiPolygon,
    Point,
    Polygon,
)

from geo.polygons import missing_or_empty, not_polygonal, repair_polygons

SQUARE = Polygon([(0, 0), (2, 0), (2, 2), (0, 2)])
BOW_TIE = Polygon([(0, 0), (2, 2), (2, 0), (0, 2)])

# name: (geometry, missing_or_empty, not_polygonal)
CATALOGUE = {
    "none": (None, True, False),
    "empty polygon": (Polygon(), True, False),
    "empty multipolygon": (MultiPolygon(), True, False),
    "empty point": (Point(), True, True),
    "empty collection": (GeometryCollection(), True, True),
    "polygon": (SQUARE, False, False),
    "polygon with hole": (
        Polygon(SQUARE.exterior.coords, [[(0.5, 0.5), (1, 0.5), (1, 1), (0.5, 1)]]),
        False,
        False,
    ),
    "multipolygon": (
        MultiPolygon([SQUARE, Polygon([(3, 0), (4, 0), (4, 1)])]),
        False,
        False,
    ),
    "polygon z": (Polygon([(0, 0, 5), (2, 0, 5), (2, 2, 6), (0, 2, 6)]), False, False),
    "bow-tie": (BOW_TIE, False, False),
    "point": (Point(0, 0), False, True),
    "line": (LineString([(0, 0), (1, 1)]), False, True),
    "collection of polygons": (GeometryCollection([SQUARE]), False, True),
    "collection of polygon and line": (
        GeometryCollection([SQUARE, LineString([(5, 5), (6, 6)])]),
        False,
        True,
    ),
}


@pytest.mark.parametrize(
    ("geom", "expected_missing", "expected_not_polygonal"),
    list(CATALOGUE.values()),
    ids=list(CATALOGUE),
)
def test_catalogue_is_classified(geom, expected_missing, expected_not_polygonal) -> None:
    series = gpd.GeoSeries([geom, SQUARE])
    assert missing_or_empty(series).tolist() == [expected_missing, False]
    assert not_polygonal(series).tolist() == [expected_not_polygonal, False]


POLYGONAL = {
    name: geom
    for name, (geom, _, not_poly) in CATALOGUE.items()
    if geom is not None and not not_poly
}


@pytest.mark.parametrize("geom", list(POLYGONAL.values()), ids=list(POLYGONAL))
def test_repair_gives_valid_2d_multipolygons_of_the_same_area(geom) -> None:
    fixed, was_repaired = repair_polygons(gpd.GeoSeries([geom]))
    result = fixed.iloc[0]
    assert result.geom_type == "MultiPolygon"
    assert bool(shapely.is_valid(result)) is True
    assert bool(shapely.has_z(result)) is False
    assert was_repaired.tolist() == [not geom.is_valid]
    # A bow-tie's signed area cancels to 0; its true area is the two triangles.
    expected_area = 2.0 if geom.equals(BOW_TIE) else geom.area
    assert result.area == pytest.approx(expected_area)


def test_repair_splits_bow_tie_into_its_two_triangles() -> None:
    fixed, was_repaired = repair_polygons(gpd.GeoSeries([SQUARE, BOW_TIE]))
    assert was_repaired.tolist() == [False, True]
    bow = fixed.iloc[1]
    assert len(bow.geoms) == 2
    assert sorted(round(p.area, 9) for p in bow.geoms) == [1.0, 1.0]
    assert fixed.iloc[0].equals(SQUARE)


def test_repair_unions_overlapping_parts_rather_than_cutting_holes() -> None:
    overlapping = MultiPolygon([SQUARE, shapely.affinity.translate(SQUARE, 1, 0)])
    fixed, was_repaired = repair_polygons(gpd.GeoSeries([overlapping]))
    assert was_repaired.tolist() == [True]
    assert fixed.iloc[0].area == pytest.approx(6.0)
    assert fixed.iloc[0].equals(shapely.box(0, 0, 3, 2))


def test_repair_drops_collapsed_parts_but_keeps_the_area() -> None:
    # A square with a zero-width spike: make_valid leaves the spike as a line.
    spiked = Polygon([(0, 0), (2, 0), (2, 2), (2, 3), (2, 2), (0, 2)])
    fixed, was_repaired = repair_polygons(gpd.GeoSeries([spiked]))
    assert was_repaired.tolist() == [True]
    assert fixed.geom_type.tolist() == ["MultiPolygon"]
    assert fixed.iloc[0].equals(SQUARE)


def test_repair_of_zero_area_polygon_is_an_empty_multipolygon() -> None:
    flat = Polygon([(0, 0), (1, 1), (2, 2), (0, 0)])
    fixed, was_repaired = repair_polygons(gpd.GeoSeries([flat, SQUARE]))
    assert was_repaired.tolist() == [True, False]
    assert fixed.geom_type.tolist() == ["MultiPolygon", "MultiPolygon"]
    assert fixed.is_empty.tolist() == [True, False]


def test_repair_keeps_index_and_crs() -> None:
    series = gpd.GeoSeries([SQUARE, BOW_TIE], index=["E05000001", "E05000002"], crs=27700)
    fixed, _ = repair_polygons(series)
    assert fixed.index.tolist() == ["E05000001", "E05000002"]
    assert fixed.crs.to_epsg() == 27700


def test_repair_drops_z_from_valid_polygons_without_calling_it_a_repair() -> None:
    geom_z = CATALOGUE["polygon z"][0]
    fixed, was_repaired = repair_polygons(gpd.GeoSeries([geom_z]))
    assert was_repaired.tolist() == [False]
    assert fixed.has_z.tolist() == [False]
    assert shapely.get_coordinates(fixed.iloc[0]).tolist() == [
        [0.0, 0.0],
        [2.0, 0.0],
        [2.0, 2.0],
        [0.0, 2.0],
        [0.0, 0.0],
    ]


@pytest.mark.parametrize(
    "geom",
    [None, Point(0, 0), LineString([(0, 0), (1, 1)]), GeometryCollection([SQUARE])],
    ids=["none", "point", "line", "collection"],
)
def test_repair_refuses_missing_and_non_polygonal(geom) -> None:
    with pytest.raises(ValueError, match=r"rows \[1\] are missing or of another type"):
        repair_polygons(gpd.GeoSeries([SQUARE, geom]))

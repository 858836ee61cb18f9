"""Gaps: found where planted, never where a light, lit way or request answers, nor outside."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import LineString, Point
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.grid import to_grid
from geo.hexagons import hex_index, hex_polygons
from service.queries.gaps import lighting_gaps

EDGE = 250
# Kentish Town, away from the bundled SE1 streets: every light here is one the test put.
COVERED = (-0.16, 51.54, -0.13, 51.56)
PLACES = {
    "unanswered": Point(-0.1500, 51.5500),
    "by a light": Point(-0.1450, 51.5450),
    "by a request": Point(-0.1400, 51.5520),
    "by a lit way": Point(-0.1550, 51.5430),
    "declined request": Point(-0.1350, 51.5480),
    "outside coverage": Point(-0.1200, 51.5500),
}


def _near(place: Point, metres_east: float) -> Point:
    """A point ``metres_east`` of ``place`` (near enough for tens of metres in London)."""
    return Point(place.x + metres_east / 69_400, place.y)


def _cells(points: list[Point]) -> gpd.GeoDataFrame:
    """The 250 m hexagons the points fall in, as the hot-spot map's cells."""
    x, y = to_grid().transform([p.x for p in points], [p.y for p in points])
    i, j = hex_index(np.asarray(x), np.asarray(y), EDGE)
    return gpd.GeoDataFrame(
        {"i": i, "j": j}, geometry=list(hex_polygons(i, j, EDGE)), crs=27700
    ).to_crs(4326)


def _report(db: Session, place: Point, *, dark: bool = True, lighting: bool = True) -> None:
    db.execute(
        text(
            "INSERT INTO reports (geom, occurred_on, time_band, categories, source, "
            "sun_elevation, is_dark, darkness_basis, status) VALUES "
            "(ST_SetSRID(ST_MakePoint(:x, :y), 4326), '2026-11-02', 'evening', :cats, 'public', "
            "-10, :dark, 'time_band', 'published')"
        ),
        {"x": place.x, "y": place.y, "dark": dark,
         "cats": ["poor_lighting"] if lighting else ["loitering"]},
    )


@pytest.fixture
def planted(db: Session) -> gpd.GeoDataFrame:
    """Three dark lighting reports at each place; what answers each; the cells as hot spots."""
    inventory = db.execute(
        text(
            "INSERT INTO asset_inventories (kind, name, file_name, sha256, attribution, "
            "coverage, coverage_note, assets, rows_skipped, loaded_by) VALUES ('light', "
            "'test lights', 'lights.csv', 'x', 'test', ST_Multi(ST_MakeEnvelope(:a, :b, :c, :d, "
            "4326)), 'the test area', 1, 0, 'tests') RETURNING id"
        ),
        dict(zip("abcd", COVERED, strict=True)),
    ).scalar_one()
    for place in PLACES.values():
        for _ in range(3):
            _report(db, place)
    light = _near(PLACES["by a light"], 30)
    db.execute(
        text(
            "INSERT INTO assets (inventory_id, kind, geom) VALUES "
            "(:inv, 'light', ST_SetSRID(ST_MakePoint(:x, :y), 4326))"
        ),
        {"inv": inventory, "x": light.x, "y": light.y},
    )
    way = LineString([_near(PLACES["by a lit way"], -40), _near(PLACES["by a lit way"], 40)])
    db.execute(
        text(
            "INSERT INTO osm_features (osm_type, osm_id, kind, name, highway, lit, source, geom) "
            "VALUES ('way', 990000001, 'street', 'Test Street', 'residential', 'yes', 'test', "
            "ST_Translate(ST_GeomFromText(:wkt, 4326), 0, 0.0002))"
        ),
        {"wkt": way.wkt},  # about 22 m north of the reports
    )
    for name, status, reason in (("by a request", "sent", None),
                                 ("declined request", "declined", "No budget")):
        asked = _near(PLACES[name], -25)
        db.execute(
            text(
                "INSERT INTO partner_requests (reference, kind, title, geom, partner_borough, "
                "partner_team, status, decline_reason, raised_by, raised_role) VALUES "
                "(:ref, 'lighting', 'A light', ST_SetSRID(ST_MakePoint(:x, :y), 4326), "
                "'E09000007', 'Street lighting', :status, :reason, 'tests', 'planner')"
            ),
            {"ref": f"RQ-{status.upper()}", "x": asked.x, "y": asked.y, "status": status,
             "reason": reason},
        )
    return _cells(list(PLACES.values()))


def test_a_gap_is_only_where_nothing_answers_dark_lighting_reports_inside_coverage(
    db: Session, planted: gpd.GeoDataFrame
) -> None:
    gaps = lighting_gaps(db, planted, within=50)
    cell = _cells([PLACES["unanswered"]]).iloc[0]
    declined = _cells([PLACES["declined request"]]).iloc[0]
    # The unanswered place, and the one whose only request was declined: nothing answers it.
    assert sorted(zip(gaps["i"], gaps["j"], strict=True)) == sorted(
        [(cell["i"], cell["j"]), (declined["i"], declined["j"])]
    )
    assert gaps[["dark_lighting", "unanswered"]].values.tolist() == [[3, 3], [3, 3]]
    assert (gaps.geometry.geom_type == "Polygon").all() and gaps.crs.to_epsg() == 4326
    # Closer than the light, the lit way and the request: a 10 m radius finds them all gaps,
    # except the one outside every inventory's coverage.
    near = lighting_gaps(db, planted, within=10)
    assert len(near) == len(PLACES) - 1
    outside = _cells([PLACES["outside coverage"]]).iloc[0]
    assert (outside["i"], outside["j"]) not in set(zip(near["i"], near["j"], strict=True))


def test_reports_not_about_lighting_or_not_in_the_dark_make_no_gap(db: Session) -> None:
    db.execute(
        text(
            "INSERT INTO asset_inventories (kind, name, file_name, sha256, attribution, "
            "coverage, coverage_note, assets, rows_skipped, loaded_by) VALUES ('light', 'l', "
            "'l.csv', 'y', 't', ST_Multi(ST_MakeEnvelope(-0.16, 51.54, -0.13, 51.56, 4326)), "
            "'t', 0, 0, 'tests')"
        )
    )
    place = PLACES["unanswered"]
    _report(db, place, dark=False)
    _report(db, place, lighting=False)
    assert lighting_gaps(db, _cells([place])).empty
    assert lighting_gaps(db, _cells([place]).iloc[0:0]).empty
    with pytest.raises(ValueError, match="positive number of metres"):
        lighting_gaps(db, _cells([place]), within=-1)

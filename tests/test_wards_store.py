"""Ward sets in PostGIS: COPY load, subdivision, checks, activation and re-assignment, lookups."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from boundaries.bundled import LONDON_WARDS_2018, PILOT_WARDS
from boundaries.reading import read_wards
from service.errors import Conflict, NotFound, OutsideServiceArea
from service.queries import wards as queries

# Real places and the wards they are in (2024 pilot wards; 2018 London wards).
WATERLOO = (-0.1136, 51.5033)  # Waterloo & South Bank, Lambeth
BOROUGH_MARKET = (-0.0909, 51.5055)  # Borough & Bankside, Southwark
THAMES = (-0.1200, 51.5070)  # the river between Waterloo and Embankment
WESTMINSTER = (-0.1276, 51.5007)  # Parliament Square: Westminster, outside the pilot


def test_pilot_set_is_active_with_subdivided_parts(db: Session) -> None:
    active = queries.require_active_ward_set(db)
    assert (active.name, active.wards, active.boroughs) == ("pilot-2024", 48, 2)
    parts, max_vertices = db.execute(
        text("SELECT count(*), max(ST_NPoints(geom)) FROM ward_parts WHERE ward_set_id = :id"),
        {"id": active.id},
    ).one()
    assert parts > 48
    assert max_vertices <= queries.SUBDIVIDE_VERTICES
    # The pieces cover the wards exactly: same total area.
    ward_area, part_area = db.execute(
        text(
            "SELECT (SELECT sum(ST_Area(geom::geography)) FROM wards WHERE ward_set_id = :id), "
            "       (SELECT sum(ST_Area(geom::geography)) FROM ward_parts WHERE ward_set_id = :id)"
        ),
        {"id": active.id},
    ).one()
    assert part_area == pytest.approx(ward_area, rel=1e-6)


@pytest.mark.parametrize(
    ("point", "code", "name"),
    [
        (WATERLOO, "E05014118", "Waterloo & South Bank"),
        (BOROUGH_MARKET, "E05011095", "Borough & Bankside"),
    ],
)
def test_lookup_at_known_real_points(
    db: Session, point: tuple[float, float], code: str, name: str
) -> None:
    hit = queries.lookup_ward(db, *point)
    assert (hit.code, hit.name, hit.ward_set) == (code, name, "pilot-2024")


@pytest.mark.parametrize("point", [THAMES, WESTMINSTER])
def test_points_outside_the_pilot_are_refused(db: Session, point: tuple[float, float]) -> None:
    with pytest.raises(OutsideServiceArea, match="outside every ward of the active ward set"):
        queries.lookup_ward(db, *point)


def test_lookup_agrees_with_geopandas_on_the_ward_centres(db: Session) -> None:
    wards = read_wards(PILOT_WARDS.path).wards
    inside = wards.geometry.representative_point()
    for code, point in zip(wards["code"], inside, strict=True):
        assert queries.lookup_ward(db, point.x, point.y).code == code


def test_london_2018_loads_and_activation_switches_lookups(db: Session) -> None:
    london = read_wards(LONDON_WARDS_2018.path).wards
    set_id = queries.load_ward_set(
        db, london, name="london-2018", source="test", attribution=LONDON_WARDS_2018.attribution
    )
    check = queries.check_ward_set(db, set_id)
    assert (check.wards, check.problems) == (657, ())
    # Not active yet: lookups still use the pilot set, which does not cover Westminster.
    assert queries.lookup_ward(db, *WATERLOO).ward_set == "pilot-2024"
    with pytest.raises(OutsideServiceArea):
        queries.lookup_ward(db, *WESTMINSTER)
    queries.activate_ward_set(db, "london-2018")
    hit = queries.lookup_ward(db, *WESTMINSTER)
    assert (hit.code, hit.name, hit.borough_name) == (
        "E05000644",
        "St. James's",
        "City of Westminster",
    )
    # Lambeth's pre-2022 ward at Waterloo was Bishop's.
    assert queries.lookup_ward(db, *WATERLOO).code == "E05000416"
    active = [s.name for s in queries.list_ward_sets(db) if s.is_active]
    assert active == ["london-2018"]


def test_activation_reassigns_stored_rows_in_the_same_transaction(db: Session) -> None:
    db.execute(
        text(
            "CREATE TEMP TABLE concern_points "
            "(id int, ward_code text, borough_code text, geom geometry(Point, 4326))"
        )
    )
    db.execute(
        text(
            "INSERT INTO concern_points VALUES "
            "(1, 'stale', 'stale', ST_SetSRID(ST_MakePoint(-0.1136, 51.5033), 4326)), "
            "(2, 'stale', 'stale', ST_SetSRID(ST_MakePoint(-0.1276, 51.5007), 4326))"
        )
    )
    london = read_wards(LONDON_WARDS_2018.path).wards
    queries.load_ward_set(db, london, name="london-2018", source="t", attribution="a")
    table = queries.WardAssignedTable("concern_points")
    counts = queries.activate_ward_set(db, "london-2018", tables=[table])
    assert counts == {"concern_points": 2}
    rows = db.execute(text("SELECT id, ward_code, borough_code FROM concern_points ORDER BY id"))
    assert [tuple(r) for r in rows] == [
        (1, "E05000416", "E09000022"),
        (2, "E05000644", "E09000033"),
    ]
    # Back to the pilot: the Westminster point is outside every ward and loses its ward.
    queries.activate_ward_set(db, "pilot-2024", tables=[table])
    rows = db.execute(text("SELECT id, ward_code, borough_code FROM concern_points ORDER BY id"))
    assert [tuple(r) for r in rows] == [(1, "E05014118", "E09000022"), (2, None, None)]


def test_a_second_set_with_the_same_name_is_refused(db: Session) -> None:
    wards = read_wards(PILOT_WARDS.path).wards
    with pytest.raises(Conflict, match="already loaded"):
        queries.load_ward_set(db, wards, name="pilot-2024", source="t", attribution="a")


def test_activating_an_unknown_set_names_the_known_ones(db: Session) -> None:
    with pytest.raises(NotFound, match="pilot-2024"):
        queries.activate_ward_set(db, "no-such-set")


def test_geojson_is_rfc7946(db: Session) -> None:
    import json

    collection = json.loads(queries.wards_geojson(db, borough="Southwark"))
    assert collection["type"] == "FeatureCollection"
    assert len(collection["features"]) == 23
    first = collection["features"][0]
    assert set(first["properties"]) == {"code", "name", "borough_code", "borough_name", "ward_set"}
    # Exterior rings counter-clockwise (RFC 7946 §3.1.6): positive shoelace area. (Some real
    # wards carry sliver parts whose area rounds to 0 at 6 decimals, so test the largest.)
    for feature in collection["features"]:
        ring = max((polygon[0] for polygon in feature["geometry"]["coordinates"]), key=len)
        area2 = sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in itertools.pairwise(ring))
        assert area2 > 0, feature["id"]
    lon, lat = ring[0]
    assert -0.16 < lon < -0.03 and 51.40 < lat < 51.52


def test_bulk_assignment_agrees_with_geopandas_and_restores_planner_settings(db: Session) -> None:
    import geopandas as gpd
    import numpy as np

    rng = np.random.default_rng(7)
    lon, lat = rng.uniform(-0.16, -0.02, 3000), rng.uniform(51.40, 51.52, 3000)
    db.execute(text("CREATE TEMP TABLE sample_points (id int, ward_code text, geom geometry)"))
    db.execute(
        text(
            "INSERT INTO sample_points "
            "SELECT i, NULL, ST_SetSRID(ST_MakePoint(x, y), 4326) "
            "FROM unnest(CAST(:lon AS float8[]), CAST(:lat AS float8[])) "
            "WITH ORDINALITY AS u(x, y, i)"
        ),
        {"lon": lon.tolist(), "lat": lat.tolist()},
    )
    jit_before = db.execute(text("SHOW jit")).scalar_one()
    active = queries.require_active_ward_set(db)
    changed = queries.assign_wards(
        db, queries.WardAssignedTable("sample_points", borough_column=None), set_id=active.id
    )
    assert db.execute(text("SHOW jit")).scalar_one() == jit_before

    points = gpd.GeoDataFrame(
        {"id": np.arange(1, 3001)}, geometry=gpd.points_from_xy(lon, lat), crs=4326
    )
    wards = read_wards(PILOT_WARDS.path).wards
    expected = (
        gpd.sjoin(points, wards, predicate="intersects").groupby("id")["code"].min().to_dict()
    )
    stored = {
        key: code
        for key, code in db.execute(
            text("SELECT id, ward_code FROM sample_points WHERE ward_code IS NOT NULL")
        )
    }
    assert changed == len(expected)
    assert 500 < len(expected) < 3000  # the box holds both wards and points outside them
    assert stored == expected
    # A second run changes nothing: only rows whose ward changes are written.
    assert (
        queries.assign_wards(
            db, queries.WardAssignedTable("sample_points", borough_column=None), set_id=active.id
        )
        == 0
    )

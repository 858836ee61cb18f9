"""Street lights and cameras: reading councils' real files, and `walktalk assets` on PostGIS."""

from __future__ import annotations

import json
import shlex
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from sqlalchemy import create_engine, text

from boundaries.bundled import LONDON_BOROUGHS_PATH, LONDON_WARDS_2018, PILOT_WARDS
from boundaries.reading import read_boroughs, read_wards
from geo.assets import AGREEMENT_M, AssetFileError, read_assets

Run = Callable[..., tuple[int, str, str]]
ASSETS = Path(__file__).resolve().parents[1] / "data" / "assets"
CAMDEN = ASSETS / "Camden_Street_Lighting.csv"
LAMBETH = ASSETS / "cctv.geojson"
CAMDEN_ROWS = 9527
LAMBETH_POINTS = 470
LAMBETH_IN_PILOT_WARDS = 379


def _camden_frame() -> pd.DataFrame:
    return pd.read_csv(CAMDEN, dtype=str, keep_default_na=False)


def _csv_bytes(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()


# -- reading the files ------------------------------------------------------------------------


def test_camden_lamps_are_placed_by_the_grid_as_geopandas_places_them() -> None:
    rows = read_assets(CAMDEN.read_bytes(), CAMDEN.name)
    assert rows.rows_read == CAMDEN_ROWS
    assert len(rows.frame) == CAMDEN_ROWS and rows.problems == ()
    assert rows.location.startswith("Easting/Northing (British National Grid, OSTN15)")

    raw = pd.read_csv(CAMDEN)
    expected = gpd.GeoSeries(
        gpd.points_from_xy(raw["Easting"], raw["Northing"]), crs=27700
    ).to_crs(4326)
    ours = gpd.GeoSeries(gpd.points_from_xy(rows.frame["lon"], rows.frame["lat"]), crs=4326)
    apart = ours.to_crs(27700).distance(expected.to_crs(27700))
    assert apart.max() < 1.0

    # One lamp at a known street, field by field.
    mill_lane = rows.frame[rows.frame["ref"] == "MILL LANE, NW6"]
    first = raw.index[(raw["Street Name"] == "MILL LANE") & (raw["Postcode"] == "NW6")][0]
    lamp = mill_lane[mill_lane["line"] == first + 2].iloc[0]
    distance = (
        gpd.GeoSeries(gpd.points_from_xy([lamp.lon], [lamp.lat]), crs=4326)
        .to_crs(27700)
        .distance(expected.iloc[[first]].to_crs(27700).reset_index(drop=True))
    )
    assert distance.iloc[0] < 1.0
    written = _camden_frame().loc[first]
    assert lamp.properties["Wattage"] == written["Wattage"]
    assert lamp.properties["Switch Regime"] == written["Switch Regime"]
    assert "Easting" not in lamp.properties and "Longitude" not in lamp.properties

    # Camden's own lon/lat columns agree with its grid to within a few metres everywhere.
    given = gpd.GeoSeries(gpd.points_from_xy(raw["Longitude"], raw["Latitude"]), crs=4326)
    assert given.to_crs(27700).distance(expected.to_crs(27700)).max() < 5


def test_grid_and_degrees_that_disagree_skip_the_row_with_the_distance() -> None:
    frame = _camden_frame().head(50).copy()
    # About 70 m west: one of the two positions is wrong, and nothing says which.
    frame.loc[3, "Longitude"] = f"{float(frame.loc[3, 'Longitude']) - 0.001:.6f}"
    rows = read_assets(_csv_bytes(frame), "camden.csv")
    assert len(rows.frame) == 49 and 5 not in set(rows.frame["line"])
    [problem] = rows.problems
    assert problem.line == 5
    assert f"more than {AGREEMENT_M:g} m" in problem.reason and " 69 m " in problem.reason


def test_lambeth_cameras_are_read_from_the_points_geometry() -> None:
    rows = read_assets(LAMBETH.read_bytes(), LAMBETH.name)
    assert (rows.rows_read, len(rows.frame), rows.problems) == (LAMBETH_POINTS, LAMBETH_POINTS, ())
    expected = gpd.read_file(LAMBETH)
    assert expected.crs.to_epsg() == 4326
    np.testing.assert_allclose(rows.frame["lon"], expected.geometry.x, atol=1e-12)
    np.testing.assert_allclose(rows.frame["lat"], expected.geometry.y, atol=1e-12)
    assert list(rows.frame["ref"]) == list(expected["FULL_ID"])
    first = rows.frame.iloc[0]["properties"]
    assert first["SITE_TYPE_DESC"] == expected.iloc[0]["SITE_TYPE_DESC"]
    assert isinstance(first["OBJECTID"], int)


def test_a_camera_whose_grid_properties_disagree_with_its_point_is_skipped() -> None:
    document = json.loads(LAMBETH.read_bytes())
    assert read_assets(json.dumps(document).encode(), "cctv.geojson").location == (
        "GeoJSON Point geometry (WGS84), checked against EASTING/NORTHING (within 25 m)"
    )
    document["features"][3]["properties"]["EASTING"] += 100
    rows = read_assets(json.dumps(document).encode(), "cctv.geojson")
    assert len(rows.frame) == LAMBETH_POINTS - 1
    [problem] = rows.problems
    assert problem.line == 4
    assert problem.reason.startswith("EASTING/NORTHING (") and " 100 m from the Point" in (
        problem.reason
    )


def test_rows_that_cannot_be_placed_are_skipped_with_their_reasons() -> None:
    data = (
        b"lon,lat,ref\n"
        b"-0.1136,51.5033,good\n"
        b",51.5,blank\n"
        b"nan,51.5,spelt-nan\n"
        b"51.5033,-0.1136,swapped\n"
        b"2.35,48.85,paris\n"
        b"abc,51.5,junk\n"
    )
    rows = read_assets(data, "lamps.csv")
    assert list(rows.frame["ref"]) == ["good"]
    reasons = {p.line: p.reason for p in rows.problems}
    assert reasons[3] == "longitude is blank: give degrees east in [-180, 180]"
    assert "'nan' is not a finite number" in reasons[4]
    assert "outside Great Britain" in reasons[5] and "look swapped" in reasons[5]
    assert "outside Great Britain" in reasons[6]
    assert "'abc' is not a number" in reasons[7]
    assert rows.rows_skipped == 5


@pytest.mark.parametrize(
    ("data", "name", "words"),
    [
        (b"Street,Ward\nMILL LANE,FORTUNE GREEN\n", "lamps.csv", "no coordinate columns"),
        (
            b"lon,lat\n51.5033,-0.1136\n51.49,-0.12\n",
            "swapped.csv",
            "longitude and latitude look swapped",
        ),
        (
            b"Longitude,Latitude\n524803,185110\n526991,184116\n",
            "metres.csv",
            "British National Grid metres, not degrees; name them 'Easting' and 'Northing'",
        ),
        (b"", "empty.csv", "is empty"),
        (b"Easting,Northing\n", "header.csv", "a header but no rows"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", "photo.csv", "not be read as a UTF-8"),
        (b'{"type": "Feature"}', "one.geojson", "not a GeoJSON FeatureCollection"),
        (b"{not json", "broken.geojson", "not valid GeoJSON"),
    ],
)
def test_a_file_with_no_good_row_is_refused_saying_what_was_expected(
    data: bytes, name: str, words: str
) -> None:
    with pytest.raises(AssetFileError) as refused:
        read_assets(data, name)
    message = str(refused.value)
    assert words in message
    assert name in message
    if "no coordinate columns" in message or "none of its" in message:
        assert "'Easting' and 'Northing'" in message and "'Longitude' and" in message


# -- walktalk assets import / list / delete ---------------------------------------------------


def _query(url: str, sql: str, **params: object) -> list[tuple[Any, ...]]:
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(text(sql), params).all()]
    engine.dispose()
    return rows


def _stored(url: str) -> tuple[int, int]:
    [(inventories, assets)] = _query(
        url, "SELECT (SELECT count(*) FROM asset_inventories), (SELECT count(*) FROM assets)"
    )
    return int(inventories), int(assets)


def test_import_camden_lights_covering_camden_once(walktalk: Run, fresh_db: str) -> None:
    code, out, err = walktalk(
        "assets", "import", str(CAMDEN), "--kind", "light", "--name", "camden",
        "--covers", "E09000007", "--attribution", "Contains public sector information from "
        "the London Borough of Camden licensed under the Open Government Licence v3.0",
    )  # fmt: skip
    assert code == 0, err
    assert f"stored {CAMDEN_ROWS:,} lights as 'camden' (0 inside the active wards)" in out
    assert "coverage: covers what --covers named: Camden (E09000007)" in out
    assert _stored(fresh_db) == (1, CAMDEN_ROWS)
    [(kind, assets, skipped, equal, attribution)] = _query(
        fresh_db,
        "SELECT i.kind, i.assets, i.rows_skipped, "
        " ST_Area(ST_SymDifference(i.coverage, b.geom)::geography) < 1, i.attribution "
        "FROM asset_inventories i, boroughs b WHERE b.code = 'E09000007'",
    )
    assert (kind, assets, skipped, equal) == ("light", CAMDEN_ROWS, 0, True)
    assert "London Borough of Camden" in str(attribution)
    # Camden is outside the pilot wards: no lamp gets a ward there.
    assert _query(fresh_db, "SELECT count(*) FROM assets WHERE ward_code IS NOT NULL") == [(0,)]

    code, out, err = walktalk("assets", "import", str(CAMDEN), "--kind", "light")
    assert code == 0, err
    assert "loaded before (same content) as 'camden': nothing added" in out
    assert _stored(fresh_db) == (1, CAMDEN_ROWS)

    code, out, _ = walktalk("assets", "list")
    assert code == 0 and "camden" in out and f"{CAMDEN_ROWS:,}" in out
    code, out, _ = walktalk("assets", "delete", "camden")
    assert code == 0 and f"its {CAMDEN_ROWS:,} assets" in out
    assert _stored(fresh_db) == (0, 0)
    code, _, err = walktalk("assets", "delete", "camden")
    assert code == 1 and "no asset inventory called 'camden'" in err


def test_lambeth_cameras_get_the_wards_geopandas_finds(walktalk: Run, fresh_db: str) -> None:
    code, out, err = walktalk("assets", "import", str(LAMBETH), "--kind", "camera")
    assert code == 0, err
    assert f"stored {LAMBETH_POINTS} cameras as 'cctv' ({LAMBETH_IN_PILOT_WARDS} inside" in out
    # Without --covers: the boroughs with a fifth of the points (Lambeth); the rest are named.
    assert "no --covers given" in out and "Lambeth (E09000022, 322 points)" in out
    assert "Southwark 57" in out and "lie outside the coverage" in out
    [(equal,)] = _query(
        fresh_db,
        "SELECT ST_Area(ST_SymDifference(i.coverage, b.geom)::geography) < 1 "
        "FROM asset_inventories i, boroughs b "
        "WHERE b.code = 'E09000022'",
    )
    assert equal is True

    cameras = gpd.read_file(LAMBETH)
    wards = read_wards(PILOT_WARDS.path).wards
    joined = gpd.sjoin(cameras, wards[["code", "geometry"]], predicate="within")
    expected = joined.groupby("code").size().to_dict()
    assert sum(expected.values()) == LAMBETH_IN_PILOT_WARDS
    stored = dict(
        _query(
            fresh_db,
            "SELECT ward_code, count(*) FROM assets WHERE ward_code IS NOT NULL GROUP BY 1",
        )
    )
    assert stored == expected
    by_ref = dict(_query(fresh_db, "SELECT ref, ward_code FROM assets"))
    for full_id, ward in zip(joined["FULL_ID"], joined["code"], strict=True):
        assert by_ref[full_id] == ward


def test_covers_joins_boroughs_and_wards(walktalk: Run, fresh_db: str) -> None:
    code, out, err = walktalk(
        "assets", "import", str(LAMBETH), "--kind", "camera", "--name", "lambeth-cctv",
        "--covers", "E09000022", "E05011095",
    )  # fmt: skip
    assert code == 0, err
    assert "Lambeth (E09000022), E05011095" in out
    [(covers_ward, covers_lambeth, area)] = _query(
        fresh_db,
        "SELECT ST_Covers(i.coverage, ST_Buffer(w.geom, -0.00001)), "
        " ST_Covers(i.coverage, ST_Buffer(b.geom, -0.00001)), ST_Area(i.coverage::geography) "
        "FROM asset_inventories i, boroughs b, wards w "
        "WHERE b.code = 'E09000022' AND w.code = 'E05011095'",
    )
    assert covers_ward is True and covers_lambeth is True
    [(lambeth_area, ward_area)] = _query(
        fresh_db,
        "SELECT ST_Area(b.geom::geography), (SELECT ST_Area(geom::geography) FROM wards "
        "WHERE code = 'E05011095') FROM boroughs b WHERE b.code = 'E09000022'",
    )
    assert area == pytest.approx(float(lambeth_area) + float(ward_area), rel=1e-3)


def _refused(walktalk: Run, fresh_db: str, *argv: str) -> str:
    code, out, err = walktalk(*argv)
    assert code == 1, out
    assert _stored(fresh_db) == (0, 0), "a refused import stored something"
    return err


def test_bad_files_and_options_exit_non_zero_storing_nothing(
    walktalk: Run, fresh_db: str, tmp_path: Path
) -> None:
    files = {
        "nocoords.csv": b"Street Name,Postcode\nMILL LANE,NW6\n",
        "swapped.csv": b"lon,lat\n51.5033,-0.1136\n",
        "metres.csv": b"lon,lat\n524803,185110\n",
        "empty.csv": b"",
        "photo.csv": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe",
    }
    messages = {}
    for name, data in files.items():
        path = tmp_path / name
        path.write_bytes(data)
        messages[name] = _refused(walktalk, fresh_db, "assets", "import", str(path), "--kind",
                                  "light", "--covers", "E09000007")  # fmt: skip
    assert "no coordinate columns: expected 'Easting' and 'Northing'" in messages["nocoords.csv"]
    assert "look swapped" in messages["swapped.csv"]
    assert "name them 'Easting' and 'Northing'" in messages["metres.csv"]
    assert "empty" in messages["empty.csv"]
    assert "UTF-8 CSV" in messages["photo.csv"]
    for message in messages.values():
        assert message.startswith("walktalk: error: ")

    err = _refused(walktalk, fresh_db, "assets", "import", str(tmp_path / "gone.csv"),
                   "--kind", "light")  # fmt: skip
    assert "no such file" in err
    err = _refused(walktalk, fresh_db, "assets", "import", str(CAMDEN), "--kind", "light",
                   "--covers", "Camden")  # fmt: skip
    assert "E09 and six digits" in err
    err = _refused(walktalk, fresh_db, "assets", "import", str(CAMDEN), "--kind", "light",
                   "--covers", "E09000099")  # fmt: skip
    assert "not a London borough" in err
    err = _refused(walktalk, fresh_db, "assets", "import", str(CAMDEN), "--kind", "light",
                   "--covers", "E05000001")  # fmt: skip
    assert "no such ward in the active ward set" in err
    # Points in no London borough, and no --covers: the area cannot be guessed.
    far = tmp_path / "leeds.csv"
    far.write_bytes(b"lon,lat\n-1.5491,53.8008\n")
    assert "--covers CODE" in _refused(
        walktalk, fresh_db, "assets", "import", str(far), "--kind", "light"
    )


def test_a_new_file_under_a_taken_name_is_refused(
    walktalk: Run, fresh_db: str, tmp_path: Path
) -> None:
    code, _, err = walktalk("assets", "import", str(LAMBETH), "--kind", "camera", "--name", "x")
    assert code == 0, err
    other = tmp_path / "other.csv"
    other.write_bytes(_csv_bytes(_camden_frame().head(10)))
    code, _, err = walktalk("assets", "import", str(other), "--kind", "light", "--name", "x")
    assert code == 1 and "already loaded" in err and "walktalk assets delete x" in err
    assert _stored(fresh_db) == (1, LAMBETH_POINTS)


def test_skipped_rows_are_counted_and_shown(
    walktalk: Run, fresh_db: str, tmp_path: Path
) -> None:
    frame = _camden_frame().head(20).copy()
    frame.loc[0, "Easting"] = ""
    frame.loc[1, "Longitude"] = "-0.3"
    path = tmp_path / "some.csv"
    path.write_bytes(_csv_bytes(frame))
    code, out, err = walktalk("assets", "import", str(path), "--kind", "light")
    assert code == 0, err
    assert "stored 18 lights" in out and "skipped 2 of 20 rows" in out
    assert "some.csv: line 2: easting is blank" in out
    assert "some.csv: line 3: Longitude/Latitude" in out
    [(skipped, props)] = _query(
        fresh_db,
        "SELECT i.rows_skipped, (SELECT properties FROM assets ORDER BY id LIMIT 1) "
        "FROM asset_inventories i",
    )
    assert skipped == 2
    assert json.loads(json.dumps(props))["Street Name"] == frame.loc[2, "Street Name"]


def test_the_bundled_boroughs_are_what_coverage_is_cut_from() -> None:
    boroughs = read_boroughs(LONDON_BOROUGHS_PATH)
    assert {"E09000007", "E09000022", "E09000028"} <= set(boroughs["code"])


def _demo_asset_commands() -> list[list[str]]:
    """The `walktalk assets import` commands `make demo` runs, as the shell would split them."""
    root = Path(__file__).resolve().parents[1]
    printed = subprocess.run(
        ["make", "-n", "demo"], cwd=root, capture_output=True, text=True, check=True
    ).stdout
    lines = [shlex.split(line) for line in printed.replace("\\\n", "").splitlines()]
    found = [line[1:] for line in lines if line[:3] == [".venv/bin/walktalk", "assets", "import"]]
    return [[str(root / arg) if arg.startswith("data/") else arg for arg in c] for c in found]


def test_make_demo_loads_both_bundled_files_and_can_run_again(
    walktalk: Run, fresh_db: str
) -> None:
    commands = _demo_asset_commands()
    assert len(commands) == 2
    for _ in range(2):  # `make demo` run a second time must succeed too
        for argv in commands:
            code, _, err = walktalk(*argv)
            assert code == 0, err
    rows = _query(
        fresh_db,
        "SELECT name, kind, assets, attribution, coverage_note FROM asset_inventories "
        "ORDER BY name",
    )
    assert [r[:3] for r in rows] == [
        ("camden-street-lighting", "light", CAMDEN_ROWS),
        ("lambeth-cctv", "camera", LAMBETH_POINTS),
    ]
    assert rows[0][3] == (
        "Contains public sector information from the London Borough of Camden licensed under "
        "the Open Government Licence v3.0"
    )
    assert "London Borough of Lambeth" in rows[1][3] and "TfL" in rows[1][3]
    assert rows[1][4] == "covers what --covers named: Lambeth (E09000022)"


def test_activating_another_ward_set_places_the_assets_in_its_wards(
    walktalk: Run, fresh_db: str
) -> None:
    code, _, err = walktalk("assets", "import", str(CAMDEN), "--kind", "light")
    assert code == 0, err
    assert _query(fresh_db, "SELECT count(ward_code) FROM assets") == [(0,)]
    code, _, err = walktalk("wards", "bundled")
    assert code == 0, err
    code, out, err = walktalk("wards", "activate", "london-2018")
    assert code == 0, err
    # Every lamp lies in some 2018 London ward (those over Camden's border in its neighbours').
    assert f"re-assigned {CAMDEN_ROWS} rows of assets" in out

    wards = read_wards(LONDON_WARDS_2018.path).wards
    raw = pd.read_csv(CAMDEN)
    lamps = gpd.GeoDataFrame(
        geometry=gpd.points_from_xy(raw["Easting"], raw["Northing"]), crs=27700
    ).to_crs(4326)
    joined = gpd.sjoin(lamps, wards[["code", "borough_code", "geometry"]], predicate="within")
    expected = joined.groupby("code").size().to_dict()
    stored = dict(
        _query(
            fresh_db,
            "SELECT ward_code, count(*) FROM assets WHERE ward_code IS NOT NULL GROUP BY 1",
        )
    )
    assert stored == expected and sum(stored.values()) == CAMDEN_ROWS
    assert len(expected) >= 18  # Camden's 18 wards, and a few lamps over its border
    boroughs = dict(_query(fresh_db, "SELECT borough_code, count(*) FROM assets GROUP BY 1"))
    assert boroughs["E09000007"] == int((joined["borough_code"] == "E09000007").sum())

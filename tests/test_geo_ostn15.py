"""OSTN15 between lon/lat and the British National Grid, in Python and in PostGIS.

The reference is the Ordnance Survey's own: the 40 test points of the OSTN15 developer pack
(OSTN15_OSGM15_TestInput_ETRStoOSGB.txt and its TestOutput), ETRS89 latitude/longitude with
the National Grid position OSTN15 gives each, from St Mary's on Scilly to Foula. Contains OS
data © Crown copyright and database rights 2016, Ordnance Survey (BSD licence).

Without the OSTN15 grid PROJ falls back to a Helmert transformation, 1-5 m off at these points,
and every test here fails.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from fastapi.testclient import TestClient
from pyproj import Geod
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.grid import (
    CHECK_POINT_GRID,
    GRID_NAME,
    OSTN15,
    to_grid,
    to_wgs84,
    transformation_of,
)
from geo.reports import parse_report_rows
from service.queries.transformation import server_transformation
from service.queries.wards import lookup_ward

REPO = Path(__file__).resolve().parents[1]
# What the issue asks of OSTN15 here; geo.grid's own check tolerance is not borrowed, so
# loosening it cannot loosen these tests.
TO_A_DECIMETRE = 0.1

# (point, place, ETRS89 latitude, ETRS89 longitude, OSGB36 easting, OSGB36 northing)
OS_TEST_POINTS = [
    ("TP01", "St Mary's, Scilly", 49.92226393730, -6.29977752014, 91492.146, 11318.804),
    ("TP02", "Lizard Point Lighthouse", 49.96006137820, -5.20304609998, 170370.718, 11572.405),
    ("TP03", "Plymouth", 50.43885825610, -4.10864563561, 250359.811, 62016.569),
    ("TP04", "St Catherine's Point", 50.57563665000, -1.29782277240, 449816.371, 75335.861),
    ("TP05", "Former OSHQ", 50.93127937910, -1.45051433700, 438710.920, 114792.250),
    ("TP06", "Nash Point Lighthouse", 51.40078220140, -3.55128349240, 292184.870, 168003.465),
    ("TP07", "North Foreland", 51.37447025550, 1.44454730409, 639821.835, 169565.858),
    ("TP08", "Brislington", 51.42754743020, -2.54407618349, 362269.991, 169978.690),
    ("TP09", "Lambeth", 51.48936564950, -0.11992557180, 530624.974, 178388.464),
    ("TP10", "Carmarthen", 51.85890896400, -4.30852476960, 241124.584, 220332.641),
    ("TP11", "Colchester", 51.89436637350, 0.89724327012, 599445.590, 225722.826),
    ("TP12", "Droitwich", 52.25529381630, -2.15458614387, 389544.190, 261912.153),
    ("TP13", "Northampton", 52.25160951230, -0.91248956970, 474335.969, 262047.755),
    ("TP14", "King's Lynn", 52.75136687170, 0.40153547065, 562180.547, 319784.995),
    ("TP15", "Nottingham", 52.96219109410, -1.19747655922, 454002.834, 340834.943),
    ("TP16", "STFC, Daresbury", 53.34480280190, -2.64049320810, 357455.843, 383290.436),
    ("TP17", "Point Lynas, Anglesey", 53.41628516040, -4.28918069756, 247958.971, 393492.909),
    ("TP18", "Point Lynas, Anglesey", 53.41630925420, -4.28917792869, 247959.241, 393495.583),
    ("TP19", "Blackpool Airport", 53.77911025760, -3.04045490691, 331534.564, 431920.794),
    ("TP20", "Pudsey", 53.80021519630, -1.66379168242, 422242.186, 433818.701),
    ("TP21", "Isle of Man airport", 54.08666318080, -4.63452168212, 227778.330, 468847.388),
    ("TP22", "Flamborough Head", 54.11685144290, -0.07773133187, 525745.670, 470703.214),
    ("TP23", "Ramsey, Isle of Man", 54.32919541010, -4.38849118133, 244780.636, 495254.887),
    ("TP24", "Carlisle", 54.89542340420, -2.93827741149, 339921.145, 556034.761),
    ("TP25", "Newcastle University", 54.97912273660, -1.61657685184, 424639.355, 565012.703),
    ("TP26", "Glasgow", 55.85399952950, -4.29649016251, 256340.925, 664697.269),
    ("TP27", "Sighthill, Edinburgh", 55.92478265510, -3.29479219337, 319188.434, 670947.534),
    ("TP28", "Mallaig", 57.00606696050, -5.82836691850, 167634.202, 797067.144),
    ("TP29", "Girdle Ness", 57.13902518960, -2.04856030746, 397160.491, 805349.736),
    ("TP30", "Inverness", 57.48625000720, -4.21926398555, 267056.768, 846176.972),
    ("TP31", "Hirta, St Kilda", 57.81351838410, -8.57854456076, 9587.909, 899448.996),
    ("TP32", "7 km S of Flannan", 58.21262247180, -7.59255560556, 71713.132, 938516.404),
    ("TP33", "Butt of Lewis", 58.51560361300, -6.26091455533, 151968.652, 966483.780),
    ("TP34", "Dounreay Airfield", 58.58120461280, -3.72631022121, 299721.891, 967202.992),
    ("TP35", "Orkney Mainland", 59.03743871190, -3.21454001115, 330398.323, 1017347.016),
    ("TP36", "1 km NW of Sule Skerry", 59.09335035320, -4.41757674598, 261596.778, 1025447.602),
    ("TP37", "3 km S of Rona", 59.09671617400, -5.82799339844, 180862.461, 1029604.114),
    ("TP38", "Fair Isle", 59.53470794490, -1.62516966058, 421300.525, 1072147.239),
    ("TP39", "Sumburgh Head", 59.85409913890, -1.27486910356, 440725.073, 1107878.448),
    ("TP40", "Foula", 60.13308091660, -2.07382822798, 395999.668, 1138728.951),
]
POINTS = [p[0] for p in OS_TEST_POINTS]
LAT, LON, EASTING, NORTHING = (np.array([p[i] for p in OS_TEST_POINTS]) for i in range(2, 6))
_GRS80 = Geod(ellps="GRS80")


def _off_grid(easting: np.ndarray, northing: np.ndarray) -> str:
    """The points further than the tolerance from OS's easting/northing, and by how much."""
    off = np.hypot(easting - EASTING, northing - NORTHING)
    return _listed(off)


def _off_lon_lat(lon: np.ndarray, lat: np.ndarray) -> str:
    """The points further than the tolerance from OS's ETRS89 lon/lat, in metres on GRS80."""
    _, _, off = _GRS80.inv(lon, lat, LON, LAT)
    return _listed(np.abs(off))


def _listed(off: np.ndarray) -> str:
    bad = [f"{POINTS[i]} {off[i]:.3f} m" for i in np.flatnonzero(~(off <= TO_A_DECIMETRE))]
    return ", ".join(bad)


def test_python_puts_os_test_points_on_the_grid_by_ostn15() -> None:
    easting, northing = to_grid().transform(LON, LAT)
    assert _off_grid(np.asarray(easting), np.asarray(northing)) == ""


def test_python_puts_os_grid_positions_at_their_lon_lat() -> None:
    lon, lat = to_wgs84().transform(EASTING, NORTHING)
    assert _off_lon_lat(np.asarray(lon), np.asarray(lat)) == ""


def test_postgis_puts_os_test_points_on_the_grid_by_ostn15(db: Session) -> None:
    rows = db.execute(
        text(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT n, ST_Transform(ST_SetSRID("
            "  ST_MakePoint(lon, lat), 4326), 27700) AS p "
            "  FROM unnest(CAST(:lon AS float8[]), CAST(:lat AS float8[])) "
            "  WITH ORDINALITY AS given(lon, lat, n)) AS moved ORDER BY n"
        ),
        {"lon": LON.tolist(), "lat": LAT.tolist()},
    ).all()
    easting, northing = np.array(rows, dtype=float).T
    assert _off_grid(easting, northing) == "", server_transformation(db)


def test_postgis_puts_os_grid_positions_at_their_lon_lat(db: Session) -> None:
    rows = db.execute(
        text(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT n, ST_Transform(ST_SetSRID("
            "  ST_MakePoint(e, nn), 27700), 4326) AS p "
            "  FROM unnest(CAST(:e AS float8[]), CAST(:n AS float8[])) "
            "  WITH ORDINALITY AS given(e, nn, n)) AS moved ORDER BY n"
        ),
        {"e": EASTING.tolist(), "n": NORTHING.tolist()},
    ).all()
    lon, lat = np.array(rows, dtype=float).T
    assert _off_lon_lat(lon, lat) == "", server_transformation(db)


def test_python_and_postgis_agree_to_the_millimetre(db: Session) -> None:
    python = np.column_stack(to_grid().transform(LON, LAT))
    postgis = np.array(
        db.execute(
            text(
                "SELECT ST_X(p), ST_Y(p) FROM (SELECT n, ST_Transform(ST_SetSRID("
                "  ST_MakePoint(lon, lat), 4326), 27700) AS p "
                "  FROM unnest(CAST(:lon AS float8[]), CAST(:lat AS float8[])) "
                "  WITH ORDINALITY AS given(lon, lat, n)) AS moved ORDER BY n"
            ),
            {"lon": LON.tolist(), "lat": LAT.tolist()},
        ).all(),
        dtype=float,
    )
    assert float(np.abs(python - postgis).max()) < 0.001


# A place 0.6 m inside Brixton Acre Lane, whose boundary with Clapham East runs north-south
# here for 60 m: the Helmert fallback moves a point given on the grid 1.7 m west, across it.
PLACE_LON, PLACE_LAT = -0.1293467, 51.4628724
BRIXTON_ACRE_LANE = "E05014095"


def test_a_place_given_as_lon_lat_or_easting_northing_lands_in_the_same_ward(db: Session) -> None:
    import osgb  # an independent OSTN15: the OS formulas and shift table in pure Python

    easting, northing = osgb.ll_to_grid(PLACE_LAT, PLACE_LON)
    common = {"categories": "isolated", "date": "2025-01-10", "time_band": "night"}
    as_lon_lat = pd.DataFrame([{"lon": str(PLACE_LON), "lat": str(PLACE_LAT)} | common])
    as_grid = pd.DataFrame([{"easting": f"{easting:.3f}", "northing": f"{northing:.3f}"} | common])
    wards = []
    for given in (as_lon_lat, as_grid):
        parsed = parse_report_rows(given.astype(str), categories=("isolated",))
        assert parsed.problems == ()
        row = parsed.frame.iloc[0]
        wards.append(lookup_ward(db, float(row["lon"]), float(row["lat"])).code)
    assert wards == [BRIXTON_ACRE_LANE, BRIXTON_ACRE_LANE]


def test_transformation_of_names_the_helmert_position_and_its_distance() -> None:
    # Where PROJ's Helmert fallback (EPSG:27700 without the grid) puts OS's TP09, Lambeth.
    said = transformation_of(530626.705, 178388.625)
    assert said.startswith("not OSTN15: OS test point TP09 (Lambeth) lands 1.74 m")
    assert transformation_of(*CHECK_POINT_GRID) == OSTN15


def _in_fresh_python(proj_dir: Path, script: str) -> dict[str, str]:
    env = {**os.environ, "WALKTALK_PROJ_DIR": str(proj_dir)}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, str] = json.loads(done.stdout)
    return result


_REPORT = """
import json
from geo.grid import GridMissing, python_transformation, to_grid, to_wgs84
said = {"python": python_transformation()}
for name, build in (("to_grid", to_grid), ("to_wgs84", to_wgs84)):
    try:
        build()
        said[name] = "built"
    except GridMissing as exc:
        said[name] = "refused: " + str(exc)
print(json.dumps(said))
"""


def test_without_the_grid_the_transformers_refuse_the_helmert_fallback(tmp_path: Path) -> None:
    said = _in_fresh_python(tmp_path, _REPORT)
    for name in ("to_grid", "to_wgs84"):
        assert said[name].startswith(f"refused: the OSTN15 grid {GRID_NAME} is not in {tmp_path}")
        assert "run `make grid`" in said[name]
    assert said["python"] == said["to_wgs84"].removeprefix("refused: ")


def test_the_set_up_command_writes_a_grid_that_proj_uses(tmp_path: Path) -> None:
    built = subprocess.run(
        [sys.executable, "-m", "geo.ostn15", str(tmp_path / GRID_NAME)],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stderr
    assert f"wrote the OSTN15 grid to {tmp_path / GRID_NAME}" in built.stdout
    said = _in_fresh_python(tmp_path, _REPORT)
    assert said == {"python": OSTN15, "to_grid": "built", "to_wgs84": "built"}


def test_healthz_says_python_and_the_database_use_ostn15(client: TestClient) -> None:
    body = client.get("/healthz").json()
    assert body["bng_transformation"] == {"python": OSTN15, "database": OSTN15}

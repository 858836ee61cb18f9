"""Whole-file imports with `walktalk reports import` and `walktalk crimes import`, on PostGIS."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pandas as pd
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from boundaries.bundled import PILOT_WARDS

DATA = Path(__file__).parents[1] / "data" / "police_uk"
CITY_2019 = sorted((DATA / "city_of_london_police_2019").glob("*.csv"))
API_JSON = DATA / "api_trafalgar_square_1mile_2025-12" / "crimes_london.json"
Run = Callable[..., tuple[int, str, str]]
HEADER = ["lon", "lat", "categories", "date", "time_band", "occurred_at", "text"]
ROWS = [
    ["-0.1136", "51.5033", "poor_lighting", "2026-11-02", "evening", "", "no lights"],
    ["-0.0909", "51.5055", "followed;isolated", "", "", "2026-10-01T19:30:00", ""],
    ["-0.1000", "51.4700", "underpass_alley_park_path", "2026-09-14", "night", "", ""],
]


def _count(url: str, sql: str) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        value = int(conn.execute(text(sql)).scalar_one())
    engine.dispose()
    return value


def _write(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_a_good_csv_imports_once(walktalk: Run, fresh_db: str, tmp_path: Path) -> None:
    path = _write(tmp_path / "reports.csv", ROWS)
    code, out, err = walktalk("reports", "import", str(path))
    assert code == 0, err
    assert "stored 3 reports" in out
    assert (
        _count(
            fresh_db,
            "SELECT count(*) FROM reports WHERE source = 'imported' "
            "AND status = 'published' AND import_id IS NOT NULL",
        )
        == 3
    )
    code, out, _ = walktalk("reports", "import", str(path))
    assert code == 0 and "imported before" in out
    assert _count(fresh_db, "SELECT count(*) FROM reports") == 3


def test_one_bad_row_stores_nothing_and_names_the_row(
    walktalk: Run, fresh_db: str, tmp_path: Path
) -> None:
    bad = [
        *ROWS[:2],
        ["-0.1276", "51.5007", "poor_lighting", "2026-11-02", "evening", "", ""],
        ROWS[2],
        ["-0.1", "51.47", "dark_alley", "2026-11-02", "evening", "", ""],
    ]
    path = _write(tmp_path / "bad.csv", bad)
    code, _, err = walktalk("reports", "import", str(path))
    assert code == 1
    assert "bad.csv: line 4: the point is outside the area this service covers" in err
    assert "bad.csv: line 6:" in err and "dark_alley" in err
    assert "2 bad rows, nothing stored" in err
    assert _count(fresh_db, "SELECT count(*) FROM reports") == 0
    assert _count(fresh_db, "SELECT count(*) FROM imports") == 0

    code, out, err = walktalk("reports", "import", str(path), "--skip-invalid")
    assert code == 0, err
    assert "stored 3 reports" in out and "skipped 2 bad rows" in out
    with (tmp_path / "bad.rejects.csv").open() as handle:
        rejects = list(csv.DictReader(handle))
    assert [r["line"] for r in rejects] == ["4", "6"]
    assert _count(fresh_db, "SELECT count(*) FROM reports") == 3


def test_british_national_grid_columns_and_geojson(
    walktalk: Run, fresh_db: str, tmp_path: Path
) -> None:
    bng = _write(
        tmp_path / "bng.csv",
        [["531000", "180000", "no_cctv", "2026-11-03", "daytime"]],
        header=["x", "y", "categories", "date", "time_band"],
    )
    code, _, err = walktalk(
        "reports", "import", str(bng), "--easting-field", "x", "--northing-field", "y"
    )
    assert code == 0, err
    features = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [-0.1136, 51.5033]},
                "properties": {
                    "categories": ["neglected"],
                    "date": "2026-11-04",
                    "time_band": "night",
                },
            }
        ],
    }
    (tmp_path / "r.geojson").write_text(json.dumps(features))
    code, _, err = walktalk("reports", "import", str(tmp_path / "r.geojson"))
    assert code == 0, err
    assert _count(fresh_db, "SELECT count(*) FROM reports WHERE ward_code IS NOT NULL") == 2


def test_police_uk_city_of_london_csvs_twice_leave_the_same_rows(
    walktalk: Run, fresh_db: str
) -> None:
    raw = [pd.read_csv(p, dtype=str, keep_default_na=False) for p in CITY_2019]
    with_location = sum(int((f["Longitude"] != "").sum()) for f in raw)
    without = sum(int((f["Longitude"] == "").sum()) for f in raw)
    code, out, err = walktalk("crimes", "import", *map(str, CITY_2019))
    assert code == 0, err
    assert _count(fresh_db, "SELECT count(*) FROM crimes") == with_location
    skipped = sum(int(line.split("skipped ")[1].split()[0]) for line in out.splitlines())
    assert skipped == without
    code, out, _ = walktalk("crimes", "import", *map(str, CITY_2019))
    assert code == 0 and out.count("imported before") == len(CITY_2019)
    assert _count(fresh_db, "SELECT count(*) FROM crimes") == with_location


def test_police_uk_api_points_per_pilot_ward(walktalk: Run, fresh_db: str) -> None:
    records = json.loads(API_JSON.read_text())
    points = gpd.GeoDataFrame(
        geometry=gpd.points_from_xy(
            [float(r["location"]["longitude"]) for r in records],
            [float(r["location"]["latitude"]) for r in records],
        ),
        crs=4326,
    )
    wards = gpd.read_file(PILOT_WARDS.path)
    expected = (
        gpd.sjoin(points, wards[["WD24CD", "geometry"]], predicate="intersects")
        .groupby("WD24CD")
        .size()
        .to_dict()
    )
    code, _, err = walktalk("crimes", "import", str(API_JSON))
    assert code == 0, err
    engine = create_engine(fresh_db)
    with engine.connect() as conn:
        stored = {
            code: count
            for code, count in conn.execute(
                text(
                    "SELECT ward_code, count(*) FROM crimes WHERE ward_code IS NOT NULL "
                    "GROUP BY ward_code"
                )
            )
        }
        total = conn.execute(text("SELECT count(*) FROM crimes")).scalar_one()
    engine.dispose()
    assert stored == expected
    assert total == len(records)  # points outside every ward are kept, with no ward


def test_supervisors_import_over_the_api(
    client: TestClient, issue_token: Callable[..., str], tmp_path: Path
) -> None:
    supervisor = {"Authorization": f"Bearer {issue_token('supervisor', command_unit='AS')}"}
    good = _write(tmp_path / "api.csv", ROWS).read_bytes()
    bad = _write(
        tmp_path / "api-bad.csv", [*ROWS, ["x", "51.5", "isolated", "2026-11-01", "night", "", ""]]
    ).read_bytes()
    refused = client.post(
        "/imports", headers=supervisor, files={"file": ("api-bad.csv", bad, "text/csv")}
    )
    assert refused.status_code == 422
    assert [p["line"] for p in refused.json()["problems"]] == [5]
    created = client.post(
        "/imports", headers=supervisor, files={"file": ("api.csv", good, "text/csv")}
    )
    assert created.status_code == 201, created.text
    assert created.json()["stored"] == 3
    again = client.post(
        "/imports", headers=supervisor, files={"file": ("renamed.csv", good, "text/csv")}
    )
    assert again.json()["already_imported"] is True
    skipped = client.post(
        "/imports",
        headers=supervisor,
        data={"skip_invalid": "true"},
        files={"file": ("api-bad.csv", bad, "text/csv")},
    )
    assert skipped.json()["stored"] == 3
    assert [p["line"] for p in skipped.json()["skipped"]] == [5]
    partner = {"Authorization": f"Bearer {issue_token('partner', boroughs=['E09000022'])}"}
    assert (
        client.post(
            "/imports", headers=partner, files={"file": ("api.csv", good, "text/csv")}
        ).status_code
        == 403
    )

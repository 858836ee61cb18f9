"""Whole-file imports with `walktalk reports import` and `walktalk crimes import`, on PostGIS."""

from __future__ import annotations

import csv
import json
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from boundaries.bundled import PILOT_WARDS
from boundaries.reading import read_wards
from geo.darkness import DARK_BELOW_DEGREES, band_darkness, band_midpoint_utc, solar_elevation
from geo.reports import parse_report_csv
from service.queries import bulk
from service.queries import imports as import_queries
from service.queries import reports as report_queries
from service.queries.bulk import copy_binary
from service.taxonomy import SLUGS

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
    # Its good rows are api.csv's, stored already: the same rows are not stored twice.
    skipped = client.post(
        "/imports",
        headers=supervisor,
        data={"skip_invalid": "true"},
        files={"file": ("api-bad.csv", bad, "text/csv")},
    )
    assert skipped.json()["already_imported"] is True and skipped.json()["stored"] == 0
    new_rows = _write(
        tmp_path / "api-new.csv", [[*ROWS[0][:2], "isolated", *ROWS[0][3:]], [*ROWS[0][:1], "y"]]
    ).read_bytes()
    skipped = client.post(
        "/imports",
        headers=supervisor,
        data={"skip_invalid": "true"},
        files={"file": ("api-new.csv", new_rows, "text/csv")},
    )
    assert skipped.json()["stored"] == 1 and skipped.json()["skipped_rows"] == 1
    assert {p["line"] for p in skipped.json()["skipped"]} == {3}
    partner = {"Authorization": f"Bearer {issue_token('partner', boroughs=['E09000022'])}"}
    assert (
        client.post(
            "/imports", headers=partner, files={"file": ("api.csv", good, "text/csv")}
        ).status_code
        == 403
    )


# -- the storing path on PostGIS: binary COPY, wards, darkness, large loads ----------------


def _pilot_points(n: int, seed: int) -> tuple[pd.DataFrame, dict[int, str]]:
    """Random points strictly inside one pilot ward each, and each row's (line's) ward code."""
    rng = np.random.default_rng(seed)
    wards = read_wards(PILOT_WARDS.path).wards
    x0, y0, x1, y1 = wards.total_bounds
    lon = np.round(rng.uniform(x0, x1, n * 4), 6)
    lat = np.round(rng.uniform(y0, y1, n * 4), 6)
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs=4326)
    hits = gpd.sjoin(points, wards[["code", "geometry"]], predicate="within")
    once = hits[~hits.index.duplicated(keep=False)].iloc[:n]
    frame = pd.DataFrame({"lon": lon[once.index], "lat": lat[once.index]})
    return frame, dict(zip(range(2, n + 2), once["code"], strict=True))


def _csv_of(points: pd.DataFrame, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    n = len(points)
    exact = rng.random(n) < 0.3
    days = pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 600, n), unit="D")
    at = days + pd.to_timedelta(rng.integers(0, 1440, n), unit="min")
    frame = points.assign(
        categories=rng.choice(["poor_lighting", "isolated;followed", "no_cctv; other"], n),
        occurred_at=np.where(exact, at.strftime("%Y-%m-%dT%H:%M"), ""),
        date=np.where(exact, "", days.strftime("%Y-%m-%d")),
        time_band=np.where(exact, "", rng.choice(["early_morning", "night", "evening"], n)),
        text=np.where(rng.random(n) < 0.2, 'dark, "no" lights\nhere ✓', ""),
    )
    return frame.to_csv(index=False).encode()


def _catalogue(session: Session) -> dict[str, tuple[Any, ...]]:
    """The indexes and constraints of reports: name -> (definition, comment, oid, valid)."""
    indexes = session.execute(
        text(
            "SELECT i.relname, pg_get_indexdef(x.indexrelid), "
            "  obj_description(x.indexrelid, 'pg_class'), x.indexrelid::int, "
            "  x.indisvalid AND x.indisready AND x.indislive "
            "FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
            "WHERE x.indrelid = 'reports'::regclass"
        )
    ).all()
    constraints = session.execute(
        text(
            "SELECT conname, pg_get_constraintdef(oid), obj_description(oid, 'pg_constraint'), "
            "  oid::int, convalidated FROM pg_constraint WHERE conrelid = 'reports'::regclass"
        )
    ).all()
    return {f"index {r[0]}": tuple(r[1:]) for r in indexes} | {
        f"constraint {r[0]}": tuple(r[1:]) for r in constraints
    }


def _same_but_rebuilt(before: dict[str, tuple[Any, ...]], after: dict[str, tuple[Any, ...]]) -> set:
    """Check names, definitions, comments and validity match; return what was made anew."""
    assert before.keys() == after.keys()
    for name, (definition, comment, _oid, valid) in before.items():
        assert after[name][0] == definition, name
        assert after[name][1] == comment, name
        assert after[name][3] is True and valid is True, name
    return {name for name in before if after[name][2] != before[name][2]}


def _rebuilt_by_a_large_load(catalogue: dict[str, tuple[Any, ...]]) -> set[str]:
    """Every index and every key (primary, unique, foreign): all but the CHECK constraints.

    The primary key stays (updated row by row) while another table's foreign key needs it:
    requests to partners name the reports they stand on (``partner_request_backing``).
    """
    return {
        name
        for name, (definition, *_rest) in catalogue.items()
        if (name.startswith("index ") or not definition.startswith("CHECK"))
        and name not in KEPT_FOR_OTHER_TABLES
    }


#: Needed by ``partner_request_backing.report_id``'s foreign key: a large load keeps it.
KEPT_FOR_OTHER_TABLES = frozenset({"index reports_pkey", "constraint reports_pkey"})


def test_a_large_load_builds_every_index_again_exactly(
    db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(report_queries, "LARGE_LOAD_ROWS", 100)
    db.execute(text("COMMENT ON INDEX reports_geom_idx IS 'where reports are'"))
    db.execute(text("COMMENT ON CONSTRAINT reports_walk_id_fkey ON reports IS 'its walk'"))
    before = _catalogue(db)
    points, codes = _pilot_points(600, seed=1)
    outcome = import_queries.import_reports(db, _csv_of(points, 2), "big.csv", imported_by="t")
    assert outcome.stored == 600 and not outcome.rejected
    rebuilt = _same_but_rebuilt(before, _catalogue(db))
    assert rebuilt == _rebuilt_by_a_large_load(before)
    assert {
        "index reports_geom_idx",
        "constraint reports_import_id_fkey",
    } <= rebuilt
    assert not KEPT_FOR_OTHER_TABLES & rebuilt
    placed = db.execute(text("SELECT ST_X(geom), ST_Y(geom), ward_code FROM reports")).all()
    stored = {(x, y): code for x, y, code in placed}
    expected = {
        (lon, lat): codes[line]
        for line, lon, lat in zip(codes, points["lon"], points["lat"], strict=True)
    }
    assert stored == expected
    # The rebuilt keys and foreign keys work: a duplicate id and an unknown walk are refused,
    # and deleting the import removes its reports (ON DELETE CASCADE).
    any_id = db.execute(text("SELECT id FROM reports LIMIT 1")).scalar_one()
    for bad in (
        f"UPDATE reports SET id = (SELECT id FROM reports WHERE id <> '{any_id}' LIMIT 1) "
        f"WHERE id = '{any_id}'",
        f"UPDATE reports SET walk_id = gen_random_uuid() WHERE id = '{any_id}'",
    ):
        with pytest.raises(IntegrityError), db.begin_nested():
            db.execute(text(bad))
    db.execute(text("DELETE FROM imports WHERE file_name = 'big.csv'"))
    assert db.execute(text("SELECT count(*) FROM reports")).scalar_one() == 0


def test_a_large_load_matches_the_row_by_row_path(
    db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    points, _codes = _pilot_points(400, seed=3)
    data = _csv_of(points, 4)
    columns = (
        "round(ST_X(geom)::numeric, 6), round(ST_Y(geom)::numeric, 6), ward_code, borough_code, "
        "occurred_on, time_band, occurred_at, categories, text, source, status, "
        "round(sun_elevation::numeric, 9), is_dark, darkness_basis, text_redacted, "
        "received_hour = date_trunc('hour', now()), walk_id IS NULL"
    )
    found = []
    for threshold, name in ((10**9, "small.csv"), (100, "large.csv")):
        monkeypatch.setattr(report_queries, "LARGE_LOAD_ROWS", threshold)
        with db.begin_nested() as nested:
            import_queries.import_reports(db, data, name, imported_by="t")
            found.append(sorted(db.execute(text(f"SELECT {columns} FROM reports")).all()))
            sun = db.execute(
                text("SELECT ST_X(geom), ST_Y(geom), sun_elevation, is_dark FROM reports")
            )
            stored = {(x, y): (e, d) for x, y, e, d in sun}
            nested.rollback()
    assert len(found[0]) == 400
    assert found[0] == found[1]
    # The sun as geo.darkness gives it, row by row: at the instant, or over the band.
    rows = parse_report_csv(data, categories=SLUGS).frame
    lon, lat = rows["lon"].to_numpy(), rows["lat"].to_numpy()
    exact = rows["occurred_at"].notna().to_numpy()
    dates, bands = rows["occurred_on"].to_numpy()[~exact], rows["time_band"].to_numpy()[~exact]
    elevation = np.empty(len(rows))
    dark = np.empty(len(rows), dtype=bool)
    elevation[exact] = solar_elevation(lon[exact], lat[exact], rows["occurred_at"][exact])
    dark[exact] = elevation[exact] < DARK_BELOW_DEGREES
    midpoints = band_midpoint_utc(dates, bands)
    elevation[~exact] = solar_elevation(lon[~exact], lat[~exact], midpoints)
    dark[~exact] = band_darkness(lon[~exact], lat[~exact], dates, bands)[1]
    assert stored == {
        (x, y): (e, d) for x, y, e, d in zip(lon, lat, elevation.tolist(), dark, strict=True)
    }
    assert dark.any() and not dark.all()


def test_a_load_into_a_larger_table_updates_the_indexes_in_place(
    db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(report_queries, "LARGE_LOAD_ROWS", 100)
    points, _codes = _pilot_points(500, seed=5)
    import_queries.import_reports(db, _csv_of(points.iloc[:300], 6), "first.csv", imported_by="t")
    before = _catalogue(db)
    # 200 rows into a table of 300: cheaper to update the indexes than to build them again.
    outcome = import_queries.import_reports(
        db, _csv_of(points.iloc[300:], 7), "second.csv", imported_by="t"
    )
    assert outcome.stored == 200
    assert _same_but_rebuilt(before, _catalogue(db)) == set()
    assert db.execute(text("SELECT count(DISTINCT id) FROM reports")).scalar_one() == 500


def test_a_refused_or_failed_large_load_leaves_the_table_as_it_was(
    db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(report_queries, "LARGE_LOAD_ROWS", 100)
    before = _catalogue(db)
    points, _codes = _pilot_points(300, seed=8)
    outside = pd.DataFrame({"lon": [-0.1276], "lat": [51.5007]})  # Westminster: not pilot
    data = _csv_of(pd.concat([points, outside], ignore_index=True), 9)
    with pytest.raises(import_queries.ImportRefused) as refused, db.begin_nested():
        import_queries.import_reports(db, data, "refused.csv", imported_by="t")
    assert [p.line for p in refused.value.problems] == [302]
    assert _same_but_rebuilt(before, _catalogue(db)) == set()

    # A failure after the indexes were dropped: the rollback brings them back unchanged.
    def broken_copy(session: Session, table: str, *args: Any, **kwargs: Any) -> int:
        if table == "reports":
            raise RuntimeError("the connection went away")
        return copy_binary(session, table, *args, **kwargs)

    monkeypatch.setattr(report_queries, "copy_binary", broken_copy)
    nested = db.begin_nested()
    with pytest.raises(RuntimeError, match="went away"):
        import_queries.import_reports(db, _csv_of(points, 10), "failed.csv", imported_by="t")
    assert _catalogue(db).keys() < before.keys()  # dropped, mid-load
    nested.rollback()
    assert _same_but_rebuilt(before, _catalogue(db)) == set()
    assert db.execute(text("SELECT count(*) FROM reports")).scalar_one() == 0


def test_stored_ids_are_distinct_random_uuids_and_returned(db: Session) -> None:
    points, _codes = _pilot_points(50, seed=11)
    rows = parse_report_csv(_csv_of(points, 12), categories=SLUGS).frame
    result = report_queries.store_reports(db, rows, source="synthetic", status="published")
    assert result.stored == 50 and len(set(result.ids)) == 50
    assert {i.version for i in result.ids} == {4}
    stored = set(db.execute(text("SELECT id FROM reports")).scalars())
    assert stored == set(result.ids)


def test_binary_copy_round_trips_every_kind_of_value(db: Session) -> None:
    db.execute(
        text(
            "CREATE TEMP TABLE trip (n integer, x float8, ok boolean, d date, t timestamptz, "
            "g geometry(Point, 4326), s text, c text[], u uuid, b bigint)"
        )
    )
    n = 7
    words = ["", "a", None, "tab\tand\nnewline", "café ✓", "x" * 300, "a"]
    lists = [["poor_lighting"], [], ["isolated", "followed"]]
    at = np.array(["2024-10-27T00:30", "NaT", "1999-12-31T23:59:59.999999"] + ["NaT"] * 4)
    columns = [
        bulk.int4("n", np.arange(n) - 3),
        bulk.float8("x", np.array([0.1, -0.0, 1e300, -2.5, np.pi, 7.0, 8.0])),
        bulk.boolean("ok", np.arange(n) % 2 == 0),
        bulk.date("d", np.array(["2000-01-01", "1970-01-01", "2026-12-01", "NaT"] * 2)[:n]),
        bulk.timestamptz("t", at.astype("datetime64[us]")),
        bulk.point("g", np.linspace(-0.2, 0.1, n), np.linspace(51.4, 51.6, n)),
        bulk.texts("s", np.array(words, dtype=object)),
        bulk.text_arrays("c", np.arange(n) % 3, lists),
        bulk.uuid4("u", n, ascending=True),
        bulk.constant("b", struct.pack(">q", -(2**40)), n),
    ]
    assert bulk.copy_binary(db, "trip", columns, chunk_rows=3) == n
    back = db.execute(
        text(
            "SELECT n, x, ok, d::text, to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), "
            "ST_X(g), ST_Y(g), ST_SRID(g), s, c, u, b FROM trip ORDER BY n"
        )
    ).all()
    ids = bulk.uuids(columns[8])  # type: ignore[arg-type]
    assert ids == sorted(ids)
    for i, row in enumerate(back):
        assert row[0] == i - 3
        assert row[1] == [0.1, -0.0, 1e300, -2.5, np.pi, 7.0, 8.0][i]
        assert row[2] is (i % 2 == 0)
        assert row[3] == (["2000-01-01", "1970-01-01", "2026-12-01", None] * 2)[i]
        assert row[4] == {0: "2024-10-27 00:30:00.000000", 2: "1999-12-31 23:59:59.999999"}.get(i)
        assert (row[5], row[6], row[7]) == (
            np.linspace(-0.2, 0.1, n)[i],
            np.linspace(51.4, 51.6, n)[i],
            4326,
        )
        assert row[8] == words[i]
        assert row[9] == lists[i % 3]
        assert row[10] == ids[i]
        assert row[11] == -(2**40)


def test_a_large_load_with_skip_invalid_stores_the_good_rows(
    db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(report_queries, "LARGE_LOAD_ROWS", 100)
    before = _catalogue(db)
    points, _codes = _pilot_points(250, seed=13)
    outside = pd.DataFrame({"lon": [-0.1276, 0.5], "lat": [51.5007, 51.5]})
    data = _csv_of(pd.concat([points.iloc[:100], outside, points.iloc[100:]]), 14)
    data = data.replace(b"\n-0.1", b"\nwest", 1)  # and one unreadable longitude (line 2)
    outcome = import_queries.import_reports(
        db, data, "mixed.csv", imported_by="t", skip_invalid=True
    )
    assert outcome.stored == 249
    assert [p.line for p in outcome.rejected] == [2, 102, 103]
    assert outcome.rejected[0].reason.startswith("longitude 'west")
    assert _same_but_rebuilt(before, _catalogue(db)) == _rebuilt_by_a_large_load(before)
    assert db.execute(text("SELECT rows_stored, rows_skipped FROM imports")).one() == (249, 3)


def test_progress_is_told_as_the_rows_go_in(db: Session) -> None:
    points, _codes = _pilot_points(300, seed=15)
    told: list[tuple[int, int]] = []
    import_queries.import_reports(
        db,
        _csv_of(points, 16),
        "told.csv",
        imported_by="t",
        progress=lambda done, total: told.append((done, total)),
    )
    assert told and told[-1] == (300, 300)
    assert [done for done, _ in told] == sorted(done for done, _ in told)
    # A file that will be refused is still checked as a whole, and the checking is told.
    told.clear()
    bad = _csv_of(points, 17).replace(b"\n-0.1", b"\nwest", 1)
    with pytest.raises(import_queries.ImportRefused):
        import_queries.import_reports(
            db, bad, "bad.csv", imported_by="t", progress=lambda d, t: told.append((d, t))
        )
    assert told[-1] == (299, 299)

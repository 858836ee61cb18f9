"""`walktalk db backup` and `walktalk db restore`: a round trip keeps every row of every table.

The source is a clone of the migrated template filled through the CLI as an operator fills it
(OpenStreetMap streets and the routing network, the demo's reports, walks with routes,
concerns, surveys, patrols, requests to partners and street lights, an imported CSV, the
resident population, tokens and their audit lines). It is backed up, restored into a new,
empty database (no PostGIS even), and each table compared by row count and an md5 of its
rows; then refusals: a database holding data without --replace, a missing file, a truncated
file and a corrupted one each exit non-zero with a clear message and change nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import sql
from sqlalchemy import make_url

from service.db import head_revision
from tests.walks import walk_with_route

ROOT = Path(__file__).resolve().parent.parent
OSM = sorted((ROOT / "data" / "osm").glob("*.osm"))
CRIMES = sorted((ROOT / "data" / "police_uk" / "city_of_london_police_2019").glob("*.csv"))[:1]
Run = Callable[..., tuple[int, str, str]]

# Tables an operator's data lives in: each must hold rows in the source, so the comparison
# below is not a comparison of empty tables.
MUST_HOLD_ROWS = (
    "reports",
    "imports",
    "crimes",
    "walks",
    "buddies",
    "buddy_contacts",
    "buddy_surveys",
    "participation_requests",
    "participation_contacts",
    "safeguarding",
    "officers",
    "api_tokens",
    "audit_log",
    "partner_requests",
    "partner_request_events",
    "lsoa_population",
    "ward_population",
    "assets",
    "asset_inventories",
    "osm_features",
    "street_edges",
    "street_vertices",
    "wards",
    "boroughs",
    "alembic_version",
)


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def snapshot(url: str) -> dict[str, Any]:
    """Every table of the public schema: (rows, md5 of its rows in text order); extensions."""
    tables: dict[str, tuple[int, str]] = {}
    with psycopg.connect(_libpq(url)) as conn:
        names = [
            str(r[0])
            for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
            )
        ]
        for name in names:
            row = conn.execute(
                sql.SQL(
                    "SELECT count(*), coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), "
                    "'') FROM public.{} AS t"
                ).format(sql.Identifier(name))
            ).fetchone()
            assert row is not None
            tables[name] = (int(row[0]), str(row[1]))
        extensions = sorted(
            (str(r[0]), str(r[1]))
            for r in conn.execute("SELECT extname, extversion FROM pg_extension")
        )
        revision = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    return {"tables": tables, "extensions": extensions, "revision": revision}


def _reports_csv(path: Path, rows: int) -> Path:
    lines = ["lon,lat,categories,date,time_band"]
    for i in range(rows):
        lon, lat = -0.115 + i * 1e-4, 51.5 + i * 5e-5
        lines.append(f"{lon:.6f},{lat:.6f},poor_lighting,2026-06-01,night")
    path.write_text("\n".join(lines) + "\n")
    return path


def _fill(walktalk: Run, tmp_path: Path) -> None:
    """Rows in every table that matters, put there the way an operator would."""
    for argv in (
        ("osm", "load", *map(str, OSM)),
        ("demo", "seed", "--count", "6000", "--walks", "6", "--streets", *map(str, OSM)),
        ("reports", "import", str(_reports_csv(tmp_path / "council.csv", 40))),
        ("population", "load"),
        ("crimes", "import", *map(str, CRIMES)),
        ("tokens", "create", "--role", "officer", "--ward", "E05014118", "--name", "PC B"),
        ("tokens", "create", "--role", "partner", "--borough", "E09000022", "--name", "LBL"),
    ):
        code, out, err = walktalk(*argv)
        assert code == 0, (argv, out, err)


@pytest.fixture
def source(
    walktalk: Run,
    fresh_db: str,
    tmp_path: Path,
    client: TestClient,
    people: dict[str, dict[str, str]],
) -> str:
    """The filled clone's URL (the CLI, then the service's own API on the same database)."""
    _fill(walktalk, tmp_path)
    # What only the service writes: a public report, a request to take part with its
    # contact, and the audit line of a supervisor's read.
    report = {"lon": -0.1136, "lat": 51.5033, "categories": ["isolated"], "date": "2026-11-20",
              "time_band": "evening"}
    assert client.post("/reports", json=report).status_code == 201
    asked = client.post(
        "/take-part",
        data={"ward": "E05014118", "availability": ["evening"], "contact": "07700 900123",
              "consent": "yes"},
        follow_redirects=False,
    )
    assert asked.status_code == 303, asked.text
    walk_with_route(client, people)  # a real officer, a buddy with her contact, a route
    assert client.get("/audit", headers=people["supervisor"]).status_code == 200
    return fresh_db


def test_a_backup_restored_into_a_new_database_has_every_row_of_every_table(
    source: str,
    empty_db: str,
    walktalk: Run,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    before = snapshot(source)
    tables = before["tables"]
    assert isinstance(tables, dict)
    empty = [name for name in MUST_HOLD_ROWS if tables[name][0] == 0]
    assert empty == [], f"the source should hold rows in {empty}"
    assert len(tables) >= 30  # every table of the migrations, compared below
    assert {"postgis", "pgrouting"} <= {name for name, _ in before["extensions"]}

    backup = tmp_path / "backups" / "walktalk.dump"
    code, _, err = walktalk("db", "backup", str(backup))
    assert code == 1 and "no such folder" in err and "create it" in err
    backup.parent.mkdir()
    code, out, err = walktalk("db", "backup", str(backup))
    assert code == 0, err
    assert f"to {backup}" in out and f"migration {head_revision()}" in out
    assert f"reports {tables['reports'][0]:,} rows" in out
    assert backup.read_bytes()[:5] == b"PGDMP"  # pg_dump's custom format
    assert not list(backup.parent.glob(".*partial"))
    code, _, err = walktalk("db", "backup", str(backup))
    assert code == 1 and "already exists" in err  # never overwritten

    # Into a new database that has nothing, not even PostGIS.
    monkeypatch.setenv("DATABASE_URL", empty_db)
    code, out, err = walktalk("db", "restore", str(backup))
    assert code == 0, err
    assert f"migration {head_revision()}" in out and "replaced" not in out
    after = snapshot(empty_db)
    assert after == before  # every table's rows, the extensions and the migration

    # Now it holds data: refused without --replace, saying what it holds and how to go on.
    code, out, err = walktalk("db", "restore", str(backup))
    assert code == 1
    assert "holds data" in err and "reports" in err and "--replace" in err
    assert "walktalk db backup" in err
    assert snapshot(empty_db) == before

    # With --replace every object is dropped and the backup loaded again, in one go.
    code, out, err = walktalk("db", "restore", "--replace", str(backup))
    assert code == 0, err
    assert "replaced what database" in out
    assert snapshot(empty_db) == before


def test_a_missing_or_damaged_backup_changes_nothing(
    source: str, walktalk: Run, tmp_path: Path
) -> None:
    backup = tmp_path / "good.dump"
    code, _, err = walktalk("db", "backup", str(backup))
    assert code == 0, err
    with psycopg.connect(_libpq(source), autocommit=True) as conn:
        # A change after the backup: a restore that went ahead would undo it.
        conn.execute("DELETE FROM reports WHERE id IN (SELECT id FROM reports LIMIT 7)")
    before = snapshot(source)

    code, out, err = walktalk("db", "restore", "--replace", str(tmp_path / "nope.dump"))
    assert code == 1
    assert "no such file" in err and "nope.dump" in err and "walktalk db backup" in err

    data = backup.read_bytes()
    truncated = tmp_path / "truncated.dump"
    truncated.write_bytes(data[: len(data) // 2])
    corrupt = tmp_path / "corrupt.dump"
    middle = len(data) // 2
    corrupt.write_bytes(data[:middle] + bytes(b ^ 0x5A for b in data[middle : middle + 4096])
                        + data[middle + 4096 :])
    not_a_dump = tmp_path / "notes.dump"
    not_a_dump.write_text("reports,lon,lat\n")
    for bad in (truncated, corrupt, not_a_dump):
        code, out, err = walktalk("db", "restore", "--replace", str(bad))
        assert code == 1, (bad, out)
        assert "is not a complete walktalk backup" in err, err
        assert "unchanged" in err and bad.name in err
        assert snapshot(source) == before, bad


def test_a_role_that_is_not_a_superuser_restores_into_a_database_its_owner_prepared(
    source: str,
    server_url: str,
    walktalk: Run,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """As on a cloud PostGIS: the owner enabled the extensions; the app's role does the rest."""
    backup = tmp_path / "cloud.dump"
    code, _, err = walktalk("db", "backup", str(backup))
    assert code == 0, err
    before = snapshot(source)
    suffix = uuid.uuid4().hex[:8]
    role, dbname = f"app_{suffix}", f"walktalk_cloud_{suffix}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER").format(sql.Identifier(role)))
        admin.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(dbname), sql.Identifier(role)
            )
        )
    admin_url = make_url(server_url).set(database=dbname).render_as_string(hide_password=False)
    try:
        with psycopg.connect(admin_url, autocommit=True) as owner:
            owner.execute("CREATE EXTENSION postgis")
            owner.execute("CREATE EXTENSION pgrouting")
        app_url = make_url(admin_url).set(username=role).render_as_string(hide_password=False)
        with psycopg.connect(app_url) as conn:
            superuser = conn.execute(
                "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
            ).fetchone()
        assert superuser == (False,)
        monkeypatch.setenv("DATABASE_URL", app_url)
        for argv in (("db", "restore", str(backup)), ("db", "restore", "--replace", str(backup))):
            code, _, err = walktalk(*argv)
            assert code == 0, (argv, err)
            assert snapshot(admin_url) == before, argv
    finally:
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname))
            )
            admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))

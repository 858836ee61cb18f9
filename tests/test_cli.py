"""The `walktalk` command as a person runs it: wards load/list/activate and tokens, on PostGIS."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import Polygon
from sqlalchemy import create_engine, text

from boundaries.bundled import LONDON_WARDS_2018, PILOT_WARDS
from service.cli import main
from service.db import head_revision

Run = Callable[..., tuple[int, str, str]]


def _ward_sets(url: str) -> list[tuple[str, int, bool]]:
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT s.name, count(w.id), s.is_active FROM ward_sets s "
                "LEFT JOIN wards w ON w.ward_set_id = s.id GROUP BY s.id ORDER BY s.name"
            )
        ).all()
    engine.dispose()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def test_load_a_geopackage_in_bng_and_activate_it(
    walktalk: Run, fresh_db: str, tmp_path: Path
) -> None:
    london = gpd.read_file(LONDON_WARDS_2018.path)
    westminster = london[london["DISTRICT"] == "City of Westminster"]
    path = tmp_path / "westminster.gpkg"
    westminster.to_file(path, layer="wards_2018")
    code, out, err = walktalk("wards", "load", str(path), "--set", "westminster-2018", "--activate")
    assert code == 0, err
    assert f"{len(westminster)} wards from westminster.gpkg (EPSG:27700)" in out
    assert "activated 'westminster-2018'" in out
    assert ("westminster-2018", len(westminster), True) in _ward_sets(fresh_db)
    code, out, _ = walktalk("wards", "list")
    assert out.splitlines()[0].startswith("* westminster-2018")


def _refused(walktalk: Run, fresh_db: str, *argv: str) -> str:
    before = _ward_sets(fresh_db)
    code, _, err = walktalk(*argv)
    assert code == 1
    assert _ward_sets(fresh_db) == before, "a refused load stored something"
    return err


def test_refusals_store_nothing(walktalk: Run, fresh_db: str, tmp_path: Path) -> None:
    err = _refused(walktalk, fresh_db, "wards", "load", str(tmp_path / "missing.geojson"))
    assert "missing.geojson" in err

    notes = tmp_path / "notes.txt"
    notes.write_text("not a map\n")
    assert "notes.txt" in _refused(walktalk, fresh_db, "wards", "load", str(notes))

    wards = gpd.read_file(PILOT_WARDS.path)
    nameless = tmp_path / "nameless.geojson"
    wards.rename(columns={"WD24CD": "id_a", "WD24NM": "label"}).to_file(nameless)
    assert "--code-field" in _refused(walktalk, fresh_db, "wards", "load", str(nameless))

    doubled = tmp_path / "doubled.geojson"
    wards.assign(WD24CD=wards["WD24CD"].where(wards.index != 1, wards["WD24CD"][0])).to_file(
        doubled
    )
    err = _refused(walktalk, fresh_db, "wards", "load", str(doubled), "--set", "doubled")
    assert wards["WD24CD"][0] in err and "duplicate" in err

    err = _refused(
        walktalk, fresh_db, "wards", "load", str(PILOT_WARDS.path), "--set", "pilot-2024"
    )
    assert "already loaded" in err


def test_repaired_polygons_are_listed(walktalk: Run, fresh_db: str, tmp_path: Path) -> None:
    wards = gpd.read_file(PILOT_WARDS.path).head(3).copy()
    x0, y0, x1, y1 = wards.geometry[0].bounds
    wards.loc[0, "geometry"] = Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1)])  # a bow-tie
    assert not wards.geometry[0].is_valid
    path = tmp_path / "bowtie.geojson"
    wards.to_file(path)
    code, _, err = walktalk("wards", "load", str(path), "--set", "bowtie")
    assert code == 0, err
    assert f"repaired invalid polygons of 1 wards: {wards['WD24CD'][0]}" in err
    assert ("bowtie", 3, False) in _ward_sets(fresh_db)


def test_tokens_create_list_revoke(walktalk: Run) -> None:
    code, out, err = walktalk(
        "tokens",
        "create",
        "--role",
        "partner",
        "--borough",
        "E09000022",
        "--name",
        "Lambeth Council",
        "--expires",
        "90d",
    )
    assert code == 0, err
    token = out.strip()
    assert token.startswith("wt_") and len(token) >= 46
    assert "shown once" in err
    token_id = err.split("token ")[1].split()[0]
    code, out, _ = walktalk("tokens", "list")
    assert "Lambeth Council" in out and "active" in out and token not in out
    code, out, _ = walktalk("tokens", "revoke", token_id)
    assert code == 0 and "revoked" in out
    code, out, _ = walktalk("tokens", "list")
    assert "revoked" in out
    code, _, err = walktalk("tokens", "create", "--role", "partner", "--name", "x")
    assert code == 1 and "needs a scope" in err


def test_console_script_is_installed_and_exits_non_zero_on_refusal(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "walktalk"
    assert script.exists(), "pip install -e . did not install the walktalk script"
    help_text = subprocess.run([script, "--help"], capture_output=True, text=True, check=True)
    assert "wards" in help_text.stdout and "tokens" in help_text.stdout
    env = {
        "DATABASE_URL": "postgresql://nobody@/nothing?host=/nonexistent&port=5432",
        "PATH": "/usr/bin:/bin",
    }
    failed = subprocess.run([script, "wards", "list"], capture_output=True, text=True, env=env)
    assert failed.returncode == 1
    assert "walktalk db up" in failed.stderr


def test_demo_steps_on_an_empty_database_url(
    empty_db: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("DATABASE_URL", empty_db)
    monkeypatch.setenv("WALKTALK_HOME", str(tmp_path / "home"))
    assert main(["wards", "list"]) == 1
    assert "run `walktalk db migrate`" in capsys.readouterr().err
    assert main(["db", "migrate"]) == 0
    assert f"database migrated: empty → {head_revision()}" in capsys.readouterr().out
    assert main(["wards", "bundled", "--pilot-only"]) == 0
    out = capsys.readouterr().out
    assert "boroughs: 33 London boroughs stored" in out
    assert "activated 'pilot-2024'" in out
    assert _ward_sets(empty_db) == [("pilot-2024", 48, True)]
    assert main(["wards", "bundled", "--pilot-only"]) == 0  # a second run changes nothing
    assert "already loaded" in capsys.readouterr().out
    assert _ward_sets(empty_db) == [("pilot-2024", 48, True)]

"""Imports hardened (issue 9, items 2, 5, 6, 7 and 10), on PostGIS and real police.uk files.

* a point off the British National Grid (lon/lat swapped, New York) is a listed bad row or a
  422 in plain words, never a 500 or a traceback;
* several crime files are imported all or nothing;
* a big file of garbage is refused in bounded memory, with a short summary that counts rows;
* a file saved again with CRLF line endings or its columns reordered adds nothing;
* police.uk crimes flattened by common tools are read.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from geo.crimes import read_police_uk

ROOT = Path(__file__).parents[1]
DATA = ROOT / "data" / "police_uk"
CITY_2019 = sorted((DATA / "city_of_london_police_2019").glob("*.csv"))
API_JSON = DATA / "api_trafalgar_square_1mile_2025-12" / "crimes_london.json"
Run = Callable[..., tuple[int, str, str]]
HEADER = ["lon", "lat", "categories", "date", "time_band", "occurred_at", "text"]
ROWS = [
    ["-0.1136", "51.5033", "poor_lighting", "2026-11-02", "evening", "", "no lights"],
    ["-0.0909", "51.5055", "followed;isolated", "", "", "2026-10-01T19:30:00", ""],
    ["-0.1000", "51.4700", "underpass_alley_park_path", "2026-09-14", "night", "", ""],
]
NEW_YORK = ["-74.0060", "40.7128", "isolated", "2026-11-01", "night", "", ""]
SWAPPED = ["51.5033", "-0.1136", "isolated", "2026-11-01", "night", "", ""]


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


# -- item 2: points off the British National Grid --------------------------------------------


def test_a_public_report_with_lon_and_lat_swapped_is_refused_in_plain_words(
    client: TestClient,
) -> None:
    report = {"categories": ["poor_lighting"], "date": "2026-11-20", "time_band": "evening"}
    swapped = client.post("/reports", json={**report, "lon": 51.5033, "lat": -0.1136})
    assert swapped.status_code == 422, swapped.text
    assert swapped.headers["content-type"] == "application/problem+json"
    detail = swapped.json()["detail"]
    assert "outside the area the scheme covers (Lambeth and Southwark)" in detail
    assert "swapped" in detail
    # Plain words for the public: no ward-set names, codes or API paths.
    for system_word in ("/wards", "ward set", "pilot", "EPSG", "British National Grid"):
        assert system_word not in detail

    new_york = client.post("/reports", json={**report, "lon": -74.006, "lat": 40.7128})
    assert new_york.status_code == 422, new_york.text
    assert "outside the area the scheme covers (Lambeth and Southwark)" in new_york.json()["detail"]
    assert "swapped" not in new_york.json()["detail"]


def test_supervisors_import_of_points_off_the_grid_lists_them(
    client: TestClient, issue_token: Callable[..., str], tmp_path: Path
) -> None:
    supervisor = {"Authorization": f"Bearer {issue_token('supervisor', command_unit='AS')}"}
    data = _write(tmp_path / "off.csv", [*ROWS, NEW_YORK, SWAPPED]).read_bytes()
    refused = client.post(
        "/imports", headers=supervisor, files={"file": ("off.csv", data, "text/csv")}
    )
    assert refused.status_code == 422, refused.text
    problems = {p["line"]: p["reason"] for p in refused.json()["problems"]}
    assert sorted(problems) == [5, 6]
    assert "outside" in problems[5] and "swapped" not in problems[5]
    assert "outside" in problems[6] and "swapped" in problems[6]

    skipped = client.post(
        "/imports",
        headers=supervisor,
        data={"skip_invalid": "true"},
        files={"file": ("off.csv", data, "text/csv")},
    )
    assert skipped.status_code == 201, skipped.text
    assert skipped.json()["stored"] == 3
    assert [p["line"] for p in skipped.json()["skipped"]] == [5, 6]


def test_the_command_line_lists_points_off_the_grid(
    walktalk: Run, fresh_db: str, tmp_path: Path
) -> None:
    path = _write(tmp_path / "off.csv", [*ROWS, NEW_YORK, SWAPPED])
    code, _, err = walktalk("reports", "import", str(path))
    assert code == 1
    assert "Traceback" not in err
    assert "off.csv: line 5: the point is outside the area this service covers" in err
    assert "off.csv: line 6:" in err and "swapped" in err
    assert "2 bad rows" in err
    assert _count(fresh_db, "SELECT count(*) FROM reports") == 0

    code, out, err = walktalk("reports", "import", str(path), "--skip-invalid")
    assert code == 0, err
    assert "stored 3 reports" in out and "skipped 2 bad rows" in out
    with (tmp_path / "off.rejects.csv").open() as handle:
        assert [r["line"] for r in csv.DictReader(handle)] == ["5", "6"]
    assert _count(fresh_db, "SELECT count(*) FROM reports") == 3


# -- item 5: several files, one transaction ----------------------------------------------------


def test_crimes_from_several_files_are_stored_all_or_nothing(
    walktalk: Run, fresh_db: str, tmp_path: Path
) -> None:
    lines = CITY_2019[1].read_text(encoding="utf-8").splitlines(keepends=True)
    fields = next(csv.reader([lines[3]]))
    fields[9] = "Teleportation"
    lines[3] = ",".join(fields) + "\n"
    bad = tmp_path / "2019-02-bad.csv"
    bad.write_text("".join(lines), encoding="utf-8")

    code, _, err = walktalk("crimes", "import", str(CITY_2019[0]), str(bad))
    assert code == 1
    assert "2019-02-bad.csv" in err and "Teleportation" in err
    assert _count(fresh_db, "SELECT count(*) FROM crimes") == 0
    assert _count(fresh_db, "SELECT count(*) FROM imports") == 0


# -- item 6: a big bad file --------------------------------------------------------------------


def _garbage(rng: np.random.Generator, n: int, width: int) -> np.ndarray:
    """Junk cells, `n` of them, `width` letters each, nearly all distinct."""
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    return np.array(["".join(row) for row in rng.choice(letters, (n, width))])


def _run_measured(argv: list[str], env: dict[str, str]) -> tuple[int, str, str, int]:
    """Run a command in a child of a fresh interpreter; its exit code, output and peak RSS (KiB).

    The wrapper's own children are the command alone, so RUSAGE_CHILDREN is the command's.
    """
    wrapper = (
        "import json, resource, subprocess, sys\n"
        "done = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
        "print(json.dumps([done.returncode, done.stdout, done.stderr, peak]))\n"
    )
    finished = subprocess.run(
        [sys.executable, "-c", wrapper, *argv],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=True,
    )
    code, out, err, peak = json.loads(finished.stdout)
    return int(code), str(out), str(err), int(peak)


def _cli_env(fresh_db: str, tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": fresh_db, "WALKTALK_HOME": str(tmp_path / "home")}


# Peak RSS of the import of 600,000 junk rows, measured before and after the fix: reports
# (a 32 MB file) 1,754 MB -> 447 MB; crimes (43 MB) 859 MB -> 339 MB. The bounds leave margin.
REPORTS_PEAK_KIB = 700 * 1024
CRIMES_PEAK_KIB = 550 * 1024
GARBAGE_ROWS = 600_000


def test_a_big_garbage_reports_file_is_refused_in_bounded_memory(
    fresh_db: str, tmp_path: Path
) -> None:
    rng = np.random.default_rng(9)
    n = GARBAGE_ROWS
    path = tmp_path / "garbage.csv"
    pd.DataFrame(
        {
            "lon": _garbage(rng, n, 6),
            "lat": _garbage(rng, n, 6),
            "categories": _garbage(rng, n, 8),
            "date": _garbage(rng, n, 8),
            "time_band": _garbage(rng, n, 6),
            "occurred_at": "",
            "text": _garbage(rng, n, 12),
        }
    ).to_csv(path, index=False)
    assert path.stat().st_size > 30_000_000

    code, out, err, peak = _run_measured(
        [sys.executable, "-m", "service.cli", "reports", "import", str(path)],
        _cli_env(fresh_db, tmp_path),
    )
    assert code == 1, err
    assert "Traceback" not in err
    assert f"{n:,} bad rows, nothing stored (of {n:,} rows)" in err
    # Each kind of problem is counted in rows, and shown by its first ten rows.
    assert f"longitude is not a number: {n:,} rows" in err
    assert f"unknown category: {n:,} rows" in err
    assert err.count("garbage.csv: line ") <= 10 * 6
    assert "garbage.csv: line 2: longitude" in err
    assert len(out) + len(err) < 20_000
    assert peak < REPORTS_PEAK_KIB, f"peak RSS {peak // 1024} MiB"
    assert _count(fresh_db, "SELECT count(*) FROM reports") == 0


def test_a_big_garbage_crimes_file_is_refused_in_bounded_memory(
    fresh_db: str, tmp_path: Path
) -> None:
    rng = np.random.default_rng(10)
    n = GARBAGE_ROWS
    header = pd.read_csv(CITY_2019[0], nrows=0).columns
    path = tmp_path / "2019-13-garbage-street.csv"
    pd.DataFrame({name: _garbage(rng, n, 5) for name in header}).to_csv(path, index=False)
    assert path.stat().st_size > 30_000_000

    code, out, err, peak = _run_measured(
        [sys.executable, "-m", "service.cli", "crimes", "import", str(path)],
        _cli_env(fresh_db, tmp_path),
    )
    assert code == 1, err
    assert "Traceback" not in err
    assert f"{n:,} bad rows, nothing stored (of {n:,} rows)" in err
    # Each kind of problem is counted in rows, and shown by its first ten rows.
    for kind in ("unknown Crime type", "bad month", "non-numeric longitude/latitude"):
        assert f"{kind} at line 2: " in err
    assert err.count(f"and {n - 10:,} more ({n:,} rows)") == 3
    assert len(out) + len(err) < 20_000
    assert peak < CRIMES_PEAK_KIB, f"peak RSS {peak // 1024} MiB"
    assert _count(fresh_db, "SELECT count(*) FROM crimes") == 0


def test_the_answer_to_a_garbage_upload_is_small_and_counts_rows(
    client: TestClient, issue_token: Callable[..., str]
) -> None:
    supervisor = {"Authorization": f"Bearer {issue_token('supervisor', command_unit='AS')}"}
    rng = np.random.default_rng(11)
    n = 20_000
    data = (
        pd.DataFrame(
            {
                "lon": _garbage(rng, n, 5),
                "lat": "51.5",
                "categories": _garbage(rng, n, 5),
                "date": "2026-11-01",
                "time_band": "night",
            }
        )
        .to_csv(index=False)
        .encode()
    )
    refused = client.post(
        "/imports", headers=supervisor, files={"file": ("junk.csv", data, "text/csv")}
    )
    assert refused.status_code == 422
    body = refused.json()
    assert len(refused.content) < 20_000
    assert body["bad_rows"] == n
    assert {kind["kind"]: kind["rows"] for kind in body["problem_kinds"]} == {
        "longitude is not a number": n,
        "unknown category": n,
    }
    assert len(body["problems"]) == 20
    assert f"{n:,} bad rows, nothing stored (of {n:,} rows)" in body["detail"]

    skipped = client.post(
        "/imports",
        headers=supervisor,
        data={"skip_invalid": "true"},
        files={"file": ("junk.csv", data, "text/csv")},
    )
    assert skipped.status_code == 201
    assert len(skipped.content) < 20_000
    assert skipped.json()["stored"] == 0 and skipped.json()["skipped_rows"] == n


def test_rejects_lists_every_bad_row_in_line_order(
    walktalk: Run, fresh_db: str, tmp_path: Path
) -> None:
    bad_category = ["-0.1", "51.47", "dark_alley", "2026-11-02", "evening", "", ""]
    rows = [*ROWS, SWAPPED, *([bad_category] * 30), NEW_YORK]
    path = _write(tmp_path / "many.csv", rows)
    out_csv = tmp_path / "every-bad-row.csv"
    code, _, err = walktalk("reports", "import", str(path), "--rejects", str(out_csv))
    assert code == 1
    assert err.count("many.csv: line ") == 12  # ten of the unknown categories, two outside
    assert "32 bad rows, nothing stored (of 35 rows)" in err
    with out_csv.open() as handle:
        listed = [int(r["line"]) for r in csv.DictReader(handle)]
    assert listed == list(range(5, 37))
    assert _count(fresh_db, "SELECT count(*) FROM reports") == 0


# -- item 7: the same rows twice ---------------------------------------------------------------


def test_a_crlf_copy_of_a_police_uk_file_adds_nothing(
    walktalk: Run, fresh_db: str, tmp_path: Path
) -> None:
    code, _, err = walktalk("crimes", "import", str(CITY_2019[0]))
    assert code == 0, err
    stored = _count(fresh_db, "SELECT count(*) FROM crimes")
    crlf = tmp_path / "2019-01-city-of-london-street-crlf.csv"
    crlf.write_bytes(CITY_2019[0].read_bytes().replace(b"\n", b"\r\n"))
    assert crlf.read_bytes() != CITY_2019[0].read_bytes()
    code, out, err = walktalk("crimes", "import", str(crlf))
    assert code == 0, err
    assert "imported before" in out
    assert _count(fresh_db, "SELECT count(*) FROM crimes") == stored


def test_a_reports_file_saved_again_or_reordered_adds_nothing(
    walktalk: Run, fresh_db: str, tmp_path: Path
) -> None:
    first = _write(tmp_path / "reports.csv", ROWS)
    code, _, err = walktalk("reports", "import", str(first))
    assert code == 0, err
    crlf = tmp_path / "reports-crlf.csv"
    crlf.write_bytes(first.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
    order = [6, 2, 0, 1, 3, 4, 5]
    reordered = _write(
        tmp_path / "reports-reordered.csv",
        [[row[i] for i in order] for row in reversed(ROWS)],
        header=[HEADER[i] for i in order],
    )
    for again in (crlf, reordered):
        code, out, err = walktalk("reports", "import", str(again))
        assert code == 0, err
        assert "imported before" in out, again.name
    assert _count(fresh_db, "SELECT count(*) FROM reports") == 3
    assert _count(fresh_db, "SELECT count(*) FROM imports") == 1


# -- item 10: police.uk crimes as people have them ---------------------------------------------


def _flat_rows(items: list[dict]) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """The API's crimes flattened the two common ways: one tool's, and the shared flat CSV's."""
    tool, flat = [], []
    for item in items:
        location = item["location"]
        outcome = item["outcome_status"]
        tool.append(
            {
                "category": item["category"],
                "location_type": item["location_type"],
                "location": str(location),
                "context": item["context"],
                "outcome_status": "" if outcome is None else str(outcome),
                "persistent_id": item["persistent_id"],
                "id": str(item["id"]),
                "location_subtype": item["location_subtype"],
                "month": f"{item['month']}-01",
                "lat": location["latitude"],
                "lng": location["longitude"],
                "street_name": location["street"]["name"],
            }
        )
        flat.append(
            {
                "id": str(item["id"]),
                "persistent_id": item["persistent_id"],
                "month": item["month"],
                "category": item["category"],
                "latitude": location["latitude"],
                "longitude": location["longitude"],
                "street_id": str(location["street"]["id"]),
                "street_name": location["street"]["name"],
                "location_type": item["location_type"],
                "location_subtype": item["location_subtype"],
                "context": item["context"],
                "outcome_category": "" if outcome is None else outcome["category"],
                "outcome_date": "" if outcome is None else outcome["date"],
            }
        )
    return tool, flat


def _write_dicts(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_flattened_api_crimes_read_as_the_json_does(tmp_path: Path) -> None:
    items = json.loads(API_JSON.read_text(encoding="utf-8"))
    tool, flat = _flat_rows(items)
    expected = read_police_uk(API_JSON).crimes.drop(columns="line")
    for rows, name in ((tool, "tool.csv"), (flat, "flat.csv")):
        read = read_police_uk(_write_dicts(tmp_path / name, rows))
        assert read.rows_read == len(items)
        pd.testing.assert_frame_equal(read.crimes.drop(columns="line"), expected)


def test_a_csv_of_no_known_shape_names_the_shapes_read(tmp_path: Path) -> None:
    path = _write_dicts(tmp_path / "odd.csv", [{"category": "drugs", "place": "Strand"}])
    try:
        read_police_uk(path)
    except ValueError as exc:
        message = str(exc)
    else:
        raise AssertionError("a CSV without coordinates was read")
    assert "bulk-download CSV" in message
    assert "lat, lng" in message and "latitude, longitude" in message


def test_flattened_api_crimes_import_like_the_json(
    walktalk: Run, fresh_db: str, tmp_path: Path
) -> None:
    items = json.loads(API_JSON.read_text(encoding="utf-8"))
    tool, _ = _flat_rows(items)
    code, out, err = walktalk("crimes", "import", str(_write_dicts(tmp_path / "tool.csv", tool)))
    assert code == 0, err
    assert f"stored {len(items)} crimes" in out
    # The same crimes as JSON are the same rows: nothing is added.
    code, out, err = walktalk("crimes", "import", str(API_JSON))
    assert code == 0, err
    assert "imported before" in out
    assert _count(fresh_db, "SELECT count(*) FROM crimes") == len(items)

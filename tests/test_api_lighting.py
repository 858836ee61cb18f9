"""The planners' ranking and gaps through the API: order, protection, files, roles."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

import geopandas as gpd
import numpy as np
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from tests.walks import auth

LAMBETH = "E09000022"
# Lower Marsh and Waterloo Road (Lambeth), 400 m apart; a quiet street in Kennington.
BUSY, SOME, QUIET = (-0.1136, 51.4995), (-0.1085, 51.5010), (-0.1120, 51.4860)


def _reports(database_url: str, place: tuple[float, float], n: int, *, spread: float = 0.0002,
             seed: int = 1) -> None:
    """``n`` published reports about poor lighting made in the dark, around ``place``."""
    rng = np.random.default_rng(seed)
    engine = create_engine(database_url)
    with engine.begin() as conn:
        for k in range(n):
            conn.execute(
                text(
                    "INSERT INTO reports (geom, ward_code, borough_code, occurred_on, time_band, "
                    "categories, source, sun_elevation, is_dark, darkness_basis, status) "
                    "SELECT p, w.code, w.borough_code, :day, 'evening', '{poor_lighting}', "
                    "'public', -10, true, 'time_band', 'published' "
                    "FROM (SELECT ST_SetSRID(ST_MakePoint(:x, :y), 4326) AS p) given "
                    "LEFT JOIN wards w ON ST_Contains(w.geom, p) "
                    "AND w.ward_set_id = (SELECT id FROM ward_sets WHERE is_active)"
                ),
                {
                    "x": place[0] + rng.uniform(-spread, spread),
                    "y": place[1] + rng.uniform(-spread, spread),
                    "day": f"2026-{1 + k % 9:02d}-10",
                },
            )
    engine.dispose()


def _raise(client: TestClient, headers: dict, title: str, place: tuple[float, float]) -> str:
    answer = client.post(
        "/requests",
        headers=headers,
        json={"kind": "lighting", "title": title, "lon": place[0], "lat": place[1],
              "partner_borough": "Lambeth", "partner_team": "Street lighting"},
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["reference"])


def test_the_ranking_orders_by_evidence_and_protects_its_counts(
    client: TestClient, people: dict, app_settings: object,
    issue_token: Callable[..., str],
) -> None:
    database = str(app_settings.database_url)  # type: ignore[attr-defined]
    planner = auth(issue_token("planner", boroughs=[LAMBETH]))
    _reports(database, BUSY, 24)
    _reports(database, SOME, 6, seed=2)
    busy = _raise(client, planner, "Lower Marsh arches", BUSY)
    some = _raise(client, planner, "Waterloo Road", SOME)
    quiet = _raise(client, planner, "Kennington side street", QUIET)

    ranked = client.get("/lighting/ranking", headers=planner)
    assert ranked.status_code == 200, ranked.text
    features = ranked.json()["features"]
    assert [f["properties"]["reference"] for f in features] == [busy, some, quiet]
    first, second = features[0]["properties"], features[1]["properties"]
    # The planner sees counts rounded, and fewer than k as words; ranks are whole numbers.
    assert (first["total"], first["lighting"]) == ("25", "25")
    assert first["months"] == "fewer than 10"
    assert second["total"] == "fewer than 10"
    assert [f["properties"]["rank_in_borough"] for f in features] == [1, 2, 3]
    assert "fewer than 10" in " ".join(ranked.json()["method"])
    # The supervisor of Lambeth sees them exact.
    exact = client.get("/lighting/ranking", headers=people["supervisor"]).json()["features"]
    assert [f["properties"]["total"] for f in exact][:2] == [24, 6]

    # Files: the CSV starts its notes on the first row; the GeoPackage is on the Grid.
    rows = list(csv.DictReader(io.StringIO(
        client.get("/lighting/ranking.csv", headers=planner).text
    )))
    assert [r["reference"] for r in rows] == [busy, some, quiet]
    assert rows[0]["reports and concerns"] == "25" and "British National Grid" in rows[0]["notes"]
    gpkg = client.get("/lighting/ranking.gpkg?crs=27700", headers=planner)
    layer = gpd.read_file(io.BytesIO(gpkg.content), layer="ranking")
    assert layer.crs.to_epsg() == 27700 and layer["reference"].tolist() == [busy, some, quiet]

    # The council addressed sees its requests; the public none; a bad radius is a 422.
    partner = client.get("/lighting/ranking", headers=people["partner"]).json()["features"]
    assert len(partner) == 3
    assert client.get("/lighting/ranking", headers=people["public"]).status_code in (401, 403)
    wrong = client.get("/lighting/ranking?within=-5", headers=planner)
    assert wrong.status_code == 422
    assert client.get("/lighting/ranking.kml", headers=planner).status_code == 422


def test_gaps_are_hot_spots_inside_a_light_inventory_with_nothing_near(
    client: TestClient, app_settings: object, issue_token: Callable[..., str]
) -> None:
    database = str(app_settings.database_url)  # type: ignore[attr-defined]
    planner = auth(issue_token("planner", boroughs=[LAMBETH]))
    # A hot cluster over a few hexagons, and the rest of Lambeth lightly reported.
    _reports(database, BUSY, 1200, spread=0.006)
    rng = np.random.default_rng(5)
    for k in range(40):
        _reports(database, (rng.uniform(-0.14, -0.10), rng.uniform(51.43, 51.49)), 1, seed=k)
    before = client.get("/lighting/gaps", headers=planner)
    assert before.status_code == 200, before.text
    assert before.json()["features"] == []  # no inventory: no gap claimed anywhere

    engine = create_engine(database)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO asset_inventories (kind, name, file_name, sha256, attribution, "
                "coverage, coverage_note, assets, rows_skipped, loaded_by) VALUES ('light', "
                "'Lambeth test lights', 't.csv', 'x', 'test', ST_Multi(ST_MakeEnvelope(-0.2, "
                "51.4, 0, 51.6, 4326)), 'test', 0, 0, 'tests')"
            )
        )
    engine.dispose()
    gaps = client.get("/lighting/gaps?edge=250", headers=planner).json()
    assert gaps["features"], gaps["method"]
    props = gaps["features"][0]["properties"]
    assert props["unanswered"] not in (None, "0")
    assert "Outside every inventory's coverage no gap is claimed" in " ".join(gaps["method"])
    # A request by the busiest place answers the reports within 50 m of it: the supervisor's
    # exact counts of unanswered reports go down by those.
    supervisor = auth(issue_token("supervisor", command_unit="AS"))

    def unanswered() -> int:
        found = client.get("/lighting/gaps?edge=250", headers=supervisor).json()["features"]
        return sum(int(f["properties"]["unanswered"]) for f in found)

    before_request = unanswered()
    _raise(client, planner, "Lower Marsh arches", BUSY)
    assert 0 < unanswered() < before_request
    files = client.get("/lighting/gaps.csv?edge=250", headers=planner)
    assert files.status_code == 200 and "unanswered" in files.text.splitlines()[0]
    assert client.get("/lighting/gaps", headers={}).status_code in (401, 403)

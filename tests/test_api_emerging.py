"""Emerging hot spots over the API: a seeded cube's categories, disclosure, exports, bad input.

A fresh database holds eight quarters (2024-Q1 to 2025-Q4) of reports in Lambeth and
Southwark: a steady background of about two reports a hexagon a quarter, a cluster by
Waterloo that grows every quarter, and a cluster in Bermondsey that appears only in the last
quarter; committed, so the app's own engine sees them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import pyogrio
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from geo.disclosure import DisclosureRule, protect
from geo.emerging import CATEGORIES, emerging_hot_spots
from geo.grid import to_grid, to_wgs84
from geo.hexagons import hex_index
from service.queries.reports import store_reports
from service.settings import Settings

LAMBETH, SOUTHWARK = "E09000022", "E09000028"
RULE = DisclosureRule(k=10, base=5)
PERIOD = {"month_from": "2024-01", "month_to": "2025-12"}
QUARTERS = [date(2024 + q // 4, q % 4 * 3 + 1, 15) for q in range(8)]
EDGE = 500
# Waterloo (by the station) and Bermondsey (by the station), WGS84.
WATERLOO = (-0.1130, 51.5030)
BERMONDSEY = (-0.0640, 51.4980)


def _rows(lon: np.ndarray, lat: np.ndarray, on: list[date]) -> pd.DataFrame:
    n = len(lon)
    return pd.DataFrame(
        {
            "line": np.arange(1, n + 1),
            "lon": lon,
            "lat": lat,
            "categories": [["poor_lighting"]] * n,
            "occurred_at": pd.Series([pd.NaT] * n, dtype="datetime64[ns, UTC]"),
            "occurred_on": on,
            "time_band": ["evening"] * n,
            "text": [None] * n,
        }
    )


def _around(
    centre: tuple[float, float], n: int, rng: np.random.Generator, spread_m: float
) -> tuple[Any, Any]:
    # Spread over a few hexagons: Gi* finds clustered neighbourhoods, not one busy cell.
    x, y = to_grid().transform(*centre)
    return to_wgs84().transform(x + rng.normal(0, spread_m, n), y + rng.normal(0, spread_m, n))


@pytest.fixture
def seeded(app_settings: Settings) -> None:
    """Store the cube's reports in the app's database."""
    rng = np.random.default_rng(10)
    engine = create_engine(app_settings.database_url or "")
    with Session(engine) as session, session.begin():
        for q, day in enumerate(QUARTERS):
            spread = session.execute(
                text(
                    "SELECT ST_X(d.geom), ST_Y(d.geom) FROM (SELECT (ST_Dump(ST_GeneratePoints("
                    " ST_Union(w.geom), 250, :seed))).geom FROM wards w JOIN ward_sets s "
                    " ON s.id = w.ward_set_id AND s.is_active) d"
                ),
                {"seed": q + 1},
            ).all()
            lon = [p[0] for p in spread]
            lat = [p[1] for p in spread]
            # The Waterloo cluster: 30 reports in the first quarter, 30 more each quarter.
            grow_lon, grow_lat = _around(WATERLOO, 30 + 30 * q, rng, 700)
            lon += list(grow_lon)
            lat += list(grow_lat)
            if q == len(QUARTERS) - 1:
                new_lon, new_lat = _around(BERMONDSEY, 100, rng, 400)
                lon += list(new_lon)
                lat += list(new_lat)
            frame = _rows(np.array(lon), np.array(lat), [day] * len(lon))
            store_reports(session, frame, source="public", status="published", skip_outside=True)
    engine.dispose()


@pytest.fixture
def who(seeded: None, issue_token: Callable[..., str]) -> dict[str, dict[str, str]]:
    def bearer(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    return {
        "supervisor": bearer(issue_token("supervisor", command_unit="AS")),
        "partner": bearer(issue_token("partner", boroughs=[LAMBETH])),
        "public": {},
    }


def get(client: TestClient, path: str, headers: dict[str, str], **params: Any) -> Any:
    response = client.get(path, headers=headers, params={**PERIOD, **params})
    assert response.status_code == 200, response.text
    return response


def cells(collection: dict[str, Any]) -> dict[tuple[int, int], dict[str, Any]]:
    return {
        (f["properties"]["i"], f["properties"]["j"]): f["properties"]
        for f in collection["features"]
    }


def cell_of(point: tuple[float, float]) -> tuple[int, int]:
    x, y = to_grid().transform(*point)
    i, j = hex_index(np.array([x]), np.array([y]), EDGE)
    return int(i[0]), int(j[0])


def test_a_growing_cluster_is_intensifying_and_a_new_one_is_new(client, who):
    answer = get(client, "/hotspots/emerging", who["supervisor"], borough=[LAMBETH, SOUTHWARK])
    assert answer.headers["content-type"] == "application/geo+json"
    body = answer.json()
    assert body["steps"] == [f"{2024 + q // 4}-Q{q % 4 + 1}" for q in range(8)]
    assert body["step"] == "quarter" and body["disclosure"] is None
    seen = cells(body)
    growing = seen[cell_of(WATERLOO)]
    assert growing["category"] == "intensifying_hot", growing
    assert growing["hot_steps"] == 8 and growing["trend_p"] < 0.05 and growing["trend_tau"] > 0
    assert growing["counts"] == sorted(growing["counts"]) and len(growing["counts"]) == 8
    new = seen[cell_of(BERMONDSEY)]
    assert new["category"] == "new_hot", new
    assert new["hot_steps"] == 1 and max(new["counts"][:7]) * 5 < new["counts"][7]
    assert {p["category"] for p in seen.values()} <= set(CATEGORIES)
    assert sum(p["category"] == "no_pattern" for p in seen.values()) > len(seen) / 2
    method = " ".join(body["method"])
    assert "8 quarter steps (2024-Q1 to 2025-Q4)" in method
    assert "Mann-Kendall" in method and "p < 0.05" in method and "at most 0.05" in method
    assert "Period: January 2024 to December 2025" in method


def test_a_partner_gets_categories_only_where_the_total_reaches_k(client, who):
    exact = cells(get(client, "/hotspots/emerging", who["supervisor"], borough=LAMBETH).json())
    mine = get(client, "/hotspots/emerging", who["partner"]).json()
    assert mine["disclosure"] == {"suppressed_below": 10, "rounded_to": 5}
    shown = cells(mine)
    assert shown.keys() == exact.keys()
    small = [key for key, p in exact.items() if p["total"] < RULE.k]
    assert small, "the seed should leave some hexagons under k"
    for key, properties in shown.items():
        counts = [c for c in properties["counts"] if c is not None]
        assert all(c >= RULE.k and c % RULE.base == 0 for c in counts)
        if exact[key]["total"] < RULE.k:
            assert properties["total_suppressed"] and properties["total"] is None
            assert properties["category"] is None and properties["trend_p"] is None
            assert properties["hot_steps"] is None
            assert properties["category_label"] == "No category (total under k)"
            assert properties["counts"] == [None] * 8
        else:
            assert properties["total"] % RULE.base == 0
            assert properties["category"] in CATEGORIES
        # Every per-step count under k is blank, however large the total.
        for shown_count, exact_count in zip(
            properties["counts"], exact[key]["counts"], strict=True
        ):
            assert (shown_count is None) == (exact_count < RULE.k)
    # The categories are those of the partner's own protected counts, suppressed bins as 0.
    keys = list(exact)
    cube = np.array([exact[key]["counts"] for key in keys])
    protected, suppressed = protect(cube, RULE)
    expected = emerging_hot_spots(
        [i for i, _ in keys], [j for _, j in keys], np.where(suppressed, 0, protected)
    )
    for key, category in zip(keys, expected["category"], strict=True):
        if not shown[key]["total_suppressed"]:
            assert shown[key]["category"] == category, key
    # The growing cluster is hot in every quarter for the partner too.
    assert shown[cell_of(WATERLOO)]["hot_steps"] == 8


def test_downloads_carry_the_categories_and_the_note(client, who, tmp_path):
    partner = who["partner"]
    geojson = get(client, "/hotspots/emerging.geojson", partner)
    assert 'filename="emerging-hot-spots-quarter-500m-' in geojson.headers["content-disposition"]
    assert (
        geojson.json()["features"] == get(client, "/hotspots/emerging", partner).json()["features"]
    )
    table = list(csv.DictReader(io.StringIO(get(client, "/hotspots/emerging.csv", partner).text)))
    assert table[0]["notes"].startswith("A report is a place")
    assert "count_2025_Q4" in table[0] and table[0]["wkt"].startswith("POLYGON")
    suppressed = [r for r in table if r["total_suppressed"] == "true"]
    assert suppressed and all(r["category"] == "" and r["total"] == "" for r in suppressed)
    growing = next(r for r in table if (int(r["i"]), int(r["j"])) == cell_of(WATERLOO))
    as_json = cells(geojson.json())[cell_of(WATERLOO)]
    assert growing["category"] == as_json["category"] and growing["category"].endswith("_hot")
    assert growing["category_label"] == as_json["category_label"]
    assert [int(growing[f"count_{q}"]) for q in ("2025_Q3", "2025_Q4")] == as_json["counts"][6:]
    response = get(client, "/hotspots/emerging.gpkg", partner, crs=27700)
    path = tmp_path / "emerging.gpkg"
    path.write_bytes(response.content)
    frame = pyogrio.read_dataframe(path, layer="emerging_hot_spots")
    assert frame.crs.to_epsg() == 27700 and len(frame) == len(table)
    note = pyogrio.read_dataframe(path, layer="method_note")
    assert "Mann-Kendall" in " ".join(note["text"])


def test_bad_step_and_too_short_a_period_are_refused_with_the_fix(client, who):
    bad = client.get("/hotspots/emerging", params={"step": "week"})
    assert bad.status_code == 422
    assert "step must be one of quarter, month, not 'week'" in bad.json()["detail"]
    short = client.get(
        "/hotspots/emerging", params={"month_from": "2025-01", "month_to": "2025-09"}
    )
    assert short.status_code == 422
    assert "at least 5 time steps" in short.json()["detail"]
    assert "or use step=month" in short.json()["detail"]
    monthly = client.get(
        "/hotspots/emerging",
        params={"month_from": "2025-01", "month_to": "2025-09", "step": "month"},
    )
    assert monthly.status_code == 200 and len(monthly.json()["steps"]) == 9
    bad_edge = client.get("/hotspots/emerging.csv", params={**PERIOD, "edge": 300})
    assert bad_edge.status_code == 422

"""Hot spots and the heatmap over the API: roles, scopes, disclosure control, exports.

A fresh database holds the bundled police.uk crimes near Trafalgar Square (those in Lambeth
and Southwark) and 3,000 synthetic reports, denser around those crimes, some public, some
hidden; committed, so the app's own engine sees them.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from geo.disclosure import DisclosureRule, protect
from geo.hexagons import hex_index, hex_polygons
from geo.hotspots import CLASSES, hot_spots
from service.queries import demo, imports
from service.settings import Settings

LAMBETH, SOUTHWARK = "E09000022", "E09000028"
WATERLOO_WARD = "E05014118"  # Lambeth
RULE = DisclosureRule(k=10, base=5)
CRIMES = (
    Path(__file__).parents[1]
    / "data"
    / "police_uk"
    / "api_trafalgar_square_1mile_2025-12"
    / "crimes_london.json"
)
PROTECTED = ("partner", "planner", "public", "officer")
# Filter combinations a curious user might try, each on every route.
FILTERS: list[dict[str, Any]] = [
    {},
    {"dark": "true"},
    {"category": ["poor_lighting", "isolated"]},
    {"time_band": "evening", "edge": 250},
    {"source": "public", "crimes": "true"},
    {"month_from": "__first__", "month_to": "__first__", "edge": 1000},
    {"borough": LAMBETH, "crimes": "true", "edge": 250},
]


@pytest.fixture
def points(app_settings: Settings) -> pd.DataFrame:
    """Seed the app's database; the stored reports' points and what counts them."""
    engine = create_engine(app_settings.database_url or "")
    with Session(engine) as session, session.begin():
        imports.import_crimes(session, CRIMES, imported_by="tests")
        demo.seed_reports(session, 3000, seed=21)
        session.execute(
            text(
                "UPDATE reports SET source = 'public' WHERE id IN "
                "(SELECT id FROM reports ORDER BY id LIMIT 300)"
            )
        )
        session.execute(
            text(
                "UPDATE reports SET status = 'hidden' WHERE id IN "
                "(SELECT id FROM reports ORDER BY id DESC LIMIT 50)"
            )
        )
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT ST_X(geom) AS lon, ST_Y(geom) AS lat, "
                "ST_X(ST_Transform(geom, 27700)) AS x, ST_Y(ST_Transform(geom, 27700)) AS y, "
                "borough_code, status, occurred_on FROM reports"
            )
        ).all()
    engine.dispose()
    return pd.DataFrame(rows, columns=["lon", "lat", "x", "y", "borough_code", "status", "month"])


@pytest.fixture
def who(points, issue_token: Callable[..., str]) -> dict[str, dict[str, str]]:
    def bearer(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    return {
        "supervisor": bearer(issue_token("supervisor", command_unit="AS")),
        "partner": bearer(issue_token("partner", boroughs=[LAMBETH])),
        "planner": bearer(issue_token("planner", boroughs=[LAMBETH, SOUTHWARK])),
        "officer": bearer(issue_token("officer", wards=[WATERLOO_WARD])),
        "public": {},
    }


def params_for(filters: dict[str, Any], points: pd.DataFrame) -> dict[str, Any]:
    first = pd.Timestamp(points["month"].min()).strftime("%Y-%m")
    return {k: (first if v == "__first__" else v) for k, v in filters.items()}


def get_json(client: TestClient, path: str, headers: dict[str, str], **params: Any) -> Any:
    response = client.get(path, headers=headers, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def cells_of(collection: dict[str, Any]) -> dict[tuple[int, int], dict[str, Any]]:
    return {
        (f["properties"]["i"], f["properties"]["j"]): f["properties"]
        for f in collection["features"]
    }


def assert_protected(properties: dict[str, Any], *, count: str = "count", flag: str = "suppressed"):
    """One cell as a protected viewer may see it: suppressed and blank, or k+ and rounded."""
    if properties[flag]:
        assert properties[count] is None
        if count == "count":
            assert properties["class"] is None
            assert properties["z"] is None and properties["p"] is None
            assert properties["p_fdr"] is None
    else:
        assert isinstance(properties[count], int)
        assert properties[count] >= RULE.k and properties[count] % RULE.base == 0
        if count == "count":
            assert properties["class"] in CLASSES


# --- who sees what -------------------------------------------------------------------------


def test_a_lambeth_partner_gets_lambeth_only_as_protected_counts(client, who, points):
    mine = get_json(client, "/hotspots", who["partner"])
    exact = get_json(client, "/hotspots", who["supervisor"], borough=LAMBETH)
    assert set(cells_of(mine)) == set(cells_of(exact))
    assert len(mine["features"]) > 40
    # Exactly the supervisor's counts, protected.
    keys = sorted(cells_of(exact))
    counts = np.array([cells_of(exact)[key]["count"] for key in keys])
    assert (
        counts.sum()
        == ((points["borough_code"] == LAMBETH) & (points["status"] == "published")).sum()
    )
    shown, suppressed = protect(counts, RULE)
    for key, value, hidden in zip(keys, shown, suppressed, strict=True):
        cell = cells_of(mine)[key]
        assert cell["suppressed"] == hidden
        assert cell["count"] == (None if hidden else int(value))
    assert mine["disclosure"] == {"suppressed_below": 10, "rounded_to": 5}
    assert exact["disclosure"] is None


@pytest.mark.parametrize("path", ["/hotspots", "/hotspots.csv", "/hotspots.gpkg"])
def test_a_partner_sees_another_borough_exactly_as_the_public_does(client, who, path):
    # Signing in adds to what the public may see, never takes away (issue 10, item 5).
    partner = client.get(path, headers=who["partner"], params={"borough": SOUTHWARK})
    public = client.get(path, headers=who["public"], params={"borough": SOUTHWARK})
    assert partner.status_code == public.status_code == 200, partner.text
    if path.endswith(".gpkg"):
        # A GeoPackage carries its write time; compare what it holds.
        mine, theirs = (pyogrio.read_dataframe(io.BytesIO(a.content)) for a in (partner, public))
        assert len(mine) > 0
        pd.testing.assert_frame_equal(mine, theirs)
    else:
        assert partner.content == public.content


@pytest.mark.parametrize("path", ["/maps/hotspots", "/maps/heatmap"])
def test_a_partner_may_map_another_borough(client, who, path):
    answer = client.get(path, headers=who["partner"], params={"borough": SOUTHWARK})
    assert answer.status_code == 200, answer.text
    assert "Southwark" in answer.text


def test_a_borough_outside_the_ward_set_is_refused_naming_the_choices(client, who):
    answer = client.get("/hotspots", headers=who["partner"], params={"borough": "E09000001"})
    assert answer.status_code == 422
    detail = answer.json()["detail"]
    assert "E09000001 are not in the active ward set" in detail
    assert f"{LAMBETH}, {SOUTHWARK}" in detail


def test_an_officer_sees_her_wards_borough_and_the_public_every_borough(client, who):
    officer = cells_of(get_json(client, "/hotspots", who["officer"]))
    lambeth = cells_of(get_json(client, "/hotspots", who["partner"]))
    everyone = cells_of(get_json(client, "/hotspots", who["public"]))
    assert set(officer) == set(lambeth)
    assert set(lambeth) < set(everyone)


def test_protected_roles_never_see_a_count_under_k_or_off_the_rounding(client, who, points):
    for role in PROTECTED:
        for filters in FILTERS:
            params = params_for(filters, points)
            answer = get_json(client, "/hotspots", who[role], **params)
            assert answer["features"], (role, params)
            suppressed = 0
            for feature in answer["features"]:
                assert_protected(feature["properties"])
                suppressed += feature["properties"]["suppressed"]
                if "crimes" in params:
                    assert_protected(
                        feature["properties"], count="crimes", flag="crimes_suppressed"
                    )
            assert suppressed > 0, (role, params)
            # The same through the GeoJSON and CSV downloads.
            download = client.get("/hotspots.geojson", headers=who[role], params=params)
            assert cells_of(download.json()) == cells_of(answer)
            rows = list(
                csv.DictReader(
                    io.StringIO(client.get("/hotspots.csv", headers=who[role], params=params).text)
                )
            )
            for row in rows:
                if row["suppressed"] == "true":
                    assert row["count"] == "" and row["class"] == "" and row["z"] == ""
                else:
                    assert int(row["count"]) >= 10 and int(row["count"]) % 5 == 0


def test_protected_maps_show_only_protected_counts(client, who, points):
    for role in PROTECTED:
        for filters in FILTERS[:3] + FILTERS[4:5]:
            params = params_for(filters, points)
            page = client.get("/maps/hotspots", headers=who[role], params=params).text
            shown = re.findall(r'"reports": "([^"]*)"', page)
            assert shown, (role, params)
            for text_shown in shown:
                if text_shown != "fewer than 10 (suppressed)":
                    assert int(text_shown.replace(",", "")) >= 10
                    assert int(text_shown.replace(",", "")) % 5 == 0
            for crimes in re.findall(r'"crimes": "([^"]*)"', page):
                assert int(crimes.replace(",", "")) >= 10 and int(crimes.replace(",", "")) % 5 == 0


def test_a_supervisor_gets_exact_counts_and_the_read_is_audited(client, who, points, app_settings):
    answer = get_json(client, "/hotspots", who["supervisor"], edge=500)
    published = points[points["status"] == "published"]
    i, j = hex_index(published["x"], published["y"], 500)
    expected = pd.Series(1, index=pd.MultiIndex.from_arrays([i, j])).groupby(level=[0, 1]).sum()
    cells = cells_of(answer)
    assert sum(c["count"] for c in cells.values()) == len(published)
    for (ci, cj), n in expected.items():
        assert cells[(ci, cj)]["count"] == n
    assert any(c["count"] % 5 for c in cells.values())  # exact, not rounded
    assert not any(c["suppressed"] for c in cells.values())
    engine = create_engine(app_settings.database_url or "")
    with engine.connect() as conn:
        actions = (
            conn.execute(text("SELECT action FROM audit_log WHERE role = 'supervisor'"))
            .scalars()
            .all()
        )
    engine.dispose()
    assert "view hot spots (exact counts)" in actions


def test_protected_gi_star_is_run_on_the_protected_counts(client, who):
    exact = get_json(client, "/hotspots", who["supervisor"], borough=LAMBETH)
    mine = get_json(client, "/hotspots", who["partner"])
    keys = sorted(cells_of(exact))
    i = np.array([k[0] for k in keys])
    j = np.array([k[1] for k in keys])
    counts = np.array([cells_of(exact)[k]["count"] for k in keys])
    expected = hot_spots(i, j, counts, RULE)
    for key, (_, row) in zip(keys, expected.iterrows(), strict=True):
        cell = cells_of(mine)[key]
        assert cell["class"] == (None if row["suppressed"] else row["class"])
        if not row["suppressed"]:
            assert cell["z"] == pytest.approx(row["z"], abs=1e-4)
            assert cell["p_fdr"] == pytest.approx(row["p_fdr"], abs=1e-4)
    # The demo's reports gather around the crimes near Waterloo: a hot spot there.
    assert any(c["class"] and c["class"].startswith("hot_") for c in cells_of(mine).values())
    supervisor_classes = [cells_of(exact)[k]["class"] for k in keys]
    assert supervisor_classes != [cells_of(mine)[k]["class"] for k in keys]


def test_the_method_note_says_how_and_on_what(client, who):
    protected = get_json(client, "/hotspots", who["public"], dark="true")
    note = " ".join(protected["method"])
    assert "a feeling, not a crime" in note
    assert "protected counts (suppressed cells taken as 0)" in note
    assert "Benjamini-Hochberg" in note and "999 conditional permutations" in note
    assert "Includes synthetic demo reports" in note
    assert "after dark only" in " ".join(protected["filters"])
    exact = " ".join(get_json(client, "/hotspots", who["supervisor"])["method"])
    assert "run on the exact counts" in exact and "Exact counts (supervisor view)" in exact


# --- no report point leaves the service ----------------------------------------------------

_NUMBER = re.compile(r"-?\d+\.\d+")


def leaked_points(body: str, points: pd.DataFrame) -> list[tuple[float, float]]:
    """Report points whose coordinates appear side by side in ``body`` (4 to 6 decimals).

    Numbers are compared as written: a hexagon vertex printed to six decimals cannot stand for
    a report point at four, and a point at full precision is searched for as a string too.
    """
    numbers = _NUMBER.findall(body)
    pairs = set(itertools.pairwise(numbers))
    pairs |= {(b, a) for a, b in pairs}
    leaked = []
    for lon, lat in zip(points["lon"], points["lat"], strict=True):
        written = [(repr(round(lon, d)), repr(round(lat, d))) for d in (4, 5, 6)]
        written += [(f"{lon:.{d}f}", f"{lat:.{d}f}") for d in (4, 5, 6)]
        if any(pair in pairs for pair in written) or repr(lon) in body or repr(lat) in body:
            leaked.append((lon, lat))
    return leaked


def test_the_leak_check_finds_a_point_written_the_way_maps_and_files_write_them(points):
    lon, lat = points["lon"].iloc[7], points["lat"].iloc[7]
    for body in (
        f'"coordinates": [{round(lon, 6)}, {round(lat, 6)}]',
        f"L.circleMarker([{round(lat, 5)}, {round(lon, 5)}])",
        f"POINT ({lon:.4f} {lat:.4f})",
        f"{lon},{lat}",
    ):
        assert leaked_points(body, points) == [(lon, lat)]


def test_no_report_point_appears_in_any_answer_or_page(client, who, points):
    for role in ("partner", "public", "supervisor"):
        for path, params in [
            ("/hotspots", {"edge": 250, "crimes": "true"}),
            ("/hotspots.csv", {"edge": 250}),
            ("/hotspots.geojson", {}),
            ("/maps/hotspots", {"edge": 250, "crimes": "true"}),
            ("/maps/heatmap", {"crimes": "true"}),
        ]:
            response = client.get(path, headers=who[role], params=params)
            assert response.status_code == 200
            assert leaked_points(response.text, points) == [], (role, path)


def test_every_geometry_is_a_hexagon_of_the_grid(client, who):
    answer = get_json(client, "/hotspots", who["public"], edge=250)
    cells = gpd.GeoDataFrame.from_features(answer["features"], crs=4326).to_crs(27700)
    expected = gpd.GeoSeries(hex_polygons(cells["i"], cells["j"], 250), crs=27700)
    distances = [
        shapely.hausdorff_distance(a, b) for a, b in zip(cells.geometry, expected, strict=True)
    ]
    assert max(distances) < 0.2  # six decimals of a degree
    assert set(answer["features"][0]["properties"]) == {
        "i", "j", "count", "suppressed", "z", "p", "p_fdr", "class", "residents", "women",
        "reports_per_1000_residents", "reports_per_1000_women", "rate_withheld",
    }  # fmt: skip


# --- downloads -----------------------------------------------------------------------------


def test_downloads_open_in_geopandas_with_the_right_crs_and_the_method_note(
    client, who, tmp_path: Path
):
    geojson = client.get("/hotspots.geojson", headers=who["partner"], params={"crimes": "true"})
    assert geojson.headers["content-type"] == "application/geo+json"
    assert 'filename="hot-spots-500m-' in geojson.headers["content-disposition"]
    (tmp_path / "h.geojson").write_bytes(geojson.content)
    frame = gpd.read_file(tmp_path / "h.geojson")
    assert frame.crs.to_epsg() == 4326 and len(frame) > 40
    assert frame.loc[frame["suppressed"], "count"].isna().all()
    assert "method" in geojson.json() and "crimes" in frame.columns

    for crs in (4326, 27700):
        gpkg = client.get("/hotspots.gpkg", headers=who["partner"], params={"crs": crs})
        path = tmp_path / f"h{crs}.gpkg"
        path.write_bytes(gpkg.content)
        layer = gpd.read_file(path, layer="hot_spots")
        assert layer.crs.to_epsg() == crs
        assert set(layer["edge_m"]) == {500}
        shown = layer.loc[~layer["suppressed"], "count"]
        assert (shown >= 10).all() and (shown % 5 == 0).all()
        assert layer.loc[layer["suppressed"], ["count", "class", "z"]].isna().all().all()
        note = pyogrio.read_dataframe(path, layer="method_note")
        assert "a feeling, not a crime" in " ".join(note["text"])
        layers = dict(pyogrio.list_layers(path))
        assert layers == {"hot_spots": "Polygon", "method_note": None}
    area = gpd.read_file(tmp_path / "h27700.gpkg", layer="hot_spots").geometry.area
    assert area.to_numpy() == pytest.approx(1.5 * np.sqrt(3) * 500**2, rel=1e-6)


def test_the_csv_is_long_with_one_marker_for_suppressed_and_the_note_in_its_own_column(client, who):
    response = client.get(
        "/hotspots.csv", headers=who["planner"], params={"crimes": "true", "crs": 27700}
    )
    assert response.headers["content-type"].startswith("text/csv")
    table = pd.read_csv(io.StringIO(response.text), dtype={"count": "Int64"})
    assert list(table.columns) == [
        "counted", "i", "j", "edge_m", "count", "suppressed", "z", "p", "p_fdr", "class",
        "residents", "women", "reports_per_1000_residents", "reports_per_1000_women",
        "rate_withheld", "wkt", "notes",
    ]  # fmt: skip
    assert set(table["counted"]) == {"reports", "police_uk_crimes"}
    cells = table[table["counted"] == "reports"]
    assert len(table) == 2 * len(cells)
    assert set(table["suppressed"]) == {True, False}
    assert table.loc[table["suppressed"], "count"].isna().all()
    assert table.loc[table["counted"] == "police_uk_crimes", "class"].isna().all()
    assert table["notes"].notna().sum() == 1
    assert "a feeling, not a crime" in table["notes"].iloc[0]
    assert "EPSG:27700" in table["notes"].iloc[0]
    polygons = gpd.GeoSeries.from_wkt(cells["wkt"], crs=27700)
    assert polygons.area.to_numpy() == pytest.approx(1.5 * np.sqrt(3) * 500**2, rel=1e-4)


@pytest.mark.parametrize(
    ("path", "params", "message"),
    [
        ("/hotspots", {"edge": 300}, "hexagon edge 300 m is not offered"),
        ("/maps/heatmap", {"edge": 100}, "hexagon edge 100 m is not offered"),
        ("/hotspots.gpkg", {"crs": 3857}, "crs 3857 is not offered"),
        ("/maps/hotspots", {"category": "dragons"}, "unknown category dragons"),
    ],
)
def test_bad_parameters_say_what_to_use(client, path, params, message):
    response = client.get(path, params=params)
    assert response.status_code == 422
    assert message in response.json()["detail"]


# --- pages ---------------------------------------------------------------------------------


def test_the_pages_name_their_layers_filters_and_credits(client, who):
    page = client.get(
        "/maps/hotspots", headers=who["partner"], params={"crimes": "true", "dark": "true"}
    ).text
    assert '"Hot spots (hexagons)"' in page and '"Police.uk crimes per hexagon"' in page
    assert "after dark only" in page
    assert "Contains public sector information licensed under the Open Government" in page
    heat = client.get("/maps/heatmap", headers=who["public"]).text
    assert '"Heatmap of reports"' in heat and '"Ward outlines"' in heat
    credit = heat.split("addAttribution(")[1].split(")")[0]
    assert "Office for National Statistics" in credit and "police.uk" not in credit
    assert len(heat.encode()) < 2 * 1024 * 1024

"""Ward and area summaries over the API, on a real PostGIS seeded once for this module.

The data: 800 synthetic reports over the pilot wards (a few hidden or pending, which nothing
may count), 24 public ones about poor lighting by Waterloo station, and 72 synthetic walks held
in six wards with their concerns. A supervisor's figures are checked against GeoPandas on the
same rows; everyone else's against the disclosure rule applied to those exact figures, and for
the things a protected answer must never hold.
"""

from __future__ import annotations

import io
import json
import math
import secrets
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from shapely.geometry import box, mapping, shape
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from geo.disclosure import DisclosureRule, protect
from service.app import create_app
from service.auth import Role
from service.exports import EXPORT_TYPES
from service.population_load import load_population
from service.queries import demo, demo_walks
from service.queries.reports import store_reports
from service.settings import Settings
from service.taxonomy import LABELS
from tests.conftest import _create_database, _drop_database, make_token, with_database

LAMBETH, SOUTHWARK = "E09000022", "E09000028"
WATERLOO = "E05014118"
RULE = DisclosureRule(k=10, base=5)
PROTECTED_COUNTS = ("count", "walks", "concerns", "top_category_1_count", "top_category_2_count")
PROTECTED_COUNTS += ("top_category_3_count",)
FIGURES = {
    "ward_code",
    "ward_name",
    "borough_code",
    "borough_name",
    "area_km2",
    "count",
    "suppressed",
    "rate_per_km2",
    "residents",
    "women",
    "reports_per_1000_residents",
    "reports_per_1000_women",
    "rate_withheld",
    "dark_share",
    "dark_suppressed",
    *(f"top_category_{n}{s}" for n in (1, 2, 3) for s in ("", "_label", "_count")),
    "walks",
    "walks_suppressed",
    "concerns",
    "concerns_suppressed",
}
# Around Brixton: inside Lambeth, away from Southwark, about 1.2 km².
BRIXTON = box(-0.125, 51.455, -0.105, 51.465)


# --- one seeded database and app for the module --------------------------------------------


@pytest.fixture(scope="module")
def seeded_url(server_url: str, template_db: str) -> Iterator[str]:
    name = f"walktalk_summ_{secrets.token_hex(5)}"
    _create_database(server_url, name, template=template_db)
    url = with_database(server_url, name, driver=True)
    engine = create_engine(url)
    with Session(engine) as session, session.begin():
        demo.seed_reports(session, 800, seed=21)
        demo_walks.seed_walks(session, key=b"s" * 32, count=72, seed=5, streets=None)
        # A cluster by Waterloo station, so some wards have a category worth naming to all.
        rng = np.random.default_rng(2)
        cluster = pd.DataFrame(
            {
                "line": np.arange(1, 25),
                "lon": -0.1136 + rng.normal(0, 0.0008, 24),
                "lat": 51.5020 + rng.normal(0, 0.0005, 24),
                "categories": [["poor_lighting"]] * 24,
                "occurred_at": pd.Series([pd.NaT] * 24, dtype="datetime64[ns, UTC]"),
                "occurred_on": [date.today() - timedelta(days=20)] * 24,
                "time_band": ["evening"] * 24,
                "text": [None] * 24,
            }
        )
        assert store_reports(session, cluster, source="public", status="published").stored == 24
        # Hidden and pending reports, picked by place (ids are random): no summary counts them.
        session.execute(
            text(
                "UPDATE reports SET status = 'hidden' WHERE id IN (SELECT id FROM reports "
                "WHERE source = 'synthetic' ORDER BY ST_X(geom), ST_Y(geom) LIMIT 30)"
            )
        )
        session.execute(
            text(
                "UPDATE reports SET status = 'pending' WHERE id IN (SELECT id FROM reports "
                "WHERE source = 'synthetic' AND status = 'published' "
                "ORDER BY ST_Y(geom), ST_X(geom) LIMIT 20)"
            )
        )
    # The bundled ONS estimates, so that every ward has its rates per 1,000 residents.
    load_population(engine)
    engine.dispose()
    try:
        yield url
    finally:
        _drop_database(server_url, name)


@pytest.fixture(scope="module")
def settings(seeded_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        database_url=seeded_url,
        home=tmp_path_factory.mktemp("home"),
        secret_key=SecretStr(secrets.token_urlsafe(48)),
        tiles="none",
    )


@pytest.fixture(scope="module")
def api(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture(scope="module")
def who(settings: Settings) -> dict[str, dict[str, str]]:
    """Request headers by role and scope."""
    scopes: dict[str, tuple[Role, dict[str, Any]]] = {
        "supervisor": (Role.supervisor, {"command_unit": "AS"}),
        "partner": (Role.partner, {"boroughs": [LAMBETH]}),
        "planner": (Role.planner, {"boroughs": [SOUTHWARK]}),
        "officer": (Role.officer, {"wards": [WATERLOO]}),
    }
    headers: dict[str, dict[str, str]] = {"public": {}}
    for name, (role, scope) in scopes.items():
        token = make_token(settings, role.value, name=f"summary test {name}", **scope)
        headers[name] = {"Authorization": f"Bearer {token}"}
    return headers


# --- what GeoPandas makes of the same rows ---------------------------------------------------


@pytest.fixture(scope="module")
def stored(settings: Settings) -> dict[str, Any]:
    engine = create_engine(settings.database_url or "")
    with engine.connect() as conn:
        reports = gpd.read_postgis(
            text(
                "SELECT id, borough_code, occurred_on, categories, is_dark, status, source, geom "
                "FROM reports"
            ),
            conn,
            geom_col="geom",
            crs=4326,
        )
        wards = gpd.read_postgis(
            text(
                "SELECT w.code, w.name, w.borough_code, w.borough_name, w.geom FROM wards w "
                "JOIN ward_sets s ON s.id = w.ward_set_id AND s.is_active ORDER BY w.code"
            ),
            conn,
            geom_col="geom",
            crs=4326,
        )
        walks = pd.read_sql(
            text("SELECT ward_code, borough_code, closed_at, route FROM walks"), conn
        )
    engine.dispose()
    return {"reports": reports, "wards": wards, "walks": walks}


def geopandas_figures(stored: dict[str, Any], boroughs: tuple[str, ...]) -> pd.DataFrame:
    """Exact figures per ward, worked out with GeoPandas: the oracle for supervisors."""
    wards = stored["wards"][stored["wards"]["borough_code"].isin(boroughs)].set_index("code")
    published = stored["reports"][stored["reports"]["status"] == "published"]
    joined = gpd.sjoin(published, wards.reset_index()[["code", "geom"]], predicate="within")
    out = pd.DataFrame(index=wards.index)
    out["area_km2"] = wards.to_crs(27700).area / 1e6
    out["reports"] = joined.groupby("code").size().reindex(out.index, fill_value=0)
    out["dark"] = joined[joined["is_dark"]].groupby("code").size().reindex(out.index, fill_value=0)
    concerns = joined[joined["source"] == "walk_concern"]
    out["concerns"] = concerns.groupby("code").size().reindex(out.index, fill_value=0)
    walks = stored["walks"]
    held = walks[walks["closed_at"].notna()]
    out["walks"] = held.groupby("ward_code").size().reindex(out.index, fill_value=0)
    exploded = joined.explode("categories")
    per_category = exploded.groupby(["code", "categories"]).size().rename("n").reset_index()
    out["categories"] = [
        per_category[per_category["code"] == code]
        .sort_values(["n", "categories"], ascending=[False, True])[["categories", "n"]]
        .itertuples(index=False, name=None)
        for code in out.index
    ]
    out["categories"] = out["categories"].map(list)
    return out


def features(answer: Any) -> dict[str, dict[str, Any]]:
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/geo+json"
    body = answer.json()
    assert body["type"] == "FeatureCollection"
    return {f["properties"]["ward_code"]: f["properties"] for f in body["features"]}


# --- supervisors: exact, and equal to GeoPandas ---------------------------------------------


def test_a_supervisors_figures_equal_geopandas_on_the_same_rows(api, who, stored) -> None:
    got = features(api.get("/wards/summary", headers=who["supervisor"]))
    expected = geopandas_figures(stored, (LAMBETH, SOUTHWARK))
    assert set(got) == set(expected.index) and len(got) == 48
    assert expected["walks"].sum() == 72 and (expected["walks"] > 0).sum() == 6
    assert expected["concerns"].sum() > 0
    for code, row in expected.iterrows():
        ward = got[code]
        assert set(ward) == FIGURES
        assert ward["count"] == row["reports"], code
        assert ward["suppressed"] is False
        assert ward["area_km2"] == pytest.approx(row["area_km2"], abs=1e-4)
        # GeoPandas and PostGIS measure the ward alike to a few m²; the rate has one decimal.
        assert ward["rate_per_km2"] == pytest.approx(row["reports"] / row["area_km2"], abs=0.051)
        if row["reports"]:
            assert ward["dark_share"] == round(row["dark"] / row["reports"], 3)
        assert ward["walks"] == row["walks"] and ward["concerns"] == row["concerns"], code
        for n, (category, count) in enumerate(row["categories"][:3], start=1):
            assert ward[f"top_category_{n}"] == category
            assert ward[f"top_category_{n}_label"] == LABELS[category]
            assert ward[f"top_category_{n}_count"] == count


def test_a_supervisors_filtered_figures_equal_geopandas(api, who, stored) -> None:
    published = stored["reports"][stored["reports"]["status"] == "published"]
    month = pd.Timestamp(published["occurred_on"].min()).to_period("M") + 3
    params = {
        "borough": LAMBETH,
        "dark": "true",
        "month_from": str(month),
        "month_to": str(month + 2),
        "category": ["poor_lighting", "isolated"],
    }
    got = features(api.get("/wards/summary", params=params, headers=who["supervisor"]))
    months = pd.to_datetime(published["occurred_on"]).dt.to_period("M")
    kept = published[
        published["is_dark"]
        & (months >= month)
        & (months <= month + 2)
        & published["categories"].map(lambda c: bool({"poor_lighting", "isolated"} & set(c)))
    ]
    expected = geopandas_figures({**stored, "reports": kept}, (LAMBETH,))
    assert len(got) == 25 and expected["reports"].sum() > 10
    for code, row in expected.iterrows():
        assert got[code]["count"] == row["reports"], code
        assert got[code]["dark_share"] in (None, 1.0)


def test_exact_summaries_are_audited(api, who, settings) -> None:
    api.get("/wards/summary", params={"dark": "true"}, headers=who["supervisor"])
    engine = create_engine(settings.database_url or "")
    with engine.connect() as conn:
        actions = conn.execute(
            text("SELECT action, target FROM audit_log ORDER BY id DESC LIMIT 1")
        ).one()
    engine.dispose()
    assert actions.action == "read exact ward summary"
    assert "after dark only" in actions.target


# --- everyone else: protected everywhere ----------------------------------------------------


def assert_protected(ward: dict[str, Any], k: int = 10, base: int = 5) -> None:
    """No count under k, every count a multiple of base, nothing derived from a suppressed one."""
    for name in PROTECTED_COUNTS:
        value = ward[name]
        if value is not None:
            assert value >= k and value % base == 0, (name, ward)
    for measure, flag in (("count", "suppressed"), ("walks", "walks_suppressed")):
        assert (ward[measure] is None) == ward[flag]
    assert (ward["concerns"] is None) == ward["concerns_suppressed"]
    if ward["suppressed"]:
        assert ward["rate_per_km2"] is None and ward["dark_share"] is None
        assert ward["dark_suppressed"] is True
        for n in (1, 2, 3):
            assert ward[f"top_category_{n}"] is None
            assert ward[f"top_category_{n}_label"] is None
            assert ward[f"top_category_{n}_count"] is None
    else:
        # The rate is worked out from the exact area and rounded to 0.1; the area shown is
        # rounded to 0.0001 km², so recomputing from it may round the other way at a .x5 edge.
        assert ward["rate_per_km2"] == pytest.approx(ward["count"] / ward["area_km2"], abs=0.051)
    if ward["dark_suppressed"]:
        assert ward["dark_share"] is None


def expected_protected(row: pd.Series) -> dict[str, Any]:
    """The rule applied to GeoPandas's exact figures, worked out here independently."""
    (count,), (hidden,) = protect([row["reports"]], RULE)
    (dark,), (dark_hidden,) = protect([row["dark"]], RULE)
    (walks,), _ = protect([row["walks"]], RULE)
    (concerns,), _ = protect([row["concerns"]], RULE)
    shown_categories = sorted(
        ((c, protect([n], RULE)[0][0]) for c, n in row["categories"] if n >= RULE.k),
        key=lambda item: (-item[1], item[0]),
    )
    return {
        "count": None if hidden else int(count),
        "dark_share": None if hidden or dark_hidden else float(np.round(dark / count, 2)),
        "walks": None if math.isnan(walks) else int(walks),
        "concerns": None if math.isnan(concerns) else int(concerns),
        "categories": [] if hidden else [(c, int(n)) for c, n in shown_categories[:3]],
    }


def test_a_partner_gets_the_rule_applied_to_the_exact_figures(api, who, stored) -> None:
    got = features(api.get("/wards/summary", headers=who["partner"]))
    expected = geopandas_figures(stored, (LAMBETH,))
    assert set(got) == set(expected.index) and len(got) == 25
    for code, row in expected.iterrows():
        ward = got[code]
        assert_protected(ward)
        want = expected_protected(row)
        assert ward["count"] == want["count"], code
        assert ward["dark_share"] == want["dark_share"], code
        assert ward["walks"] == want["walks"] and ward["concerns"] == want["concerns"], code
        named = [
            (ward[f"top_category_{n}"], ward[f"top_category_{n}_count"])
            for n in (1, 2, 3)
            if ward[f"top_category_{n}"]
        ]
        assert named == want["categories"], code
    # Not vacuous: the data hold suppressed and shown wards, walks and categories.
    suppressed = [w for w in got.values() if w["suppressed"]]
    shown = [w for w in got.values() if not w["suppressed"]]
    assert suppressed and shown
    assert any(w["walks"] for w in got.values()) and any(
        w["walks_suppressed"] for w in got.values()
    )
    assert any(w["top_category_1"] for w in got.values())
    # Exact counts that are not multiples of 5 exist, and none of them is shown.
    assert any(r % 5 for r in expected["reports"] if r >= 10)


def test_a_protected_answer_never_carries_points_text_routes_or_buddies(api, who) -> None:
    answer = api.get("/wards/summary", headers=who["partner"])
    body = answer.json()
    for feature in body["features"]:
        assert set(feature["properties"]) == FIGURES
        assert feature["geometry"]["type"] in ("Polygon", "MultiPolygon")
    for word in ("route", "buddy", "meeting", "text", "Point", "LineString", "DEMO"):
        assert word not in json.dumps(body["features"]), word
    assert body["disclosure"] == {
        "exact": False,
        "k": 10,
        "rounding": 5,
        "suppressed_marker": "the count is null and its *suppressed flag is true",
    }
    assert "Disclosure control: areas with fewer than 10 reports are suppressed" in " ".join(
        body["method_note"]
    )


@pytest.mark.parametrize(
    ("role", "boroughs", "wards"),
    [
        ("officer", (LAMBETH,), 25),
        ("planner", (SOUTHWARK,), 23),
        ("public", (LAMBETH, SOUTHWARK), 48),
    ],
)
def test_officers_planners_and_the_public_get_protected_figures_for_their_scope(
    api, who, stored, role, boroughs, wards
) -> None:
    got = features(api.get("/wards/summary", headers=who[role]))
    assert len(got) == wards
    assert {w["borough_code"] for w in got.values()} == set(boroughs)
    expected = geopandas_figures(stored, boroughs)
    for code, row in expected.iterrows():
        assert_protected(got[code])
        assert got[code]["count"] == expected_protected(row)["count"]


@pytest.mark.parametrize("role", ["partner", "officer", "planner"])
def test_a_borough_beyond_the_callers_own_is_what_the_public_sees(api, who, role) -> None:
    # Signing in adds to what the public may see, never takes away (issue 10, item 5).
    outside = SOUTHWARK if role != "planner" else LAMBETH
    for path in ("/wards/summary", "/wards/summary.csv"):
        mine = api.get(path, params={"borough": outside}, headers=who[role])
        public = api.get(path, params={"borough": outside})
        assert mine.status_code == public.status_code == 200, (path, mine.text)
        assert mine.content == public.content
    page = api.get("/maps/wards/summary", params={"borough": outside}, headers=who[role])
    assert page.status_code == 200, page.text


def test_bad_filters_are_refused_saying_how(api, who) -> None:
    answer = api.get("/wards/summary", params={"month_from": "March"}, headers=who["partner"])
    assert answer.status_code == 422
    assert "month_from must be a month as YYYY-MM" in answer.json()["detail"]
    answer = api.get("/wards/summary", params={"simplify": 0}, headers=who["partner"])
    assert answer.status_code == 422


def test_the_summary_is_not_taken_for_a_ward_code(api, who) -> None:
    # GET /wards/{code} exists; /wards/summary must still reach the summary.
    assert api.get("/wards/E05014118").json()["properties"]["code"] == WATERLOO
    assert len(features(api.get("/wards/summary"))) == 48


def test_simplified_outlines_are_smaller_and_the_figures_the_same(api, who) -> None:
    full = api.get("/wards/summary", headers=who["partner"])
    simple = api.get("/wards/summary", params={"simplify": 20}, headers=who["partner"])
    assert len(simple.content) < len(full.content) / 2
    a, b = features(full), features(simple)
    assert a == b


# --- exports --------------------------------------------------------------------------------


def test_the_csv_is_long_one_row_per_ward_and_measure(api, who) -> None:
    summary = features(api.get("/wards/summary", headers=who["partner"]))
    note = " ".join(api.get("/wards/summary", headers=who["partner"]).json()["method_note"])
    answer = api.get("/wards/summary.csv", headers=who["partner"])
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers["content-disposition"].startswith('attachment; filename="ward-summary-')
    table = pd.read_csv(io.BytesIO(answer.content), dtype=str, keep_default_na=False)
    assert list(table.columns) == [
        "ward_code",
        "ward_name",
        "borough_code",
        "borough_name",
        "measure",
        "rank",
        "category",
        "value",
        "suppressed",
        "notes",
    ]
    assert len(table) == 25 * 12
    assert table.groupby("ward_code")["measure"].apply(list).map(tuple).unique().tolist() == [
        ("count", "rate_per_km2", "residents", "women")
        + ("reports_per_1000_residents", "reports_per_1000_women", "dark_share")
        + ("top_category",) * 3
        + ("walks", "concerns")
    ]
    assert set(table["suppressed"]) == {"true", "false"}
    # One marker for a suppressed value: empty value, suppressed true; never a value beside it.
    assert (table.loc[table["suppressed"] == "true", "value"] == "").all()
    assert (table.loc[table["suppressed"] == "false", "value"] != "").all()
    assert table["notes"].tolist() == [note] + [""] * (len(table) - 1)
    for row in table.itertuples():
        ward = summary[row.ward_code]
        if row.measure in ("count", "walks", "concerns"):
            want = ward[row.measure]
            assert row.value == "" if want is None else int(row.value) == want, row
            if row.value:
                assert int(row.value) >= 10 and int(row.value) % 5 == 0
        elif row.measure == "top_category":
            assert (row.category or None) == ward[f"top_category_{row.rank}"]
        elif row.measure == "rate_per_km2" and row.value:
            assert float(row.value) == ward["rate_per_km2"]


def test_a_supervisors_csv_marks_nothing_suppressed(api, who) -> None:
    answer = api.get("/wards/summary.csv", headers=who["supervisor"])
    table = pd.read_csv(io.BytesIO(answer.content), dtype=str, keep_default_na=False)
    assert len(table) == 48 * 12
    assert set(table["suppressed"]) == {"false"}
    counts = table[table["measure"] == "count"]["value"].astype(int)
    assert counts.sum() == sum(
        w["count"] for w in features(api.get("/wards/summary", headers=who["supervisor"])).values()
    )


def test_the_geojson_download_opens_in_geopandas_with_its_notes(api, who, tmp_path: Path) -> None:
    answer = api.get("/wards/summary.geojson", headers=who["partner"])
    assert answer.status_code == 200
    saved = tmp_path / "summary.geojson"
    saved.write_bytes(answer.content)
    frame = gpd.read_file(saved)
    assert frame.crs.to_epsg() == 4326 and len(frame) == 25
    assert FIGURES | {"notes"} <= set(frame.columns)
    assert frame["notes"].str.contains("Disclosure control").all()
    assert json.loads(answer.content)["method_note"][0].startswith("A report is a place")
    shown = frame[~frame["suppressed"]]
    assert (shown["count"] % 5 == 0).all() and (shown["count"] >= 10).all()
    assert frame.loc[frame["suppressed"], "count"].isna().all()


@pytest.mark.parametrize("crs", [4326, 27700])
def test_the_geopackage_has_the_layer_in_its_crs_and_a_method_note_table(
    api, who, stored, tmp_path: Path, crs: int
) -> None:
    answer = api.get("/wards/summary.gpkg", params={"crs": crs}, headers=who["partner"])
    assert answer.status_code == 200
    assert answer.headers["content-type"] == EXPORT_TYPES["gpkg"]
    # GeoPackage's application id, at its fixed place in the file header (OGC 12-128r18, 1.1.1).
    assert answer.content[68:72] == b"GPKG"
    saved = tmp_path / "summary.gpkg"
    saved.write_bytes(answer.content)
    layers = dict(pyogrio.list_layers(saved).tolist())
    assert layers == {"ward_summary": "MultiPolygon", "method_note": None}
    frame = gpd.read_file(saved, layer="ward_summary")
    assert frame.crs.to_epsg() == crs and len(frame) == 25
    assert FIGURES | {"notes"} <= set(frame.columns)
    wards = stored["wards"].set_index("code")
    areas = frame.to_crs(27700).set_index("ward_code").area / 1e6
    assert np.allclose(areas, wards.loc[areas.index].to_crs(27700).area / 1e6, rtol=1e-6)
    note = pd.DataFrame(pyogrio.read_dataframe(saved, layer="method_note"))
    official = api.get("/wards/summary", headers=who["partner"]).json()["method_note"]
    assert note["text"].tolist() == official and note["line"].tolist() == list(
        range(1, len(official) + 1)
    )
    # The note table is registered as GeoPackage attributes (GDAL's own SQL on the file).
    contents = pyogrio.read_dataframe(
        saved, sql="SELECT table_name, data_type FROM gpkg_contents", read_geometry=False
    )
    kinds = dict(zip(contents["table_name"], contents["data_type"], strict=True))
    assert kinds == {"ward_summary": "features", "method_note": "attributes"}


@pytest.mark.parametrize(("fmt", "crs"), [("csv", 27700), ("geojson", 27700), ("gpkg", 3857)])
def test_a_crs_that_does_not_fit_the_format_is_refused(api, who, fmt, crs) -> None:
    answer = api.get(f"/wards/summary.{fmt}", params={"crs": crs}, headers=who["partner"])
    assert answer.status_code == 422
    assert "27700" in answer.json()["detail"]


# --- uploaded areas -------------------------------------------------------------------------


def post_area(api: TestClient, headers: dict[str, str], area: Any, **params: Any) -> Any:
    return api.post("/areas/summary", json=area, params=params, headers=headers)


def area_oracle(stored: dict[str, Any], polygon: Any, boroughs: tuple[str, ...]) -> dict[str, int]:
    reports = stored["reports"]
    inside = reports[
        (reports["status"] == "published")
        & reports["borough_code"].isin(boroughs)
        & reports.intersects(polygon)
    ]
    return {
        "reports": len(inside),
        "dark": int(inside["is_dark"].sum()),
        "concerns": int((inside["source"] == "walk_concern").sum()),
    }


def test_an_uploaded_area_gives_a_supervisor_the_exact_figures(api, who, stored) -> None:
    answer = post_area(api, who["supervisor"], mapping(BRIXTON))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    got = body["properties"]
    want = area_oracle(stored, BRIXTON, (LAMBETH, SOUTHWARK))
    km2 = gpd.GeoSeries([BRIXTON], crs=4326).to_crs(27700).area.iloc[0] / 1e6
    assert want["reports"] > 10
    assert got["count"] == want["reports"] and got["suppressed"] is False
    assert got["area_km2"] == pytest.approx(km2, rel=1e-4)
    assert got["area_in_scope_km2"] == pytest.approx(km2, rel=1e-4)
    assert got["rate_per_km2"] == pytest.approx(round(want["reports"] / km2, 1))
    assert got["dark_share"] == pytest.approx(round(want["dark"] / want["reports"], 3))
    assert got["concerns"] == want["concerns"]
    assert got["repaired"] is False and got["warnings"] == []
    assert shape(body["geometry"]).equals(BRIXTON)
    assert body["disclosure"] == {"exact": True}
    assert "Counted in an uploaded area; published reports only." in body["method_note"]


def test_an_uploaded_area_gives_a_partner_protected_figures(api, who, stored) -> None:
    feature = {
        "type": "Feature",
        "properties": {"bid": "Brixton lighting"},
        "geometry": mapping(BRIXTON),
    }
    answer = post_area(api, who["partner"], feature)
    assert answer.status_code == 200, answer.text
    got = answer.json()["properties"]
    want = area_oracle(stored, BRIXTON, (LAMBETH,))
    (count,), _ = protect([want["reports"]], RULE)
    assert got["count"] == int(count)
    assert_protected(got | {"ward_code": "area"})
    assert got["walks_suppressed"] and got["walks"] is None
    assert "Disclosure control" in " ".join(answer.json()["method_note"])


def test_walks_for_an_area_are_those_of_the_wards_it_mostly_covers(api, who, stored) -> None:
    wards = stored["wards"].set_index("code")
    walked = stored["walks"]
    held = walked[walked["closed_at"].notna()].groupby("ward_code").size()
    code = held.index[0]
    outline = wards.loc[code, "geom"].buffer(0.0005)
    answer = post_area(api, who["supervisor"], mapping(outline))
    assert answer.status_code == 200, answer.text
    got = answer.json()["properties"]
    assert code in got["walk_wards"]
    assert got["walks"] == int(held.reindex(got["walk_wards"], fill_value=0).sum()) >= 12
    # No route, meeting point or buddy in the answer.
    assert not {"route", "buddy", "meeting_point"} & set(got)


def test_an_area_partly_outside_the_scope_counts_only_inside_it_and_says_so(
    api, who, stored
) -> None:
    # Straddles Lambeth and Southwark around Kennington and Walworth.
    straddling = box(-0.110, 51.483, -0.090, 51.493)
    answer = post_area(api, who["partner"], mapping(straddling))
    assert answer.status_code == 200, answer.text
    got = answer.json()["properties"]
    (warning,) = got["warnings"]
    assert "of the area lies outside your scope (boroughs E09000022)" in warning
    assert got["area_in_scope_km2"] < got["area_km2"]
    want = area_oracle(stored, straddling, (LAMBETH,))
    expected = protect([want["reports"]], RULE)[0][0]
    assert got["count"] == (None if math.isnan(expected) else int(expected))
    if got["count"] is not None:
        assert got["rate_per_km2"] == pytest.approx(
            round(got["count"] / got["area_in_scope_km2"], 1)
        )


def test_a_self_intersecting_area_is_repaired_and_the_answer_says_so(api, who) -> None:
    west, south, east, north = BRIXTON.bounds
    bow_tie = {
        "type": "Polygon",
        "coordinates": [
            [[west, south], [east, north], [east, south], [west, north], [west, south]]
        ],
    }
    answer = post_area(api, who["partner"], bow_tie)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["properties"]["repaired"] is True
    assert body["properties"]["warnings"][0].startswith(
        "the outline was not valid (Self-intersection"
    )
    repaired = shape(body["geometry"])
    assert repaired.is_valid and len(repaired.geoms) == 2


@pytest.mark.parametrize(
    ("area", "message"),
    [
        ({"type": "Point", "coordinates": [-0.11, 51.46]}, "a Point is not an area"),
        (
            mapping(box(-0.1151, 51.4601, -0.1149, 51.4603)),
            "smaller than the 0.05 km² minimum",
        ),
        (mapping(box(-0.5, 51.3, 0.2, 51.7)), "larger than the 100 km² maximum"),
        # Westminster, across the river: outside the pilot's wards.
        (mapping(box(-0.150, 51.505, -0.125, 51.520)), "within the service area's wards"),
        # Peckham, in Southwark: in the service area, not in a Lambeth partner's scope.
        (mapping(box(-0.075, 51.465, -0.060, 51.475)), "entirely outside the wards of your scope"),
        (
            {
                "type": "Polygon",
                "coordinates": [[[51.46, -0.12], [51.46, -0.10], [51.47, -0.10], [51.46, -0.12]]],
            },
            "look like [latitude, longitude]",
        ),
    ],
    ids=["point", "tiny", "huge", "outside the service area", "outside the scope", "swapped"],
)
def test_bad_areas_are_refused_with_a_422_that_says_how_to_fix_it(api, who, area, message) -> None:
    answer = post_area(api, who["partner"], area)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert message in answer.json()["detail"]


def test_nan_and_non_json_bodies_are_refused(api, who) -> None:
    ring = "[[-0.12, 51.46], [NaN, 51.46], [-0.10, 51.47], [-0.12, 51.46]]"
    answer = api.post(
        "/areas/summary",
        content=f'{{"type": "Polygon", "coordinates": [{ring}]}}',
        headers={**who["partner"], "Content-Type": "application/json"},
    )
    assert answer.status_code == 422
    assert "longitude nan is not a finite number" in answer.json()["detail"]
    answer = api.post("/areas/summary", content="not json", headers=who["partner"])
    assert answer.status_code == 422 and "the body is not JSON" in answer.json()["detail"]


def test_an_oversized_body_is_refused_before_it_is_parsed(api, who) -> None:
    answer = api.post(
        "/areas/summary",
        content=b" " * 2_000_001,
        headers={**who["partner"], "Content-Type": "application/json"},
    )
    assert answer.status_code == 413
    assert "simplify it first" in answer.json()["detail"]


def test_an_area_takes_the_same_filters_and_scope_checks(api, who, stored) -> None:
    answer = post_area(api, who["supervisor"], mapping(BRIXTON), dark="true")
    got = answer.json()["properties"]
    want = area_oracle(stored, BRIXTON, (LAMBETH, SOUTHWARK))
    assert got["count"] == want["dark"] and got["dark_share"] == 1.0
    assert "after dark only (sun below -6 degrees)" in answer.json()["filters"]
    # Another borough's protected figures are the public's (issue 10, item 5); Brixton lies in
    # Lambeth, so asked about Southwark only, the area has nothing of that borough to count.
    mine = post_area(api, who["partner"], mapping(BRIXTON), borough=SOUTHWARK)
    public = post_area(api, who["public"], mapping(BRIXTON), borough=SOUTHWARK)
    assert mine.status_code == public.status_code == 422, mine.text
    assert mine.json()["detail"] == public.json()["detail"]
    assert "outside the wards of your scope (boroughs E09000028)" in mine.json()["detail"]

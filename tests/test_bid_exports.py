"""Bid-ready exports (issue 10, item 9): the period in notes, the wide CSV, borough totals.

On a real PostGIS seeded once for this module.

The data: 800 synthetic reports over the pilot wards, 72 synthetic walks with their concerns,
and one public report in Lambeth from February 2021, earlier than anything the demo seeds, so
the period of "all reports held" has a first month known here. The CSVs are read as a
spreadsheet user's program reads them (pandas, and the csv module), by their headings.
"""

from __future__ import annotations

import csv
import io
import secrets
from collections.abc import Iterator
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from geo.disclosure import DisclosureRule, protect
from service.app import create_app
from service.auth import Role
from service.exports import heading as heading_of
from service.queries import demo, demo_walks
from service.queries.reports import store_reports
from service.queries.themes import DEFAULT_MONTHS
from service.settings import Settings
from service.summary_tables import HEADINGS
from service.taxonomy import CATEGORIES
from tests.conftest import _create_database, _drop_database, make_token, with_database

LAMBETH, SOUTHWARK = "E09000022", "E09000028"
RULE = DisclosureRule(k=10, base=5)
SUPPRESSED = "Suppressed (empty) cells"
EARLIEST = date(2021, 2, 14)


@pytest.fixture(scope="module")
def seeded_url(server_url: str, template_db: str) -> Iterator[str]:
    name = f"walktalk_bid_{secrets.token_hex(5)}"
    _create_database(server_url, name, template=template_db)
    url = with_database(server_url, name, driver=True)
    engine = create_engine(url)
    with Session(engine) as session, session.begin():
        demo.seed_reports(session, 800, seed=21)
        demo_walks.seed_walks(session, key=b"b" * 32, count=72, seed=5, streets=None)
        old = pd.DataFrame(
            {
                "line": [1],
                "lon": [-0.1150],
                "lat": [51.4620],
                "categories": [["isolated"]],
                "occurred_at": pd.Series([pd.NaT], dtype="datetime64[ns, UTC]"),
                "occurred_on": [EARLIEST],
                "time_band": ["night"],
                "text": [None],
            }
        )
        assert store_reports(session, old, source="public", status="published").stored == 1
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
    """Request headers by role."""
    scopes: dict[str, tuple[Role, dict[str, Any]]] = {
        "supervisor": (Role.supervisor, {"command_unit": "AS"}),
        "partner": (Role.partner, {"boroughs": [LAMBETH]}),
    }
    headers: dict[str, dict[str, str]] = {"public": {}}
    for name, (role, scope) in scopes.items():
        token = make_token(settings, role.value, name=f"bid test {name}", **scope)
        headers[name] = {"Authorization": f"Bearer {token}"}
    return headers


@pytest.fixture(scope="module")
def last_month(settings: Settings) -> date:
    """The month of the latest published report held in Lambeth and Southwark."""
    engine = create_engine(settings.database_url or "")
    with engine.connect() as conn:
        last = conn.execute(
            text(
                "SELECT max(occurred_on) FROM reports WHERE status = 'published' "
                "AND borough_code = ANY(:b)"
            ),
            {"b": [LAMBETH, SOUTHWARK]},
        ).scalar_one()
    engine.dispose()
    return date(last.year, last.month, 1)


def _get(api: TestClient, path: str, headers: dict[str, str], **params: Any) -> Any:
    answer = api.get(path, params=params, headers=headers)
    assert answer.status_code == 200, (path, answer.text)
    return answer


def _wide(content: bytes) -> pd.DataFrame:
    """The CSV as pandas reads it for a spreadsheet user: numbers as numbers, empty as NaN."""
    return pd.read_csv(io.BytesIO(content))


def _ward_json(api: TestClient, headers: dict[str, str], **params: Any) -> pd.DataFrame:
    features = _get(api, "/wards/summary", headers, **params).json()["features"]
    return pd.DataFrame([f["properties"] for f in features])


# --- the period, always -----------------------------------------------------------------------


def _period_lines(note: list[str]) -> list[str]:
    return [line for line in note if line.startswith("Period: ")]


def test_every_method_note_states_the_period_of_all_reports_held(
    api: TestClient, who: dict[str, dict[str, str]], last_month: date
) -> None:
    expected = f"Period: February 2021 to {last_month:%B %Y} (all reports held)."
    public = who["public"]
    notes = {
        "ward summary": _get(api, "/wards/summary", public).json()["method_note"],
        "hot spots": _get(api, "/hotspots", public).json()["method"],
        "borough summary": _get(api, "/boroughs/summary", public).json()["method_note"],
        "area summary": api.post(
            "/areas/summary",
            json={
                "type": "Polygon",
                "coordinates": [
                    [
                        [-0.125, 51.455],
                        [-0.105, 51.455],
                        [-0.105, 51.465],
                        [-0.125, 51.465],
                        [-0.125, 51.455],
                    ]
                ],
            },
        ).json()["method_note"],
    }
    for where, note in notes.items():
        assert _period_lines(note) == [expected], where
    # The downloads carry the same sentence in their notes.
    for path, params in (
        ("/wards/summary.csv", {}),
        ("/wards/summary.csv", {"layout": "wide"}),
        ("/boroughs/summary.csv", {}),
        ("/hotspots.csv", {}),
        ("/wards/summary.geojson", {}),
    ):
        body = _get(api, path, public, **params).text
        assert expected in body, (path, params)
    heatmap = _get(api, "/maps/heatmap", public).text
    assert expected in heatmap


def test_the_period_is_the_months_asked_for_or_closed_by_the_reports_held(
    api: TestClient, who: dict[str, dict[str, str]], last_month: date
) -> None:
    cases = {
        ("2025-03", "2025-05"): "Period: March 2025 to May 2025 (the months asked for).",
        ("2025-03", None): f"Period: March 2025 to {last_month:%B %Y} (from the month asked for "
        "to the latest report held).",
        (None, "2022-06"): "Period: February 2021 to June 2022 (from the earliest report held "
        "to the month asked for).",
        (None, "2020-06"): "Period: up to June 2020; no reports are held before it.",
    }
    for (first, last), expected in cases.items():
        params = {k: v for k, v in (("month_from", first), ("month_to", last)) if v}
        for headers in (who["public"], who["supervisor"]):
            note = _get(api, "/wards/summary", headers, **params).json()["method_note"]
            assert _period_lines(note) == [expected], params


def test_the_period_of_a_narrow_filter_is_still_that_of_the_reports_held(
    api: TestClient, who: dict[str, dict[str, str]], last_month: date
) -> None:
    # The earliest month of one category at night could date a single report; the note gives
    # the boroughs' span instead.
    note = _get(
        api, "/wards/summary", who["partner"], category="followed", time_band="night"
    ).json()["method_note"]
    assert _period_lines(note) == [
        f"Period: February 2021 to {last_month:%B %Y} (all reports held)."
    ]


def test_the_themes_note_states_the_period_they_cover(
    api: TestClient, who: dict[str, dict[str, str]]
) -> None:
    asked = _get(api, "/themes", who["partner"], month_from="2025-01", month_to="2025-06")
    assert _period_lines(asked.json()["method_note"]) == [
        "Period: January 2025 to June 2025 (the months asked for)."
    ]
    default = _get(api, "/themes", who["partner"]).json()
    first, last = (date.fromisoformat(f"{m}-01") for m in default["period"].values())
    assert _period_lines(default["method_note"]) == [
        f"Period: {first:%B %Y} to {last:%B %Y} (the latest {DEFAULT_MONTHS} months, as no "
        "month was asked for)."
    ]


# --- the wide CSV -----------------------------------------------------------------------------


def _measure_columns(wards: pd.DataFrame) -> list[str]:
    names = {"ward_code", "ward_name", "borough_code", "borough_name"}
    return [
        c
        for c in wards.columns
        if c not in names
        and c != "suppressed"
        and not c.endswith("_suppressed")
        and not c.startswith("top_category_")
    ]


def test_the_wide_csv_has_a_row_per_ward_a_column_per_measure_and_borough_totals(
    api: TestClient, who: dict[str, dict[str, str]]
) -> None:
    wards = _ward_json(api, who["partner"])
    answer = _get(api, "/wards/summary.csv", who["partner"], layout="wide")
    assert answer.headers["content-type"].startswith("text/csv")
    assert 'filename="ward-summary-' in answer.headers["content-disposition"]
    table = _wide(answer.content)

    ward_rows = table[table["Level"] == "Ward"]
    totals = table[table["Level"] == "Borough total"]
    assert len(ward_rows) + len(totals) == len(table)
    assert sorted(ward_rows["Ward code"]) == sorted(wards["ward_code"])
    assert ward_rows["Ward code"].is_unique
    # The totals come last, one per borough in scope, clearly named.
    assert list(totals.index) == list(range(len(ward_rows), len(table)))
    assert list(totals["Borough code"]) == [LAMBETH]
    assert set(totals["Ward name"]) == {"Borough total"}
    assert totals["Ward code"].isna().all()

    # Every measure the ward summary shows has its column, headed in words, plus the counts a
    # bid needs that the summary only ranks.
    for column in _measure_columns(wards):
        assert heading_of(column, HEADINGS) in table.columns, column
    for heading in (
        "Ward name",
        "Borough name",
        "Area (km²)",
        "Reports",
        "Reports per km²",
        "Reports after dark",
        "Share of reports after dark (0 to 1)",
        "Walks held",
        "Concerns raised on walks",
        "Reports in the evening (17:00-21:59)",
        "Reports in the night (22:00-04:59)",
        *(f"Reports: {c.label}" for c in CATEGORIES),
        SUPPRESSED,
        "Notes",
    ):
        assert heading in table.columns, heading
    assert table["Notes"].iloc[0].startswith("A report is a place")
    assert table["Notes"].iloc[1:].isna().all()

    shown = wards.set_index("ward_code")
    for _, row in ward_rows.iterrows():
        ward = shown.loc[row["Ward code"]]
        if ward["suppressed"]:
            # Blank, named as suppressed, never 0.
            assert pd.isna(row["Reports"]) and pd.isna(row["Reports per km²"])
            assert "Reports" in row[SUPPRESSED].split("; ")
        else:
            assert row["Reports"] == ward["count"]
            assert row["Reports"] % 5 == 0 and row["Reports"] >= RULE.k
        assert row["Area (km²)"] == pytest.approx(ward["area_km2"])
    assert ward_rows["Reports"].isna().any(), "the seed should leave some ward suppressed"
    assert ward_rows["Reports"].notna().any()
    count_columns = [c for c in table.columns if c.startswith("Reports") and "per" not in c]
    counts = table[count_columns].to_numpy(dtype=float)
    shown_counts = counts[~np.isnan(counts)]
    # Under protection a shown count is at least k and a multiple of 5: no zero ever shows.
    assert (shown_counts >= RULE.k).all() and (shown_counts % RULE.base == 0).all()


def test_the_wide_csv_marks_each_suppressed_cell_by_its_heading(
    api: TestClient, who: dict[str, dict[str, str]]
) -> None:
    answer = _get(api, "/wards/summary.csv", who["partner"], layout="wide")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert rows, "no rows"
    marked = 0
    for row in rows:
        named = [h for h in row[SUPPRESSED].split("; ") if h]
        for heading in named:
            assert row[heading] == "", (row["Ward code"], heading)
            marked += 1
        for heading, value in row.items():
            # A count is never empty unless suppressed (a rate may be: no population held).
            if heading.startswith("Reports") and " per " not in heading and heading not in named:
                assert value != "", (row["Ward code"], heading)
        # A unit's area is a fact about it, not a count: never suppressed.
        assert row["Area (km²)"] != ""
    assert marked > 0


def test_a_supervisors_wide_csv_is_exact_and_its_totals_add_up(
    api: TestClient, who: dict[str, dict[str, str]]
) -> None:
    wards = _ward_json(api, who["supervisor"])
    table = _wide(_get(api, "/wards/summary.csv", who["supervisor"], layout="wide").content)
    ward_rows = table[table["Level"] == "Ward"].set_index("Ward code")
    totals = table[table["Level"] == "Borough total"].set_index("Borough code")
    assert table[SUPPRESSED].isna().all()
    assert sorted(totals.index) == sorted(wards["borough_code"].unique())
    for column, heading in (("count", "Reports"), ("walks", "Walks held")):
        exact = wards.set_index("ward_code")[column]
        assert (ward_rows.loc[exact.index, heading] == exact).all()
    count_headings = [
        "Reports",
        "Reports after dark",
        "Walks held",
        "Concerns raised on walks",
        *(f"Reports: {c.label}" for c in CATEGORIES),
        "Reports in the early morning (05:00-07:59)",
        "Reports in the daytime (08:00-16:59)",
        "Reports in the evening (17:00-21:59)",
        "Reports in the night (22:00-04:59)",
    ]
    for borough, total in totals.iterrows():
        in_borough = ward_rows[ward_rows["Borough code"] == borough]
        for heading in count_headings:
            assert total[heading] == in_borough[heading].sum(), (borough, heading)
        # Every report has one time of day: the bands add up to the reports.
        bands = [h for h in count_headings if h.startswith("Reports in the")]
        assert total[bands].sum() == total["Reports"]


def test_layout_is_for_the_csv_and_takes_long_or_wide(
    api: TestClient, who: dict[str, dict[str, str]]
) -> None:
    wrong = api.get("/wards/summary.geojson", params={"layout": "wide"})
    assert wrong.status_code == 422
    assert "layout=wide is for the CSV" in wrong.json()["detail"]
    bogus = api.get("/wards/summary.csv", params={"layout": "sideways"})
    assert bogus.status_code == 422
    # The long layout stays the default.
    long = _get(api, "/wards/summary.csv", who["public"])
    assert long.text.splitlines()[0].startswith("ward_code,ward_name,borough_code")


# --- borough totals ---------------------------------------------------------------------------


def test_a_supervisors_borough_totals_are_the_sums_of_the_exact_ward_figures(
    api: TestClient, who: dict[str, dict[str, str]], settings: Settings
) -> None:
    wards = _ward_json(api, who["supervisor"])
    answer = _get(api, "/boroughs/summary", who["supervisor"]).json()
    assert answer["disclosure"] == {"exact": True}
    boroughs = pd.DataFrame(answer["boroughs"]).set_index("borough_code")
    assert sorted(boroughs.index) == sorted(wards["borough_code"].unique())
    sums = wards.groupby("borough_code")[["count", "walks", "concerns", "area_km2"]].sum()
    for column in ("count", "walks", "concerns"):
        assert (boroughs.loc[sums.index, column] == sums[column]).all(), column
    assert boroughs.loc[sums.index, "area_km2"].to_numpy() == pytest.approx(
        sums["area_km2"].to_numpy(), abs=1e-3
    )
    assert not boroughs["suppressed"].any()
    # Per category, straight from the reports table.
    engine = create_engine(settings.database_url or "")
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT r.borough_code, c, count(*) FROM reports r, unnest(r.categories) c "
                "WHERE r.status = 'published' AND r.ward_code IS NOT NULL GROUP BY 1, 2"
            )
        ).all()
    engine.dispose()
    for borough, category, n in rows:
        if borough in boroughs.index:
            assert boroughs.loc[borough, f"reports_{category}"] == n, (borough, category)


def test_a_partners_borough_totals_are_the_exact_totals_protected(
    api: TestClient, who: dict[str, dict[str, str]]
) -> None:
    exact = pd.DataFrame(
        _get(api, "/boroughs/summary", who["supervisor"], borough=LAMBETH).json()["boroughs"]
    )
    answer = _get(api, "/boroughs/summary", who["partner"]).json()
    assert answer["disclosure"]["exact"] is False
    shown = pd.DataFrame(answer["boroughs"])
    assert list(shown["borough_code"]) == [LAMBETH]
    for column in ("count", "walks", "concerns", "reports_after_dark", "reports_isolated"):
        flag = "suppressed" if column == "count" else f"{column}_suppressed"
        value, hidden = protect([int(exact.loc[0, column])], RULE)
        assert bool(shown.loc[0, flag]) == bool(hidden[0]), column
        if hidden[0]:
            assert shown.loc[0, column] is None or pd.isna(shown.loc[0, column])
        else:
            assert shown.loc[0, column] == value[0], column


def test_the_borough_csv_has_a_row_per_borough(
    api: TestClient, who: dict[str, dict[str, str]]
) -> None:
    answer = _get(api, "/boroughs/summary.csv", who["public"])
    assert 'filename="borough-summary-' in answer.headers["content-disposition"]
    table = _wide(answer.content)
    json_rows = _get(api, "/boroughs/summary", who["public"]).json()["boroughs"]
    assert list(table["Borough code"]) == [b["borough_code"] for b in json_rows]
    assert set(table["Level"]) == {"Borough total"}
    assert "Ward code" not in table.columns
    for row, borough in zip(table.to_dict("records"), json_rows, strict=True):
        assert row["Reports"] == borough["count"]
        assert row["Reports: Isolated or deserted"] == borough["reports_isolated"] or (
            borough["reports_isolated_suppressed"] and pd.isna(row["Reports: Isolated or deserted"])
        )


# --- hexagons ---------------------------------------------------------------------------------


def test_the_hexagons_wide_csv_has_a_row_per_hexagon(
    api: TestClient, who: dict[str, dict[str, str]]
) -> None:
    features = _get(api, "/hotspots", who["partner"], edge=500).json()["features"]
    cells = pd.DataFrame([f["properties"] for f in features]).set_index(["i", "j"])
    answer = _get(
        api, "/hotspots.csv", who["partner"], edge=500, layout="wide", crs=27700, crimes="true"
    )
    table = _wide(answer.content)
    assert len(table) == len(cells)
    table = table.set_index(["Hexagon column (i)", "Hexagon row (j)"])
    assert table.index.is_unique and set(table.index) == set(cells.index)
    assert set(table["Hexagon edge (m)"]) == {500}
    for heading in ("Reports", "Gi* z-score", "Hot-spot class", "Police.uk crimes"):
        assert heading in table.columns, heading
    assert table["Outline (WKT, EPSG:27700)"].str.startswith("POLYGON ((").all()
    # Residents are a fact of the cell, not a count of reports: never called suppressed.
    assert "Residents" in table.columns
    assert not table[SUPPRESSED].fillna("").str.contains("Residents").any()
    hidden = cells[cells["suppressed"]].index
    assert len(hidden) > 0
    assert table.loc[hidden, "Reports"].isna().all()
    assert table.loc[hidden, SUPPRESSED].str.split("; ").map(lambda h: "Reports" in h).all()
    shown = cells[~cells["suppressed"]].index
    assert (table.loc[shown, "Reports"] == cells.loc[shown, "count"]).all()
    assert table["Notes"].iloc[0].startswith("A report is a place")
    wrong = api.get("/hotspots.gpkg", params={"layout": "wide"}, headers=who["partner"])
    assert wrong.status_code == 422 and "layout=wide is for the CSV" in wrong.json()["detail"]

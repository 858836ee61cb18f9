"""Themes by month, ward, category and kind: PostGIS equals pandas; partners see protected cells.

The data: demo walks (with their concerns and surveys) seeded for March to August 2026, a
block of reports placed to land on both sides of k = 10, and a few hundred random reports of
every source, status, time band and darkness, some outside the period.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from maps.charts import top_category_series
from service.queries import themes
from service.queries.aggregates import AggregateFilter
from service.queries.demo_walks import seed_patrols, seed_walks
from service.settings import Settings
from service.taxonomy import CATEGORIES

LAMBETH, SOUTHWARK = "E09000022", "E09000028"
WATERLOO, BOROUGH_BANKSIDE = "E05014118", "E05011095"
FIRST, LAST = date(2026, 3, 1), date(2026, 8, 1)
PERIOD = {"month_from": "2026-03", "month_to": "2026-08"}
# The finest cut (the routes default to quarters, boroughs and category groups).
FINE = {"step": "month", "area": "ward", "category_level": "category"}
FINE_PERIOD = {**PERIOD, **FINE}
SLUGS = [c.slug for c in CATEGORIES]
BANDS = ("early_morning", "daytime", "evening", "night")


def _ward_points(session: Session) -> pd.DataFrame:
    return pd.DataFrame(
        session.execute(
            text(
                "SELECT w.code, w.borough_code, ST_X(ST_PointOnSurface(w.geom)) AS lon, "
                "ST_Y(ST_PointOnSurface(w.geom)) AS lat FROM wards w "
                "JOIN ward_sets s ON s.id = w.ward_set_id AND s.is_active ORDER BY w.code"
            )
        ).all(),
        columns=["code", "borough_code", "lon", "lat"],
    ).set_index("code")


def _report(wards: pd.DataFrame, ward: str, on: date, categories: list[str], **extra: Any) -> dict:
    row = {
        "lon": float(wards.at[ward, "lon"]),
        "lat": float(wards.at[ward, "lat"]),
        "ward": ward,
        "borough": wards.at[ward, "borough_code"],
        "on": on,
        "band": "evening",
        "at": None,
        "categories": categories,
        "source": "public",
        "dark": True,
        "status": "published",
    }
    row.update(extra)
    if row["at"] is not None:
        row["band"] = None
    row["basis"] = "time_band" if row["at"] is None else "exact_time"
    return row


def seed_theme_data(session: Session, key: bytes, *, walks: int) -> None:
    """The walks and reports every test here counts."""
    seed_walks(session, key=key, count=walks, seed=4, streets=None, today=date(2026, 9, 1))
    seed_patrols(session, count=walks, seed=4, today=date(2026, 9, 1))
    wards = _ward_points(session)
    may, june, july = date(2026, 5, 12), date(2026, 6, 3), date(2026, 7, 20)
    rows = (
        # Waterloo in May: poor lighting 23 (shown as 25), isolated 12 (10), loitering 9
        # (suppressed); five reports name both poor lighting and isolation.
        [_report(wards, WATERLOO, may, ["poor_lighting", "isolated"]) for _ in range(5)]
        + [_report(wards, WATERLOO, may, ["poor_lighting"]) for _ in range(18)]
        + [_report(wards, WATERLOO, may, ["isolated"]) for _ in range(7)]
        + [_report(wards, WATERLOO, may, ["loitering"], dark=False) for _ in range(9)]
        # Hidden and pending reports are never counted.
        + [_report(wards, WATERLOO, may, ["poor_lighting"], status="hidden") for _ in range(5)]
        + [_report(wards, WATERLOO, may, ["poor_lighting"], status="pending") for _ in range(3)]
        # Borough & Bankside in June: exactly k (shown) and 13 (shown as 15).
        + [
            _report(wards, BOROUGH_BANKSIDE, june, ["no_cctv"], source="imported")
            for _ in range(10)
        ]
        + [_report(wards, BOROUGH_BANKSIDE, june, ["poor_lighting"]) for _ in range(13)]
        + [
            _report(
                wards,
                WATERLOO,
                july,
                ["verbal_harassment"],
                source="synthetic",
                at=datetime.combine(july, time(19, 30), tzinfo=UTC),
            )
            for _ in range(12)
        ]
    )
    rng = np.random.default_rng(8)
    others = [w for w in wards.index if w not in (WATERLOO, BOROUGH_BANKSIDE)]
    for ward in rng.choice(others, size=8, replace=False):
        for _ in range(60):
            first, second = rng.choice(SLUGS, size=2, replace=False)
            on = date(2026, 2, 1) + timedelta(days=int(rng.integers(0, 240)))  # Feb to Sep
            exact = rng.random() < 0.3
            rows.append(
                _report(
                    wards,
                    str(ward),
                    on,
                    [str(first), str(second)] if rng.random() < 0.3 else [str(first)],
                    band=str(rng.choice(BANDS)),
                    at=datetime.combine(on, time(int(rng.integers(0, 24)), 10), tzinfo=UTC)
                    if exact
                    else None,
                    source=str(rng.choice(["public", "imported", "synthetic"])),
                    dark=bool(rng.random() < 0.6),
                    status=str(rng.choice(["published", "hidden"], p=[0.9, 0.1])),
                )
            )
    session.execute(
        text(
            "INSERT INTO reports (geom, ward_code, borough_code, occurred_on, time_band, "
            "occurred_at, categories, source, sun_elevation, is_dark, darkness_basis, status) "
            "VALUES (ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), :ward, :borough, :on, :band, "
            ":at, :categories, :source, CASE WHEN :dark THEN -20 ELSE 20 END, :dark, "
            ":basis, :status)"
        ),
        rows,
    )


# --- the same counts, independently, in pandas ----------------------------------------------


def _band(hours: pd.Series) -> pd.Series:
    return (
        pd.cut(hours, [-1, 4, 7, 16, 21, 24], labels=["night", *BANDS[:3], "night2"])
        .astype(str)
        .replace("night2", "night")
    )


def _tables(session: Session) -> dict[str, pd.DataFrame]:
    def read(sql: str) -> pd.DataFrame:
        return pd.read_sql_query(text(sql), session.connection())

    return {
        "reports": read(
            "SELECT ward_code, borough_code, occurred_on, time_band, occurred_at, categories, "
            "source, status, is_dark FROM reports"
        ),
        "walks": read(
            "SELECT id AS walk_id, ward_code, borough_code, planned_start, actual_start, "
            "dark_share, kind, conversations, patrol_themes FROM walks"
        ),
        "themes": pd.concat(
            [
                read("SELECT walk_id, themes FROM officer_surveys"),
                read("SELECT walk_id, themes FROM buddy_surveys"),
            ]
        ),
    }


def expected_counts(
    tables: dict[str, pd.DataFrame],
    *,
    boroughs: tuple[str, ...],
    first: date,
    last: date,
    categories: tuple[str, ...] = (),
    dark: bool = False,
    band: str | None = None,
    sources: tuple[str, ...] = (),
    kinds: tuple[str, ...] = themes.KINDS,
) -> dict[tuple[date, str, str, str], int]:
    """Non-zero cells, counted in pandas from the raw tables."""
    periods = (pd.Period(first, "M"), pd.Period(last, "M"))
    r = tables["reports"]
    r = r[(r["status"] == "published") & r["borough_code"].isin(boroughs) & r["ward_code"].notna()]
    r = r.assign(month=pd.to_datetime(r["occurred_on"]).dt.to_period("M"))
    r = r[(r["month"] >= periods[0]) & (r["month"] <= periods[1])]
    if sources:
        r = r[r["source"].isin(sources)]
    if dark:
        r = r[r["is_dark"]]
    if band:
        hours = pd.to_datetime(r["occurred_at"], utc=True).dt.tz_convert("Europe/London").dt.hour
        r = r[r["time_band"].fillna(_band(hours)) == band]
    r = r.explode("categories").rename(columns={"categories": "category"})
    r["kind"] = np.where(r["source"] == "walk_concern", "walk_concerns", "reports")
    frames = [r[["month", "ward_code", "category", "kind"]]]

    if not sources:
        s = tables["themes"].explode("themes").dropna(subset=["themes"])
        s = s.rename(columns={"themes": "category"}).drop_duplicates(["walk_id", "category"])
        s = s.merge(tables["walks"], on="walk_id")
        start = pd.to_datetime(s["actual_start"].fillna(s["planned_start"]), utc=True)
        local = start.dt.tz_convert("Europe/London")
        s = s.assign(month=local.dt.tz_localize(None).dt.to_period("M"), kind="survey_themes")
        s = s[s["borough_code"].isin(boroughs)]
        s = s[(s["month"] >= periods[0]) & (s["month"] <= periods[1])]
        if dark:
            s = s[s["dark_share"] >= 0.5]
        if band:
            s = s[_band(local.loc[s.index].dt.hour) == band]
        frames.append(s[["month", "ward_code", "category", "kind"]])

        # Patrols with a record, once per theme heard.
        p = tables["walks"]
        p = p[(p["kind"] == "patrol") & p["conversations"].notna()]
        p = p.explode("patrol_themes").dropna(subset=["patrol_themes"])
        p = p.rename(columns={"patrol_themes": "category"})
        start = pd.to_datetime(p["actual_start"].fillna(p["planned_start"]), utc=True)
        local = start.dt.tz_convert("Europe/London")
        p = p.assign(month=local.dt.tz_localize(None).dt.to_period("M"), kind="patrol_themes")
        p = p[p["borough_code"].isin(boroughs)]
        p = p[(p["month"] >= periods[0]) & (p["month"] <= periods[1])]
        if dark:
            p = p[p["dark_share"] >= 0.5]
        if band:
            p = p[_band(local.loc[p.index].dt.hour) == band]
        frames.append(p[["month", "ward_code", "category", "kind"]])
    cells = pd.concat(frames)
    cells = cells[cells["kind"].isin(kinds)]
    if categories:
        cells = cells[cells["category"].isin(categories)]
    sizes = cells.groupby(["month", "ward_code", "category", "kind"]).size()
    return {(m.start_time.date(), w, c, k): int(n) for (m, w, c, k), n in sizes.items()}


@pytest.fixture(scope="module")
def seeded(work_db: str) -> Iterator[Session]:
    """One seeded transaction for the read-only tests of this module, rolled back after them."""
    engine = create_engine(work_db)
    connection = engine.connect()
    outer = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint")
    seed_theme_data(session, b"k" * 32, walks=14)
    try:
        yield session
    finally:
        session.close()
        outer.rollback()
        connection.close()
        engine.dispose()


@pytest.mark.parametrize(
    "filters",
    [
        {},
        {"boroughs": (LAMBETH,), "categories": ("poor_lighting", "isolated"), "dark": True},
        {"band": "evening", "kinds": ("reports", "survey_themes")},
        {"sources": ("public", "walk_concern")},
        {"first": date(2026, 4, 1), "last": date(2026, 5, 1), "kinds": ("survey_themes",)},
    ],
    ids=["all", "lambeth-two-categories-dark", "evening", "two-sources", "two-months-surveys"],
)
def test_counts_equal_pandas_on_the_same_rows(seeded: Session, filters: dict[str, Any]) -> None:
    boroughs = filters.get("boroughs", (LAMBETH, SOUTHWARK))
    first, last = filters.get("first", FIRST), filters.get("last", LAST)
    kinds = filters.get("kinds", themes.KINDS)
    selection = AggregateFilter(
        boroughs,
        month_from=first,
        month_to=last,
        categories=filters.get("categories", ()),
        dark_only=filters.get("dark", False),
        time_band=filters.get("band"),
        sources=filters.get("sources", ()),
    )
    counted = themes.theme_counts(seeded, selection, kinds=kinds)
    expected = expected_counts(
        _tables(seeded),
        boroughs=boroughs,
        first=first,
        last=last,
        categories=selection.categories,
        dark=selection.dark_only,
        band=selection.time_band,
        sources=selection.sources,
        kinds=kinds,
    )
    frame = counted.counts
    got = {
        (r.month, r.ward_code, r.category, r.kind): r.count
        for r in frame[frame["count"] > 0].itertuples()
    }
    assert got == expected
    assert sum(expected.values()) > 0
    # Every cell of the grid is there, zeros included, and each once.
    wards = int(
        seeded.execute(
            text(
                "SELECT count(*) FROM wards w JOIN ward_sets s ON s.id = w.ward_set_id "
                "AND s.is_active WHERE w.borough_code = ANY(:b)"
            ),
            {"b": list(boroughs)},
        ).scalar_one()
    )
    months = themes.months_between(first, last)
    categories = len(selection.categories) or len(SLUGS)
    assert len(frame) == months * wards * categories * len(kinds)
    assert not frame.duplicated(["month", "ward_code", "category", "kind"]).any()


def test_every_kind_is_counted_and_hidden_reports_are_not(seeded: Session) -> None:
    counted = themes.theme_counts(seeded, AggregateFilter((LAMBETH, SOUTHWARK), FIRST, LAST))
    by_kind = counted.counts.groupby("kind")["count"].sum()
    assert (by_kind > 0).all() and set(by_kind.index) == set(themes.KINDS)
    cell = counted.counts.set_index(["month", "ward_code", "category", "kind"])["count"]
    may = date(2026, 5, 1)
    assert cell[(may, WATERLOO, "poor_lighting", "reports")] == 23  # not the 8 hidden/pending
    assert cell[(may, WATERLOO, "isolated", "reports")] == 12
    assert counted.synthetic_included


def test_a_source_filter_leaves_survey_themes_out(seeded: Session) -> None:
    counted = themes.theme_counts(
        seeded,
        AggregateFilter((LAMBETH, SOUTHWARK), FIRST, LAST, sources=("synthetic",)),
        kinds=("survey_themes",),
    )
    assert len(counted.counts) > 0 and counted.counts["count"].sum() == 0


@pytest.mark.parametrize(
    ("month_from", "month_to", "expected"),
    [
        (None, None, (date(2026, 1, 1), date(2026, 12, 1))),
        (date(2026, 10, 1), None, (date(2026, 10, 1), date(2026, 12, 1))),
        (date(2025, 1, 1), None, (date(2025, 1, 1), date(2025, 12, 1))),
        (None, date(2026, 6, 1), (date(2025, 7, 1), date(2026, 6, 1))),
    ],
)
def test_the_default_period_is_twelve_months_up_to_this_one(
    month_from: date | None, month_to: date | None, expected: tuple[date, date]
) -> None:
    selection = AggregateFilter((LAMBETH,), month_from=month_from, month_to=month_to)
    assert themes.theme_period(selection, today=date(2026, 12, 1)) == expected


# --- the API, on a fresh database the app itself reads ---------------------------------------


@pytest.fixture
def api(
    client: TestClient, app_settings: Settings, people: dict[str, dict[str, str]]
) -> tuple[TestClient, dict[str, dict[str, str]]]:
    engine = create_engine(app_settings.database_url or "")
    with Session(engine) as session, session.begin():
        # Fewer walks than above: these tests are about protection, not the counting.
        seed_theme_data(session, app_settings.resolved_secret_key(), walks=4)
    engine.dispose()
    return client, people


def _round(n: int) -> int:
    return int(np.floor(n / 5 + 0.5) * 5)


def _key(row: dict[str, Any]) -> tuple[str, str, str, str]:
    return row["month"], row["ward_code"], row["category"], row["kind"]


def test_partners_see_only_protected_cells_of_their_borough(api: Any) -> None:
    client, people = api
    exact = client.get(
        "/themes", params={**FINE_PERIOD, "borough": LAMBETH}, headers=people["supervisor"]
    )
    shown = client.get("/themes", params=FINE_PERIOD, headers=people["partner"])
    assert exact.status_code == shown.status_code == 200, shown.text
    exact_body, body = exact.json(), shown.json()
    assert exact_body["exact"] is True and exact_body["disclosure"] is None
    assert body["exact"] is False and body["disclosure"] == {"k": 10, "rounded_to": 5}
    assert body["boroughs"] == [LAMBETH]
    assert {w["borough_code"] for w in body["wards"].values()} == {LAMBETH}
    assert body["wards"][WATERLOO]["name"] == "Waterloo & South Bank"
    assert body["period"] == PERIOD

    truth = {_key(r): r["count"] for r in exact_body["counts"]}
    assert [_key(r) for r in body["counts"]] == list(truth)  # the same cells, zeros included
    shown_cells = 0
    for row in body["counts"]:
        n = truth[_key(row)]
        if n < 10:
            assert row["count"] is None and row["suppressed"] is True, row
        else:
            shown_cells += 1
            assert row["suppressed"] is False and row["count"] == _round(n), row
            assert row["count"] >= 10 and row["count"] % 5 == 0
    assert shown_cells >= 3
    assert body["suppressed_cells"] == len(body["counts"]) - shown_cells
    cells = {_key(r): r for r in body["counts"]}
    assert cells[("2026-05", WATERLOO, "poor_lighting", "reports")]["count"] == 25
    assert cells[("2026-05", WATERLOO, "isolated", "reports")]["count"] == 10
    assert cells[("2026-05", WATERLOO, "loitering", "reports")]["suppressed"] is True
    assert body["synthetic_included"] is True
    assert any("Disclosure control" in s for s in body["method_note"])

    # The public and officers are protected the same way; a supervisor sees Southwark too.
    for who in ("public", "waterloo"):
        other = client.get("/themes", params=FINE_PERIOD, headers=people[who]).json()
        assert other["exact"] is False
        assert all(r["count"] is None or r["count"] % 5 == 0 for r in other["counts"])
    everything = client.get("/themes", params=FINE_PERIOD, headers=people["supervisor"]).json()
    counts = {_key(r): r["count"] for r in everything["counts"]}
    assert counts[("2026-06", BOROUGH_BANKSIDE, "poor_lighting", "reports")] == 13


def test_themes_filters_are_checked(api: Any) -> None:
    client, people = api
    partner = people["partner"]
    assert client.get("/themes", params={"kind": "gossip"}, headers=partner).status_code == 422
    too_long = client.get(
        "/themes", params={"month_from": "2020-01", "month_to": "2026-01"}, headers=partner
    )
    assert too_long.status_code == 422 and "at most 36 months" in too_long.json()["detail"]
    # Another borough's protected themes are the public's (issue 10, item 5).
    outside = client.get("/themes", params={**FINE_PERIOD, "borough": SOUTHWARK}, headers=partner)
    public = client.get("/themes", params={**FINE_PERIOD, "borough": SOUTHWARK})
    assert outside.status_code == public.status_code == 200, outside.text
    assert outside.json() == public.json()
    unknown = client.get("/themes", params={"borough": "E09000001"}, headers=partner)
    assert unknown.status_code == 422 and "not in the active ward set" in unknown.text
    dark = client.get("/themes", params={**FINE_PERIOD, "dark": "true"}, headers=partner).json()
    assert any("walks walked at least half in the dark" in s for s in dark["method_note"])
    one_kind = client.get(
        "/themes", params={**FINE_PERIOD, "kind": "walk_concerns"}, headers=partner
    ).json()
    assert {r["kind"] for r in one_kind["counts"]} == {"walk_concerns"}


def test_the_csv_is_long_with_one_suppressed_marker_and_the_note(api: Any) -> None:
    client, people = api
    response = client.get("/themes.csv", params=FINE_PERIOD, headers=people["partner"])
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="themes-' in response.headers["content-disposition"]
    frame = pd.read_csv(io.StringIO(response.text), dtype={"suppressed": str, "notes": str})
    assert list(frame.columns) == [
        "month",
        "period",
        "area_code",
        "area_name",
        "ward_code",
        "ward_name",
        "borough_code",
        "category",
        "category_label",
        "kind",
        "count",
        "suppressed",
        "notes",
    ]
    body = client.get("/themes", params=FINE_PERIOD, headers=people["partner"]).json()
    assert len(frame) == len(body["counts"])
    assert set(frame["suppressed"]) == {"true", "false"}
    hidden = frame["suppressed"] == "true"
    assert frame.loc[hidden, "count"].isna().all()
    assert (frame.loc[~hidden, "count"] % 5 == 0).all() and (
        frame.loc[~hidden, "count"] >= 10
    ).all()
    from_json = {_key(r): r["count"] for r in body["counts"]}
    from_csv = {
        (r.month, r.ward_code, r.category, r.kind): None if pd.isna(r.count) else int(r.count)
        for r in frame.itertuples()
    }
    assert from_csv == from_json
    assert "Disclosure control" in frame.at[0, "notes"] and frame["notes"].iloc[1:].isna().all()
    assert frame.at[0, "notes"] == " ".join(body["method_note"])


def test_the_chart_is_a_real_png_drawn_from_the_protected_counts(
    api: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, people = api
    from service.routers import themes as themes_router

    drawn: list[pd.DataFrame] = []
    real_chart: Callable[..., bytes] = themes_router.themes_chart

    def recording_chart(series: pd.DataFrame, **kwargs: Any) -> bytes:
        drawn.append(series)
        return real_chart(series, **kwargs)

    monkeypatch.setattr(themes_router, "themes_chart", recording_chart)
    response = client.get("/themes.png", params=FINE_PERIOD, headers=people["partner"])
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.content[:8] == b"\x89PNG\r\n\x1a\n"
    image = Image.open(io.BytesIO(response.content))
    assert image.format == "PNG" and image.size[0] == 1100 and 600 <= image.size[1] <= 1000
    assert len(response.content) > 20_000

    # What was drawn is the partner's protected counts summed over wards: never an exact one.
    body = client.get("/themes", params=FINE_PERIOD, headers=people["partner"]).json()
    shown = pd.DataFrame(body["counts"]).assign(
        month=lambda f: pd.to_datetime(f["month"]).dt.date,
        count=lambda f: f["count"].astype("float64"),
    )
    (series,) = drawn
    pd.testing.assert_frame_equal(series, top_category_series(shown, top=5))
    assert len(series) > 0 and (series["count"] % 5 == 0).all()
    sums = shown.groupby(["kind", "month", "category"])["count"].sum()
    for row in series.itertuples():
        assert row.count == sums[(row.kind, row.month, row.category)]
    may = series[(series["kind"] == "reports") & (series["month"] == date(2026, 5, 1))]
    assert may.set_index("category")["count"]["poor_lighting"] >= 25  # Waterloo's 23, as 25


def test_top_category_series_adds_only_what_is_shown() -> None:
    months = [date(2026, 1, 1), date(2026, 2, 1)]
    cells = pd.DataFrame(
        {
            "kind": ["reports"] * 8 + ["walk_concerns"] * 2,
            "month": months * 5,
            "category": ["isolated"] * 4 + ["other"] * 2 + ["no_cctv"] * 2 + ["isolated"] * 2,
            "count": [10, 15, np.nan, 20, np.nan, np.nan, 10, np.nan, np.nan, np.nan],
        }
    )
    series = top_category_series(cells, top=1)
    assert series.to_dict("records") == [
        {"kind": "reports", "month": months[0], "category": "isolated", "count": 10.0},
        {"kind": "reports", "month": months[1], "category": "isolated", "count": 35.0},
    ]
    # With room for more: no_cctv (10) is kept, "other" (all suppressed) and walk concerns
    # (all suppressed) are not.
    wider = top_category_series(cells, top=5)
    assert set(wider["category"]) == {"isolated", "no_cctv"}
    assert set(wider["kind"]) == {"reports"}
    with pytest.raises(ValueError, match="top must be at least 1"):
        top_category_series(cells, top=0)


def test_the_themes_page_shows_the_chart_tables_and_note(api: Any) -> None:
    client, people = api
    response = client.get("/themes/page", params=FINE_PERIOD, headers=people["partner"])
    assert response.status_code == 200
    html = response.text
    assert (
        '<img src="/themes.png?month_from=2026-03&amp;month_to=2026-08&amp;step=month&amp;'
        'area=ward&amp;category_level=category"' in html
    )
    assert "<caption>Reports: the top categories by month (all wards summed)</caption>" in html
    assert '<th scope="row">May 2026</th>' in html
    assert "Disclosure control: areas with fewer than 10 reports are suppressed" in html
    public = client.get("/themes/page", params=FINE_PERIOD)
    assert public.status_code == 200 and "Recurring themes by month" in public.text

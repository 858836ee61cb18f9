"""Themes cut by quarter, borough and category group: the counts add up to the finest cut.

The cut is checked against the finest one (month, ward, category) on the themes tests' own
seed. (The share of suppressed cells on demo data is measured in ``test_themes_demo_share``:
its seed cannot share a database with this module's open transaction.)
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from geo.disclosure import DisclosureRule
from service.queries import themes
from service.queries.aggregates import AggregateFilter
from service.settings import Settings
from service.taxonomy import CATEGORIES, CATEGORY_GROUPS, GROUP_OF, SLUGS
from tests.test_api_themes import (
    BOROUGH_BANKSIDE,
    FIRST,
    LAMBETH,
    LAST,
    SOUTHWARK,
    WATERLOO,
    seed_theme_data,
)

RULE = DisclosureRule(k=10, base=5)
BOTH = (LAMBETH, SOUTHWARK)
FINE = themes.Cut()
KEY = ["month", "area_code", "category", "kind"]


@pytest.fixture(scope="module")
def seeded(work_db: str) -> Iterator[Session]:
    """The themes tests' seed, in one transaction rolled back after this module."""
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


def counts(session: Session, cut: themes.Cut, **filters: Any) -> pd.DataFrame:
    selection = AggregateFilter(BOTH, month_from=FIRST, month_to=LAST, **filters)
    return themes.theme_counts(session, selection, cut=cut).counts


def test_every_category_is_in_exactly_one_group() -> None:
    members = [m for g in CATEGORY_GROUPS for m in g.members]
    assert sorted(members) == sorted(SLUGS) and len(set(members)) == len(members)
    assert set(GROUP_OF) == SLUGS


def test_a_report_naming_two_categories_of_a_group_counts_once_in_it(seeded: Session) -> None:
    grouped = counts(seeded, themes.Cut(category_level="group")).set_index(KEY)["count"]
    may = date(2026, 5, 1)
    # Waterloo in May: 5 reports of poor lighting and isolation, 18 of poor lighting only and
    # 7 of isolation only are 30 reports about lighting and visibility (35 category mentions).
    assert grouped[(may, WATERLOO, "lighting_visibility", "reports")] == 30
    assert grouped[(may, WATERLOO, "harassment_behaviour", "reports")] == 9
    fine = counts(seeded, FINE).set_index(KEY)["count"]
    mentions = sum(fine[(may, WATERLOO, c, "reports")] for c in ("poor_lighting", "isolated"))
    assert mentions == 35


def test_groups_never_count_more_than_their_categories_nor_less_than_the_largest(
    seeded: Session,
) -> None:
    fine = counts(seeded, FINE)
    grouped = counts(seeded, themes.Cut(category_level="group")).set_index(KEY)["count"]
    fine = fine.assign(category=fine["category"].map(GROUP_OF))
    per_group = fine.groupby(KEY)["count"].agg(["sum", "max"])
    aligned = per_group.join(grouped.rename("grouped"), how="outer").fillna(0)
    assert (aligned["grouped"] <= aligned["sum"]).all()
    assert (aligned["grouped"] >= aligned["max"]).all()
    assert (aligned["grouped"] < aligned["sum"]).any()  # some reports name two of a group


def test_boroughs_and_quarters_add_up_the_wards_and_months(seeded: Session) -> None:
    fine = counts(seeded, FINE)
    boroughs = counts(seeded, themes.Cut(area="borough"))
    assert set(boroughs["area_code"]) == set(BOTH) and boroughs["ward_code"].isna().all()
    by_borough = fine.groupby(["month", "borough_code", "category", "kind"])["count"].sum()
    assert boroughs.set_index(KEY)["count"].to_dict() == by_borough.to_dict()
    quarters = counts(seeded, themes.Cut(step="quarter"))
    # March to August widens to whole quarters: January to September.
    assert sorted(set(quarters["month"])) == [date(2026, m, 1) for m in (1, 4, 7)]
    whole = AggregateFilter(BOTH, month_from=date(2026, 1, 1), month_to=date(2026, 9, 1))
    months = themes.theme_counts(seeded, whole, cut=FINE).counts
    quarter_of = months.assign(month=months["month"].map(lambda m: themes.step_start(m, 3)))
    by_quarter = quarter_of.groupby(KEY)["count"].sum()
    assert quarters.set_index(KEY)["count"].to_dict() == by_quarter.to_dict()
    assert quarters["count"].sum() > fine["count"].sum()  # February and September too
    # The grid is whole: every step, area, unit and kind, zeros included.
    coarse = counts(seeded, themes.DEFAULT_CUT)
    assert len(coarse) == 3 * 2 * len(CATEGORY_GROUPS) * len(themes.KINDS)


def test_a_category_filter_keeps_the_groups_that_hold_it(seeded: Session) -> None:
    grouped = counts(
        seeded,
        themes.Cut(category_level="group"),
        categories=("poor_lighting", "verbal_harassment"),
    )
    assert set(grouped["category"]) == {"lighting_visibility", "harassment_behaviour"}
    fine = counts(seeded, FINE, categories=("poor_lighting",))
    assert grouped[grouped["category"] == "lighting_visibility"]["count"].sum() == (
        fine["count"].sum()
    )


def test_the_routes_default_to_the_coarse_cut(
    client: TestClient, app_settings: Settings, people: dict[str, dict[str, str]]
) -> None:
    engine = create_engine(app_settings.database_url or "")
    with Session(engine) as session, session.begin():
        seed_theme_data(session, app_settings.resolved_secret_key(), walks=4)
    engine.dispose()
    period = {"month_from": "2026-03", "month_to": "2026-08"}
    body = client.get("/themes", params=period, headers=people["partner"]).json()
    assert (body["step"], body["area"], body["category_level"]) == ("quarter", "borough", "group")
    assert body["categories"] == {g.slug: g.label for g in CATEGORY_GROUPS}
    assert body["areas"] == {LAMBETH: {"name": "Lambeth", "borough_code": LAMBETH}}
    assert body["wards"] == {}
    assert {r["period"] for r in body["counts"]} == {"2026-Q1", "2026-Q2", "2026-Q3"}
    assert {r["ward_code"] for r in body["counts"]} == {None}
    fine = client.get(
        "/themes",
        params={**period, "step": "month", "area": "ward", "category_level": "category"},
        headers=people["partner"],
    ).json()
    assert len(fine["categories"]) == len(CATEGORIES)
    assert body["suppressed_cells"] / body["cells"] < fine["suppressed_cells"] / fine["cells"]
    note = " ".join(body["method_note"])
    assert "cells of one quarter, one borough, one category group" in note
    assert "Lighting, visibility and isolation (Poor or no street lighting" in note
    assert "counts once in it" in note
    csv = client.get("/themes.csv", params=period, headers=people["partner"]).text
    first_row = "2026-01,2026-Q1,E09000022,Lambeth,,,E09000022,lighting_visibility,"
    assert csv.splitlines()[1].startswith(first_row)
    page = client.get("/themes/page", params=period, headers=people["partner"]).text
    assert "Recurring themes by quarter" in page
    assert '<option value="borough" selected>Borough</option>' in page
    assert '<th scope="row">Q2 2026</th>' in page
    southwark = client.get("/themes", params={**period, "borough": SOUTHWARK, "area": "ward"})
    assert BOROUGH_BANKSIDE in southwark.json()["wards"]
    for name, value in (("step", "week"), ("area", "street"), ("category_level", "all")):
        bad = client.get("/themes", params={**period, name: value})
        assert bad.status_code == 422
        assert f"{name} must be one of" in bad.json()["detail"]
        assert f"not '{value}'" in bad.json()["detail"]

"""Differencing: pairs of answers a partner can ask for never give back a suppressed count.

A partner sees counts under 10 suppressed and the rest rounded to 5. Two answers that overlap
(a ward and the hexagons inside it, an uploaded area and the ward it nearly covers, all
categories and all but one) differ by exactly the reports of one smaller unit; if both answers
were exact, so would the difference be. Here, on a real PostGIS with reports placed where each
attack needs them, the partner's answers are taken through the API and the attacker's best
reasoning is done for her: every exact value consistent with what was shown is listed. The
suppressed unit always keeps more than one possible value, while a supervisor's difference is
the exact count.

The last tests state what remains (README, "Disclosure control"): two shown answers never pin
a suppressed count whatever the counts are; a shown total made of exactly two suppressed parts
pins them when it is 18 (9 and 9); and three or more answers added together can, for unlucky
counts, leave one value.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from fastapi.testclient import TestClient
from shapely.geometry import MultiPolygon, Point, Polygon, box, mapping
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from geo.disclosure import DisclosureRule, protect
from service.queries.aggregates import AggregateFilter, hexagon_cells, hexagon_counts
from service.queries.reports import store_reports
from service.settings import Settings
from service.taxonomy import SLUGS

LAMBETH = "E09000022"
WATERLOO, BRIXTON_ACRE_LANE, KENNINGTON = "E05014118", "E05014095", "E05014105"
EDGE_M = 250
# Reports per hexagon wholly inside Waterloo & South Bank: two shown, one suppressed.
HEXAGON_REPORTS = (23, 14, 6)
AREA_REPORTS, CORNER_REPORTS = 30, 7  # an area nearly covering a ward, and what it leaves out
OTHER_CATEGORIES, FOLLOWED = 30, 6  # a ward's reports in other categories, and "followed" alone


# --- what a partner can know from what she is shown ----------------------------------------


def consistent_values(shown: float, rule: DisclosureRule, *, nonempty: bool = False) -> range:
    """Every exact count the rule would show as ``shown`` (NaN: suppressed).

    ``nonempty`` is the attacker's extra knowledge that a suppressed unit holds some reports
    (e.g. it is listed at all).
    """
    if np.isnan(shown):
        return range(1 if nonempty else 0, rule.k)
    candidates = np.arange(0, int(shown) + rule.base + 1)
    out, hidden = protect(candidates, rule)
    kept = candidates[~hidden & (out == shown)]
    assert len(kept), f"{shown} cannot be shown under {rule}"
    return range(int(kept.min()), int(kept.max()) + 1)


def possible_values(total: range, parts: Sequence[range], target: range) -> list[int]:
    """Values of ``target`` with ``total = target + sum(parts)``, each within its range.

    Exact for one linear equation over integer ranges: a sum of integer ranges is the full
    integer range between the sums of their ends.
    """
    low = total.start - sum(p.stop - 1 for p in parts)
    high = total.stop - 1 - sum(p.start for p in parts)
    return [v for v in target if low <= v <= high]


# --- placing reports where each attack needs them ------------------------------------------


def store_points(session: Session, points: Sequence[Point], categories: list[list[str]]) -> None:
    """Published public reports at these points, an evening a month ago."""
    day = date.today() - timedelta(days=30)
    rows = pd.DataFrame(
        {
            "line": np.arange(1, len(points) + 1),
            "lon": [p.x for p in points],
            "lat": [p.y for p in points],
            "categories": categories,
            "occurred_at": pd.Series([pd.NaT] * len(points), dtype="datetime64[ns, UTC]"),
            "occurred_on": [day] * len(points),
            "time_band": ["evening"] * len(points),
            "text": [None] * len(points),
        }
    )
    result = store_reports(session, rows, source="public", status="published")
    assert result.stored == len(points) and not result.outside


def points_in(polygon: Polygon | MultiPolygon, n: int, rng: np.random.Generator) -> list[Point]:
    """``n`` random points well inside ``polygon`` (EPSG:4326)."""
    inner = polygon.buffer(-0.0003)  # about 20 to 30 m in from the edge
    min_x, min_y, max_x, max_y = inner.bounds
    found: list[Point] = []
    while len(found) < n:
        p = Point(rng.uniform(min_x, max_x), rng.uniform(min_y, max_y))
        if inner.contains(p):
            found.append(p)
    return found


def ward(session: Session, code: str) -> MultiPolygon:
    wkb = session.execute(
        text(
            "SELECT ST_AsBinary(w.geom) FROM wards w JOIN ward_sets s ON s.id = w.ward_set_id "
            "AND s.is_active WHERE w.code = :code"
        ),
        {"code": code},
    ).scalar_one()
    return shapely.from_wkb(bytes(wkb))


def to_grid(geometry: Any) -> Any:
    return gpd.GeoSeries([geometry], crs=4326).to_crs(27700).iloc[0]


def to_grid_areas(geometries: gpd.GeoSeries) -> np.ndarray:
    return gpd.GeoSeries(geometries, crs=4326).to_crs(27700).area.to_numpy()


def to_lon_lat(geometry: Any) -> Any:
    return gpd.GeoSeries([geometry], crs=27700).to_crs(4326).iloc[0]


@pytest.fixture
def placed(app_settings: Settings) -> dict[str, Any]:
    """The reports of the three attacks, stored, and the shapes the attacker uses."""
    rng = np.random.default_rng(7)
    engine = create_engine(app_settings.database_url or "")
    with Session(engine) as session, session.begin():
        # 1. Three 250 m hexagons mostly inside Waterloo & South Bank: the ward's reports lie
        # in them (in their part inside the ward), and nothing else lies in the ward.
        waterloo = ward(session, WATERLOO)
        cells = hexagon_cells(session, (LAMBETH,), edge_m=EDGE_M)
        overlap = cells.geometry.intersection(waterloo)
        inside = cells.assign(part=overlap).iloc[
            np.argsort(-to_grid_areas(overlap))[: len(HEXAGON_REPORTS)]
        ]
        for part, n in zip(inside["part"], HEXAGON_REPORTS, strict=True):
            store_points(session, points_in(part, n, rng), [["poor_lighting"]] * n)

        # 2. Brixton Acre Lane less a 300 m square corner: 30 reports in the rest, 7 in it.
        brixton = ward(session, BRIXTON_ACRE_LANE)
        centre = to_grid(brixton).buffer(-250).representative_point()
        corner = to_lon_lat(box(centre.x - 150, centre.y - 150, centre.x + 150, centre.y + 150))
        rest = brixton.difference(corner)
        store_points(session, points_in(rest, AREA_REPORTS, rng), [["isolated"]] * AREA_REPORTS)
        store_points(
            session, points_in(corner, CORNER_REPORTS, rng), [["isolated"]] * CORNER_REPORTS
        )

        # 3. Kennington: 30 reports of other categories and 6 of "being followed" alone.
        kennington = ward(session, KENNINGTON)
        others = sorted(SLUGS - {"followed"})
        store_points(
            session,
            points_in(kennington, OTHER_CATEGORIES, rng),
            [[others[i % len(others)]] for i in range(OTHER_CATEGORIES)],
        )
        store_points(session, points_in(kennington, FOLLOWED, rng), [["followed"]] * FOLLOWED)
    engine.dispose()
    return {"hexagons": inside[["i", "j"]], "rest": rest, "corner": corner, "others": others}


def rule_of(settings: Settings) -> DisclosureRule:
    return DisclosureRule(k=settings.disclosure_k, base=settings.disclosure_rounding)


def ward_count(client: TestClient, headers: dict[str, str], code: str, **params: Any) -> float:
    answer = client.get("/wards/summary", params=params, headers=headers)
    assert answer.status_code == 200, answer.text
    (ward,) = [f["properties"] for f in answer.json()["features"] if f["id"] == code]
    return np.nan if ward["count"] is None else float(ward["count"])


def area_count(client: TestClient, headers: dict[str, str], area: Any) -> float:
    answer = client.post("/areas/summary", json=mapping(area), headers=headers)
    assert answer.status_code == 200, answer.text
    count = answer.json()["properties"]["count"]
    return np.nan if count is None else float(count)


def hexagons_as_shown(
    settings: Settings, cells: pd.DataFrame, rule: DisclosureRule | None
) -> list[float]:
    """The chosen cells' counts as the hot-spot map counts them, protected by ``rule``."""
    engine = create_engine(settings.database_url or "")
    with Session(engine) as session:
        counted = hexagon_counts(session, AggregateFilter((LAMBETH,)), edge_m=EDGE_M)
    engine.dispose()
    exact = cells.merge(counted, on=["i", "j"], how="left")["reports"].fillna(0)
    shown, _ = protect(exact.astype(int).to_numpy(), rule)
    return shown.tolist()


# --- the pairs ------------------------------------------------------------------------------


def test_a_ward_beside_its_hexagons(
    client: TestClient, people: dict, app_settings: Settings, placed: dict
) -> None:
    rule = rule_of(app_settings)
    total = ward_count(client, people["partner"], WATERLOO)
    cells = hexagons_as_shown(app_settings, placed["hexagons"], rule)
    assert total == 45 and cells[:2] == [25.0, 15.0] and np.isnan(cells[2])
    # Even knowing the ward's reports lie in exactly these three cells, and that the third
    # holds some, the partner is left with every count from 1 to 9 for it.
    values = possible_values(
        consistent_values(total, rule),
        [consistent_values(c, rule) for c in cells[:2]],
        consistent_values(cells[2], rule, nonempty=True),
    )
    assert HEXAGON_REPORTS[2] in values and len(values) > 1
    assert values == list(range(1, 10))

    # A supervisor's difference is the suppressed cell's exact count.
    exact_total = ward_count(client, people["supervisor"], WATERLOO)
    exact_cells = hexagons_as_shown(app_settings, placed["hexagons"], None)
    assert exact_total - sum(exact_cells[:2]) == exact_cells[2] == HEXAGON_REPORTS[2]


def test_an_uploaded_area_beside_the_ward_it_nearly_covers(
    client: TestClient, people: dict, app_settings: Settings, placed: dict
) -> None:
    rule = rule_of(app_settings)
    partner = people["partner"]
    whole = ward_count(client, partner, BRIXTON_ACRE_LANE)
    rest = area_count(client, partner, placed["rest"])
    corner = area_count(client, partner, placed["corner"])  # 0.09 km²: may be asked for
    assert (whole, rest) == (35.0, 30.0) and np.isnan(corner)
    values = possible_values(
        consistent_values(whole, rule),
        [consistent_values(rest, rule)],
        consistent_values(corner, rule),
    )
    assert CORNER_REPORTS in values and len(values) > 1
    assert values == list(range(1, 10))

    supervisor = people["supervisor"]
    exact = ward_count(client, supervisor, BRIXTON_ACRE_LANE) - area_count(
        client, supervisor, placed["rest"]
    )
    assert exact == area_count(client, supervisor, placed["corner"]) == CORNER_REPORTS


def test_all_categories_beside_all_but_one(
    client: TestClient, people: dict, app_settings: Settings, placed: dict
) -> None:
    rule = rule_of(app_settings)
    partner = people["partner"]
    everything = ward_count(client, partner, KENNINGTON)
    all_but_one = ward_count(client, partner, KENNINGTON, category=placed["others"])
    followed = ward_count(client, partner, KENNINGTON, category="followed")
    assert (everything, all_but_one) == (35.0, 30.0) and np.isnan(followed)
    values = possible_values(
        consistent_values(everything, rule),
        [consistent_values(all_but_one, rule)],
        consistent_values(followed, rule),
    )
    assert FOLLOWED in values and len(values) > 1

    supervisor = people["supervisor"]
    difference = ward_count(client, supervisor, KENNINGTON) - ward_count(
        client, supervisor, KENNINGTON, category=placed["others"]
    )
    assert difference == ward_count(client, supervisor, KENNINGTON, category="followed") == 6


# --- why pairs are always safe, and what remains -------------------------------------------


def pinned_pairs(rule: DisclosureRule, up_to: int) -> dict[str, set[tuple[int, int]]]:
    """The exact pairs (total, part) up to ``up_to`` whose difference a user can tell for sure.

    Only pairs whose difference is under ``k`` (a suppressed unit) are tried; they are sorted
    by whether both answers were shown or the part was suppressed.
    """
    exact = np.arange(0, up_to + 1)
    shown, hidden = protect(exact, rule)
    ranges = [consistent_values(s, rule) for s in shown]
    pinned: dict[str, set[tuple[int, int]]] = {"both shown": set(), "part suppressed": set()}
    counted = 0
    for total in exact:
        for part in exact[(exact <= total) & (total - exact < rule.k)]:
            if hidden[total]:
                continue  # a suppressed total less a part is bounded by 9 anyway
            values = possible_values(ranges[total], [ranges[part]], range(0, rule.k))
            assert total - part in values
            counted += 1
            if len(values) == 1:
                pinned["part suppressed" if hidden[part] else "both shown"].add((total, part))
    assert counted > 2000
    return pinned


def test_no_two_shown_answers_give_back_a_suppressed_count() -> None:
    """Every exact pair up to 300 of which both answers are shown: never a single value.

    Each shown answer stands for at least three exact values (10 stands for 10 to 12, 15 for
    13 to 17), so the difference of two spans at least five, and at least three of them lie
    in the suppressed range 0 to 9.
    """
    assert pinned_pairs(DisclosureRule(), 300)["both shown"] == set()


def test_the_remaining_risk_a_total_of_two_suppressed_parts() -> None:
    """Stated in the README: one case of a pair does pin, at the top of the suppressed range.

    A ward shown as 20 whose reports lie in two suppressed hexagons: 20 stands for at least
    18 and a suppressed unit for at most 9, so both must hold 9. It is the only such pair up
    to 300 under k = 10, rounding to 5.
    """
    assert pinned_pairs(DisclosureRule(), 300)["part suppressed"] == {(18, 9)}


def test_the_remaining_risk_several_answers_added_together() -> None:
    """Stated in the README: three or more answers together can, for unlucky counts, pin one.

    A ward of 33 reports (shown 35) whose reports lie in three hexagons of 12, 12 and 9
    (shown 10, 10 and suppressed): 33 to 37, less two of 10 to 12, leaves 9 to 17, and only
    9 is under 10.
    """
    rule = DisclosureRule()
    (total, a, b, x), _ = protect([33, 12, 12, 9], rule)
    assert (total, a, b) == (35, 10, 10) and np.isnan(x)
    values = possible_values(
        consistent_values(total, rule),
        [consistent_values(a, rule), consistent_values(b, rule)],
        consistent_values(x, rule),
    )
    assert values == [9]

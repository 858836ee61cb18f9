"""The evidence behind requests to partners: counts equal to GeoPandas', ranks, before/after."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import LineString, Point
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.disclosure import DisclosureRule
from service.queries import demo
from service.queries.evidence import (
    EvidenceWeights,
    before_and_after,
    comparison_shown,
    protect_evidence,
    request_evidence,
)

LAMBETH, SOUTHWARK = "E09000022", "E09000028"


def _request(db: Session, reference: str, where: Point | LineString, **extra: Any) -> uuid.UUID:
    """Store a request at a point, or along a stretch (placed by its middle), in its ward."""
    point = where if isinstance(where, Point) else where.interpolate(0.5, normalized=True)
    values = {
        "reference": reference,
        "point": point.wkt,
        "line": None if isinstance(where, Point) else where.wkt,
        "status": "proposed",
        "installed_on": None,
        **extra,
    }
    return uuid.UUID(
        str(
            db.execute(
                text(
                    "INSERT INTO partner_requests (reference, kind, title, geom, line, ward_code, "
                    "borough_code, partner_borough, partner_team, status, installed_on, "
                    "raised_by, raised_role) "
                    "SELECT :reference, 'lighting', 'A light', ST_GeomFromText(:point, 4326), "
                    "ST_GeomFromText(:line, 4326), w.code, w.borough_code, "
                    "coalesce(w.borough_code, 'E09000022'), 'Street lighting', :status, "
                    ":installed_on, 'tests', 'planner' FROM (SELECT 1) one "
                    "LEFT JOIN wards w ON ST_Contains(w.geom, ST_GeomFromText(:point, 4326)) "
                    "AND w.ward_set_id = (SELECT id FROM ward_sets WHERE is_active) "
                    "RETURNING id"
                ),
                values,
            ).scalar_one()
        )
    )


def _report(
    db: Session,
    place: Point,
    day: date,
    *,
    categories: tuple[str, ...] | list[str] = ("poor_lighting",),
    dark: bool = True,
) -> None:
    """A published report at ``place`` on ``day`` (an evening one)."""
    db.execute(
        text(
            "INSERT INTO reports (geom, occurred_on, time_band, categories, source, "
            "sun_elevation, is_dark, darkness_basis, status) VALUES "
            "(ST_SetSRID(ST_MakePoint(:x, :y), 4326), :day, 'evening', :cats, 'public', -10, "
            ":dark, 'time_band', 'published')"
        ),
        {"x": place.x, "y": place.y, "day": day, "cats": list(categories), "dark": dark},
    )


def _published(db: Session) -> gpd.GeoDataFrame:
    return gpd.read_postgis(
        text(
            "SELECT categories, is_dark, occurred_on, geom FROM reports WHERE status = 'published'"
        ),
        db.connection(),
        geom_col="geom",
        crs=4326,
    )


@pytest.fixture
def reported(db: Session) -> gpd.GeoDataFrame:
    """3,000 synthetic published reports in the pilot wards, denser where crimes are."""
    demo.seed_reports(db, 3000, seed=11)
    return _published(db)


def test_counts_equal_geopandas_within_the_radius_of_points_and_stretches(
    db: Session, reported: gpd.GeoDataFrame
) -> None:
    rng = np.random.default_rng(3)
    # Requests where reports are, and one stretch along a few of them.
    picks = reported.geometry.iloc[rng.choice(len(reported), 8, replace=False)]
    places: dict[str, Point | LineString] = {
        f"RQ-P{i}": Point(p.x + 0.0002, p.y - 0.0001) for i, p in enumerate(picks)
    }
    places["RQ-LINE"] = LineString([(-0.1140, 51.5030), (-0.1120, 51.5036)])
    places["RQ-NONE"] = Point(-0.3000, 51.5100)  # Ealing: no report is stored near here
    for reference, where in places.items():
        _request(db, reference, where)

    totals: dict[float, int] = {}
    for within in (50.0, 300.0):
        found = request_evidence(db, within=within).set_index("reference")
        points = reported.to_crs(27700)
        for reference, where in places.items():
            shape = gpd.GeoSeries([where], crs=4326).to_crs(27700).iloc[0]
            near = points[points.distance(shape) <= within]
            expected = {
                "total": len(near),
                "lighting": int(near["categories"].map(lambda c: "poor_lighting" in c).sum()),
                "dark": int(near["is_dark"].sum()),
                "months": near["occurred_on"].map(lambda d: (d.year, d.month)).nunique(),
            }
            got = {k: int(found.loc[reference, k]) for k in expected}
            assert got == expected, (reference, within)
        assert found.loc["RQ-NONE", "total"] == 0
        totals[within] = int(found["total"].sum())
    # The requests stand where reports are, and a wider radius finds more.
    assert 8 <= totals[50.0] < totals[300.0] and totals[300.0] > 50


def test_score_ranks_within_borough_and_ward_on_a_built_case(db: Session) -> None:
    """Three requests in one ward, one in another borough: ranks by the weighted score."""
    waterloo = Point(-0.1136, 51.5033)
    strong = _request(db, "RQ-STRONG", waterloo)
    _request(db, "RQ-WEAK", Point(-0.1160, 51.5050))
    _request(db, "RQ-EMPTY", Point(-0.1180, 51.5010))
    _request(db, "RQ-SOUTHWARK", Point(-0.0909, 51.5055))
    # Reports at known places: 4 about lighting in the dark by RQ-STRONG over 3 months, 3
    # unlit-free ones by RQ-WEAK in one month, 1 by the Southwark request.
    rows = [
        (waterloo, ["poor_lighting"], True, date(2026, 9, 5)),
        (waterloo, ["poor_lighting"], True, date(2026, 10, 5)),
        (waterloo, ["poor_lighting", "isolated"], True, date(2026, 11, 5)),
        (waterloo, ["poor_lighting"], True, date(2026, 11, 6)),
        (Point(-0.1160, 51.5050), ["loitering"], False, date(2026, 9, 1)),
        (Point(-0.1160, 51.5050), ["loitering"], False, date(2026, 9, 2)),
        (Point(-0.1160, 51.5050), ["isolated"], False, date(2026, 9, 3)),
        (Point(-0.0909, 51.5055), ["poor_lighting"], False, date(2026, 9, 3)),
    ]
    for place, categories, dark, day in rows:
        _report(db, place, day, categories=categories, dark=dark)
    found = request_evidence(db, weights=EvidenceWeights(total=1, lighting=2, dark=1, months=1))
    # Best first; equal scores in reference order.
    assert found["reference"].tolist() == ["RQ-STRONG", "RQ-SOUTHWARK", "RQ-WEAK", "RQ-EMPTY"]
    by = found.set_index("reference")
    # 4 + 2*4 + 4 + 3 months = 19; 3 + 0 + 0 + 1 = 4; 1 + 2 + 0 + 1 = 4; nothing: 0.
    assert by["score"].to_dict() == {
        "RQ-STRONG": 19.0, "RQ-WEAK": 4.0, "RQ-SOUTHWARK": 4.0, "RQ-EMPTY": 0.0
    }
    assert by.loc["RQ-STRONG", "rank_in_borough"] == 1 and by.loc["RQ-EMPTY", "rank_in_ward"] == 3
    assert by.loc["RQ-SOUTHWARK", "rank_in_borough"] == 1  # alone in Southwark
    assert by.loc["RQ-STRONG", "borough_code"] == LAMBETH
    # Weights are settings: counting only the months puts the requests level with it.
    months = request_evidence(db, weights=EvidenceWeights(total=0, lighting=0, dark=0, months=1))
    assert months.set_index("reference").loc["RQ-STRONG", "score"] == 3.0
    # Only Lambeth's requests, only one request.
    assert set(request_evidence(db, boroughs=[SOUTHWARK])["reference"]) == {"RQ-SOUTHWARK"}
    assert request_evidence(db, request_ids=[strong])["reference"].tolist() == ["RQ-STRONG"]
    with pytest.raises(ValueError, match="positive number of metres"):
        request_evidence(db, within=0)


def test_before_and_after_an_install_over_equal_periods_shown_only_when_both_reach_k(
    db: Session,
) -> None:
    place = Point(-0.1136, 51.5033)
    installed_on = date(2026, 6, 1)
    today = date(2026, 9, 1)  # 92 days after: 92 days before are compared
    lamp = _request(db, "RQ-LAMP", place, status="installed", installed_on=installed_on)
    before_days = [installed_on - timedelta(days=d) for d in range(1, 13)]  # 12 before
    after_days = [installed_on + timedelta(days=d) for d in (1, 2, 3, 40, 91, 92)]  # 6 after
    outside = [installed_on - timedelta(days=93), installed_on, installed_on + timedelta(days=93)]
    for day in before_days + after_days + outside:
        _report(db, place, day)
    exact = before_and_after(db, lamp, today=today)
    assert exact == {"installed_on": installed_on, "days_each_side": 92, "before": 12, "after": 6}
    rule = DisclosureRule(k=10, base=5)
    assert comparison_shown(exact, rule) == {**exact, "before": None, "after": None,
                                             "suppressed": True}
    assert comparison_shown(exact, None) == exact  # supervisors: exact
    both = {**exact, "before": 12, "after": 11}
    assert comparison_shown(both, rule) == {**both, "before": 10, "after": 10, "suppressed": False}
    assert before_and_after(db, _request(db, "RQ-OPEN", place), today=today) is None


def test_counts_below_k_are_shown_as_fewer_than_k_and_the_rest_rounded() -> None:
    frame = request_like(total=[3, 12, 0], lighting=[0, 10, 0], dark=[9, 13, 0], months=[1, 2, 0])
    shown = protect_evidence(frame, DisclosureRule(k=10, base=5))
    assert shown["total"].tolist() == ["fewer than 10", "10", "fewer than 10"]
    assert shown["dark"].tolist() == ["fewer than 10", "15", "fewer than 10"]
    assert shown["score"].tolist() == frame["score"].tolist()  # the order stays
    assert protect_evidence(frame, None)["total"].tolist() == [3, 12, 0]


def request_like(**counts: list[int]) -> Any:
    import pandas as pd

    frame = pd.DataFrame(counts)
    frame["score"] = frame.sum(axis=1).astype(float)
    return frame

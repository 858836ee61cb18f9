"""Synthetic demo reports, flagged ``source = 'synthetic'`` so they never pass for real ones.

Real unsafe-place data is not published anywhere, so the demo makes some: denser around the
real police.uk points (where people are and things happen), spread over the wards too, and more
often after dark, as StreetSafe's pilot saw.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.grid import to_wgs84
from service.queries.reports import StoreResult, store_reports
from service.queries.wards import require_active_ward_set
from service.taxonomy import CATEGORIES

# Evening and night weigh most: most reports in StreetSafe's pilot were about the dark.
BAND_WEIGHTS = {"early_morning": 0.15, "daytime": 0.15, "evening": 0.4, "night": 0.3}
# Lighting and isolation were the commonest reasons given; the rest share what is left.
CATEGORY_WEIGHTS = np.array([0.22, 0.16, 0.1, 0.1, 0.08, 0.06, 0.06, 0.07, 0.05, 0.05, 0.03, 0.02])
NEAR_CRIMES_SHARE = 0.6
JITTER_M = 40.0  # spread (standard deviation, metres) around a crime point


def synthetic_rows(session: Session, count: int, seed: int) -> pd.DataFrame:
    """Make ``count`` synthetic report rows (the ``geo.reports`` frame) in the active wards."""
    rng = np.random.default_rng(seed)
    active = require_active_ward_set(session)
    # The few hundred real crime points in the wards come to Python; each synthetic report near
    # them picks one (with replacement) and moves a little, in metres, on the British grid.
    crimes = np.array(
        session.execute(
            text(
                "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_Transform(geom, 27700) AS p "
                "FROM crimes WHERE ward_code IS NOT NULL) c"
            )
        ).all(),
        dtype=float,
    ).reshape(-1, 2)
    near = int(count * NEAR_CRIMES_SHARE) if len(crimes) else 0
    picked = crimes[rng.integers(0, max(len(crimes), 1), near)] if near else crimes[:0]
    x = picked[:, 0] + rng.normal(0, JITTER_M, near)
    y = picked[:, 1] + rng.normal(0, JITTER_M, near)
    near_lon, near_lat = to_wgs84().transform(x, y)
    spread = session.execute(
        text(
            # Spread over every ward, in proportion to its area.
            "SELECT ST_X(d.geom), ST_Y(d.geom) FROM (SELECT (ST_Dump(ST_GeneratePoints("
            " ST_Union(geom), :spread, :seed))).geom FROM wards WHERE ward_set_id = :set_id) d"
        ),
        {"spread": count - near, "seed": seed, "set_id": active.id},
    ).all()
    points = [
        *zip(np.atleast_1d(near_lon), np.atleast_1d(near_lat), strict=True),
        *((p[0], p[1]) for p in spread),
    ]
    n = len(points)
    lon = np.array([p[0] for p in points])
    lat = np.array([p[1] for p in points])
    today = date.today()
    days_ago = rng.integers(1, 365, n)
    bands = rng.choice(list(BAND_WEIGHTS), n, p=list(BAND_WEIGHTS.values()))
    first = rng.choice(len(CATEGORIES), n, p=CATEGORY_WEIGHTS / CATEGORY_WEIGHTS.sum())
    second = rng.choice(len(CATEGORIES), n)
    two = rng.random(n) < 0.3
    categories = [
        [CATEGORIES[a].slug] + ([CATEGORIES[b].slug] if both and b != a else [])
        for a, b, both in zip(first, second, two, strict=True)
    ]
    return pd.DataFrame(
        {
            "line": np.arange(1, n + 1),
            "lon": lon,
            "lat": lat,
            "categories": categories,
            "occurred_at": pd.Series([pd.NaT] * n, dtype="datetime64[ns, UTC]"),
            "occurred_on": [today - timedelta(days=int(d)) for d in days_ago],
            "time_band": bands,
            "text": [None] * n,
        }
    )


def seed_reports(session: Session, count: int, seed: int) -> StoreResult:
    """Store ``count`` synthetic, published reports in the active wards.

    A point moved off a crime near the river can land outside every ward; such points are
    dropped and made again (from the next seed) until the count is met.
    """
    stored = 0
    ids: list[uuid.UUID] = []
    for attempt in range(10):
        rows = synthetic_rows(session, count - stored, seed + attempt)
        result = store_reports(
            session, rows, source="synthetic", status="published", skip_outside=True
        )
        stored += result.stored
        ids.extend(result.ids)
        if stored >= count:
            break
    return StoreResult(ids=tuple(ids), outside=(), stored=stored)


@dataclass(frozen=True)
class Purged:
    """What ``demo purge`` removed."""

    reports: int
    walks: int
    buddies: int
    officers: int


def purge_synthetic(session: Session) -> Purged:
    """Delete every synthetic row: reports, and officers, buddies and walks with all they hold.

    A synthetic walk's concerns are reports with the source ``walk_concern`` (so that they
    count as concerns on the maps); they go with their walk.
    """

    def delete(statement: str) -> int:
        return int(session.execute(text(statement)).rowcount)  # type: ignore[attr-defined]

    reports = delete(
        "DELETE FROM reports WHERE source = 'synthetic' "
        "OR walk_id IN (SELECT id FROM walks WHERE synthetic)"
    )
    # Safeguarding answers, surveys and survey links go with their walk (ON DELETE CASCADE).
    walks = delete("DELETE FROM walks WHERE synthetic")
    buddies = delete("DELETE FROM buddies WHERE synthetic")
    officers = delete(
        "DELETE FROM officers o WHERE synthetic "
        "AND NOT EXISTS (SELECT FROM walks w WHERE w.officer_id = o.id)"
    )
    return Purged(reports=reports, walks=walks, buddies=buddies, officers=officers)


def has_reports(session: Session) -> bool:
    """Whether any report is stored (``demo seed --if-empty`` seeds only an empty database)."""
    return bool(session.execute(text("SELECT EXISTS (SELECT FROM reports)")).scalar_one())


def has_demo_walks(session: Session) -> bool:
    """Whether the demo's officers and walks are stored (their shoulder numbers are fixed)."""
    return bool(
        session.execute(text("SELECT EXISTS (SELECT FROM officers WHERE synthetic)")).scalar_one()
    )


def has_walks(session: Session) -> bool:
    """Whether any walk is stored (``demo seed --if-empty`` then adds no demo walks)."""
    return bool(session.execute(text("SELECT EXISTS (SELECT FROM walks)")).scalar_one())

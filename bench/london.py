"""One synthetic London for ``make bench``: 657 wards, 1M reports, 10,000 walks and requests.

Every figure in ``bench/RESULTS.md`` is measured on this one database, built from a seed, so a
second run on the same machine measures the same rows. What it holds:

* the 33 boroughs and the 657 London wards of 2018 (the bundled files), active;
* the bundled police.uk crimes;
* ``reports`` published reports over every ward: two thirds uniform over London's land (so a
  ward holds reports in proportion to its area) and a third gathered round 2,000 random places
  (60 m spread), so that there are hot spots to find; a year of dates, mostly after dark;
* an officer and two buddies for each ward and ``walks`` walks of 2-4 km with their routes
  (and the trimmed routes partners see), spread over the wards, written in one statement rather
  than through ``create_walk``: the bench measures reading them, not making them;
* ``requests`` requests to partners at random places in the wards, one in ten a street stretch
  (as ``bench.request_ranking`` makes them).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, timedelta

import geopandas as gpd
import numpy as np
import pandas as pd
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from bench.load import POLICE_UK
from bench.request_ranking import _add_requests
from bench.ward_lookup import LONDON_BNG, _say
from boundaries.bundled import BOROUGHS_ATTRIBUTION, LONDON_BOROUGHS_PATH, LONDON_WARDS_2018
from boundaries.reading import read_boroughs, read_wards
from geo.grid import to_wgs84
from service.cluster import ensure_postgis
from service.db import migrate
from service.queries import imports, wards
from service.queries.demo import BAND_WEIGHTS, CATEGORY_WEIGHTS
from service.queries.reports import store_reports
from service.taxonomy import CATEGORIES

HOT_PLACES = 2_000
HOT_SHARE = 1 / 3
HOT_SPREAD_M = 60.0
WALK_STEPS = 10
STEP_M = (200.0, 400.0)  # each of a route's ten legs; 2-4 km in all


@dataclass(frozen=True)
class London:
    """What was built, and how long each part took (seconds)."""

    wards: int
    reports: int
    walks: int
    requests: int
    seconds: dict[str, float]


def report_rows(wards: gpd.GeoDataFrame, count: int, seed: int) -> pd.DataFrame:
    """``count`` report rows (the frame ``store_reports`` takes) inside ``wards``."""
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = LONDON_BNG
    hot = int(count * HOT_SHARE)
    centres = np.column_stack([rng.uniform(x0, x1, HOT_PLACES), rng.uniform(y0, y1, HOT_PLACES)])
    kept_x: list[np.ndarray] = []
    kept_y: list[np.ndarray] = []
    have = 0
    # London fills about half its box; draw, keep what falls in a ward, until there are enough.
    while have < count:
        n = 2 * (count - have) + 1000
        uniform = rng.random(n) >= HOT_SHARE if have else np.arange(n) >= hot * 2
        picked = centres[rng.integers(0, HOT_PLACES, n)]
        x = np.where(uniform, rng.uniform(x0, x1, n), picked[:, 0] + rng.normal(0, HOT_SPREAD_M, n))
        y = np.where(uniform, rng.uniform(y0, y1, n), picked[:, 1] + rng.normal(0, HOT_SPREAD_M, n))
        lon, lat = to_wgs84().transform(x, y)
        lon, lat = np.round(lon, 6), np.round(lat, 6)
        points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs=4326)
        inside = np.zeros(n, dtype=bool)
        inside[gpd.sjoin(points, wards[["geometry"]], predicate="within").index.unique()] = True
        kept_x.append(lon[inside])
        kept_y.append(lat[inside])
        have += int(inside.sum())
    lon = np.concatenate(kept_x)[:count]
    lat = np.concatenate(kept_y)[:count]
    today = date(2026, 12, 1)
    days_ago = rng.integers(1, 365, count)
    bands = rng.choice(list(BAND_WEIGHTS), count, p=list(BAND_WEIGHTS.values()))
    first = rng.choice(len(CATEGORIES), count, p=CATEGORY_WEIGHTS / CATEGORY_WEIGHTS.sum())
    second = rng.choice(len(CATEGORIES), count)
    two = rng.random(count) < 0.3
    return pd.DataFrame(
        {
            "line": np.arange(1, count + 1),
            "lon": lon,
            "lat": lat,
            "categories": [
                [CATEGORIES[a].slug] + ([CATEGORIES[b].slug] if both and b != a else [])
                for a, b, both in zip(first, second, two, strict=True)
            ],
            "occurred_at": pd.Series([pd.NaT] * count, dtype="datetime64[ns, UTC]"),
            "occurred_on": [today - timedelta(days=int(d)) for d in days_ago],
            "time_band": bands,
            "text": [None] * count,
        }
    )


_PEOPLE = """
INSERT INTO officers (name, shoulder_number, ward_codes, borough_codes, command_unit, synthetic)
SELECT 'Bench officer ' || code, 'BENCH-' || code, ARRAY[code], ARRAY[borough_code], 'AS', true
  FROM wards WHERE ward_set_id = :set_id;
INSERT INTO buddies (code, home_ward, borough_code, synthetic)
SELECT 'BENCH-' || code || '-' || n, code, borough_code, true
  FROM wards, generate_series(1, 2) n WHERE ward_set_id = :set_id;
"""

# Each walk starts at a random place in a ward (wards drawn in proportion to their area) and
# takes ten legs of 200-400 m on the British grid, turning up to 60 degrees each time.
_WALKS = """
WITH starts AS (
  SELECT row_number() OVER () AS n, d.geom
    FROM (SELECT (ST_Dump(ST_GeneratePoints(ST_Union(geom), :count, :seed))).geom
            FROM wards WHERE ward_set_id = :set_id) d
), placed AS (
  SELECT DISTINCT ON (s.n) s.n, s.geom, w.code, w.borough_code
    FROM starts s JOIN wards w ON w.ward_set_id = :set_id AND ST_Intersects(w.geom, s.geom)
   ORDER BY s.n, w.code
), legs AS (
  SELECT p.n, k, ST_Transform(p.geom, 27700) AS origin,
         :step_min + (:step_max - :step_min) * random() AS leg,
         p.heading + sum(radians(120 * random() - 60)) OVER (PARTITION BY p.n ORDER BY k)
           AS heading
    FROM (SELECT *, radians(360 * random()) AS heading FROM placed) p,
         generate_series(1, :steps) k
), vertices AS (
  SELECT n, k, origin,
         ST_X(origin) + sum(leg * sin(heading)) OVER (PARTITION BY n ORDER BY k) AS x,
         ST_Y(origin) + sum(leg * cos(heading)) OVER (PARTITION BY n ORDER BY k) AS y
    FROM legs
), routes AS (
  SELECT n, ST_Transform(ST_MakeLine(origin, ST_MakeLine(array_agg(
           ST_SetSRID(ST_MakePoint(x, y), 27700) ORDER BY k))), 4326) AS route
    FROM vertices GROUP BY n, origin
)
INSERT INTO walks (officer_id, buddy_id, ward_code, borough_code, kind, planned_start,
                   planned_end, actual_start, actual_end, route, route_trimmed, route_wards,
                   length_m, consent_keep_route, synthetic)
SELECT o.id, b.id, p.code, p.borough_code,
       (ARRAY['commute', 'park', 'transport_hub', 'other'])[1 + p.n % 4],
       t.start, t.start + interval '60 minutes', t.start, t.start + interval '55 minutes',
       r.route, ST_LineSubstring(r.route, 0.1, 0.9),
       ARRAY(SELECT w.code FROM wards w WHERE w.ward_set_id = :set_id
                AND ST_Intersects(w.geom, r.route) ORDER BY w.code),
       ST_Length(ST_Transform(r.route, 27700)), true, true
  FROM placed p
  JOIN routes r USING (n)
  JOIN officers o ON o.shoulder_number = 'BENCH-' || p.code
  JOIN buddies b ON b.code = 'BENCH-' || p.code || '-' || (1 + p.n % 2)
 CROSS JOIN LATERAL (SELECT timestamptz '2026-06-01 18:00+01' + (p.n % 180) * interval '1 day'
                     AS start) t
"""


def build(url: str, *, reports: int, walks: int, requests: int, seed: int) -> London:
    """Build the synthetic London in the (empty) database at ``url``."""
    seconds: dict[str, float] = {}
    engine = create_engine(url)
    ensure_postgis(url)
    migrate(engine)
    started = time.perf_counter()
    ward_frame = read_wards(LONDON_WARDS_2018.path).wards
    with Session(engine) as session, session.begin():
        wards.load_boroughs(
            session, read_boroughs(LONDON_BOROUGHS_PATH), attribution=BOROUGHS_ATTRIBUTION
        )
        set_id = wards.load_ward_set(
            session,
            ward_frame,
            name=LONDON_WARDS_2018.name,
            source=str(LONDON_WARDS_2018.path),
            attribution=LONDON_WARDS_2018.attribution,
        )
        wards.activate_ward_set(session, LONDON_WARDS_2018.name)
        for path in sorted(POLICE_UK.glob("*/*.csv")) + sorted(POLICE_UK.glob("*/*.json")):
            imports.import_crimes(session, path, imported_by="bench")
    seconds["wards and crimes"] = time.perf_counter() - started

    _say(f"making {reports:,} reports over the {len(ward_frame)} wards …")
    rows = report_rows(ward_frame, reports, seed)
    started = time.perf_counter()
    with Session(engine) as session, session.begin():
        stored = store_reports(session, rows, source="synthetic", status="published").stored
    seconds["reports (store_reports)"] = time.perf_counter() - started

    _say(f"making {walks:,} walks with routes …")
    started = time.perf_counter()
    with Session(engine) as session, session.begin():
        session.execute(text("SELECT setseed(:s)"), {"s": (seed % 997) / 997})
        for statement in _PEOPLE.split(";"):
            if statement.strip():
                session.execute(text(statement), {"set_id": set_id})
        session.execute(
            text(_WALKS),
            {
                "count": walks,
                "seed": seed,
                "set_id": set_id,
                "steps": WALK_STEPS,
                "step_min": STEP_M[0],
                "step_max": STEP_M[1],
            },
        )
        walked = int(session.execute(text("SELECT count(*) FROM walks")).scalar_one())
    seconds["walks"] = time.perf_counter() - started
    engine.dispose()

    _say(f"making {requests:,} requests to partners …")
    started = time.perf_counter()
    asked = _add_requests(url, requests, seed)
    seconds["requests"] = time.perf_counter() - started

    started = time.perf_counter()
    engine = create_engine(url)
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
    engine.dispose()
    seconds["VACUUM ANALYZE"] = time.perf_counter() - started
    return London(
        wards=len(ward_frame), reports=stored, walks=walked, requests=asked, seconds=seconds
    )

"""What was reported along a route, counted per 100 m stretch, all in PostGIS.

Published reports, walk concerns and police.uk crimes within N metres of the route. The GiST
index on the points is used through a bounding-box test in their own CRS; the exact
distance is then measured in metres on the British National Grid.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
from sqlalchemy import text
from sqlalchemy.orm import Session

SEGMENT_M = 100.0
WORST = 3

_EXPOSURE_SQL = """
WITH route AS (
    SELECT ST_Transform(ST_GeomFromText(:wkt, 4326), 27700) AS g
), shape AS (
    SELECT g, ST_Length(g) AS len,
           ST_Transform(ST_Expand(g, :within), 4326) AS box FROM route
), near AS (
    SELECT CASE WHEN r.source = 'walk_concern' THEN 'concerns' ELSE 'reports' END AS kind,
           r.is_dark, ST_Transform(r.geom, 27700) AS p
      FROM reports r, shape
     WHERE r.status = 'published' AND r.geom && shape.box
       AND ST_DWithin(ST_Transform(r.geom, 27700), shape.g, :within)
    UNION ALL
    SELECT 'crimes', NULL, ST_Transform(c.geom, 27700)
      FROM crimes c, shape
     WHERE c.geom && shape.box AND ST_DWithin(ST_Transform(c.geom, 27700), shape.g, :within)
)
SELECT least(floor(ST_LineLocatePoint(shape.g, near.p) * shape.len / :step),
             greatest(ceil(shape.len / :step) - 1, 0))::int AS segment,
       near.kind, near.is_dark, shape.len
  FROM near, shape
"""


def route_exposure(session: Session, wkt: str, *, within: float) -> dict[str, Any]:
    """Counts of reports, walk concerns and crimes within ``within`` metres of a route.

    Returns totals, the share of the reports and concerns that were made about the dark, a
    count per 100 m stretch (``from_m``/``to_m`` along the route) and the worst stretches.
    """
    rows = session.execute(
        text(_EXPOSURE_SQL), {"wkt": wkt, "within": within, "step": SEGMENT_M}
    ).all()
    length = float(
        session.execute(
            text("SELECT ST_Length(ST_Transform(ST_GeomFromText(:wkt, 4326), 27700))"),
            {"wkt": wkt},
        ).scalar_one()
    )
    count = max(int(-(-length // SEGMENT_M)), 1)
    segments = [
        {
            "segment": i,
            "from_m": round(i * SEGMENT_M, 1),
            "to_m": round(min((i + 1) * SEGMENT_M, length), 1),
            "reports": 0,
            "concerns": 0,
            "crimes": 0,
            "total": 0,
        }
        for i in range(count)
    ]
    dark = seen = 0
    for row in rows:
        segment = segments[row.segment]
        segment[row.kind] += 1
        segment["total"] += 1
        if row.kind != "crimes":
            seen += 1
            dark += bool(row.is_dark)
    totals = {k: sum(s[k] for s in segments) for k in ("reports", "concerns", "crimes")}
    worst = sorted((s for s in segments if s["total"]), key=lambda s: (-s["total"], s["segment"]))
    return {
        "within_m": within,
        "length_m": round(length, 1),
        "totals": totals,
        "share_in_darkness": round(dark / seen, 3) if seen else None,
        "segments": segments,
        "worst_segments": worst[:WORST],
    }


def nearby_points(
    session: Session, wkt: str, *, within: float
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The concerns, reports and crimes near a route, and the wards it crosses, for its map."""
    params = {"wkt": wkt, "within": within}
    near = (
        "geom && ST_Transform(ST_Expand(ST_Transform(ST_GeomFromText(:wkt, 4326), 27700), "
        ":within), 4326) AND ST_DWithin(ST_Transform(geom, 27700), "
        "ST_Transform(ST_GeomFromText(:wkt, 4326), 27700), :within)"
    )

    def frame(sql: str) -> gpd.GeoDataFrame:
        return gpd.read_postgis(
            text(sql).bindparams(**params), session.connection(), geom_col="geometry", crs=4326
        )

    concerns = frame(
        "SELECT categories, text AS note, geom AS geometry FROM reports "
        f"WHERE status = 'published' AND source = 'walk_concern' AND {near}"
    )
    reports = frame(
        "SELECT categories, is_dark, geom AS geometry FROM reports "
        f"WHERE status = 'published' AND source <> 'walk_concern' AND {near}"
    )
    crimes = frame(f"SELECT crime_type, month, geom AS geometry FROM crimes WHERE {near}")
    wards = gpd.read_postgis(
        text(
            "SELECT w.code, w.name, w.geom AS geometry FROM wards w JOIN ward_sets s "
            "ON s.id = w.ward_set_id AND s.is_active "
            "WHERE ST_Intersects(w.geom, ST_GeomFromText(:wkt, 4326))"
        ).bindparams(wkt=wkt),
        session.connection(),
        geom_col="geometry",
        crs=4326,
    )
    return concerns, reports, crimes, wards

"""Gaps: hot spots where people reported poor lighting in the dark and nothing answers it yet.

A gap is a hot-spot hexagon (the caller's Gi* result) lying wholly inside a street-light
inventory's coverage, holding published reports about lighting made in the dark of which at
least one has no street light, lamp or lit way (OpenStreetMap ``lit`` tag or
``highway=street_lamp``), and no open lighting request, within ``within`` metres. Outside
every inventory's coverage nothing is claimed: "no light here" would only mean "no list here".
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
from sqlalchemy import text
from sqlalchemy.orm import Session

from service.queries.evidence import LIGHTING_CATEGORIES

#: OpenStreetMap ``lit`` values that mean a way is lit (the wiki's list, "no" and
#: "disused" apart).
LIT_VALUES: tuple[str, ...] = ("yes", "24/7", "automatic", "limited", "interval", "sunset-sunrise")
#: Metres per degree, at least, in Great Britain (as in ``service.queries.evidence``).
_METRES_PER_DEGREE_AT_LEAST = 50_000.0

_GAPS_SQL = """
WITH hot AS (
    SELECT c.i, c.j, ST_GeomFromText(c.wkt, 4326) AS g
      FROM unnest(CAST(:i AS bigint[]), CAST(:j AS bigint[]), CAST(:wkt AS text[])) AS c(i, j, wkt)
), covered AS (
    SELECT h.* FROM hot h
     WHERE EXISTS (SELECT FROM asset_inventories v
                    WHERE v.kind = 'light' AND ST_CoveredBy(h.g, v.coverage))
), placed AS (
    -- A report on the edge between two cells is counted in one of them.
    SELECT DISTINCT ON (r.id) c.i, c.j, r.id, r.geom, ST_Transform(r.geom, 27700) AS p
      FROM covered c JOIN reports r ON ST_Intersects(r.geom, c.g)
     WHERE r.status = 'published' AND r.is_dark
       AND r.categories && CAST(:lighting AS text[])
     ORDER BY r.id, c.i, c.j
), answered AS (
    SELECT d.id,
           EXISTS (SELECT FROM assets a
                    WHERE a.kind = 'light' AND a.geom && ST_Expand(d.geom, :deg)
                      AND ST_DWithin(ST_Transform(a.geom, 27700), d.p, :within)) AS light,
           EXISTS (SELECT FROM osm_features f
                    WHERE (f.kind = 'lamp' OR f.lit = ANY(CAST(:lit AS text[])))
                      AND f.geom && ST_Expand(d.geom, :deg)
                      AND ST_DWithin(ST_Transform(f.geom, 27700), d.p, :within)) AS lit,
           EXISTS (SELECT FROM partner_requests q
                    WHERE q.kind = 'lighting' AND q.status <> 'declined'
                      AND coalesce(q.line, q.geom) && ST_Expand(d.geom, :deg)
                      AND ST_DWithin(ST_Transform(coalesce(q.line, q.geom), 27700), d.p,
                                     :within)) AS asked
      FROM placed d
)
SELECT d.i, d.j, count(*) AS dark_lighting,
       count(*) FILTER (WHERE NOT (a.light OR a.lit OR a.asked)) AS unanswered,
       count(*) FILTER (WHERE a.light) AS near_light,
       count(*) FILTER (WHERE a.lit) AS near_lit_way,
       count(*) FILTER (WHERE a.asked) AS near_request
  FROM placed d JOIN answered a ON a.id = d.id
 GROUP BY d.i, d.j
HAVING count(*) FILTER (WHERE NOT (a.light OR a.lit OR a.asked)) > 0
"""


def lighting_gaps(
    session: Session, hot: gpd.GeoDataFrame, *, within: float = 50.0
) -> gpd.GeoDataFrame:
    """The gaps among ``hot`` cells, with the exact evidence behind each.

    Parameters
    ----------
    session : Session
        The caller's transaction.
    hot : GeoDataFrame
        The hot-spot cells to look in: ``i``, ``j`` and their polygons (EPSG:4326).
    within : float
        Metres within which a light, lamp, lit way or open lighting request answers a report.

    Returns
    -------
    GeoDataFrame
        One row per gap: ``i``, ``j``, ``dark_lighting`` (reports about lighting made in the
        dark in the cell), ``unanswered`` (those with nothing within ``within``),
        ``near_light``, ``near_lit_way``, ``near_request`` and the cell's polygon; most
        unanswered first. Counts are exact: the caller protects them.

    """
    if not within > 0:
        raise ValueError(f"within must be a positive number of metres, not {within}")
    columns = ["i", "j", "dark_lighting", "unanswered", "near_light", "near_lit_way",
               "near_request"]
    if hot.empty:
        return gpd.GeoDataFrame(columns=[*columns, "geometry"], geometry="geometry", crs=4326)
    rows = session.execute(
        text(_GAPS_SQL),
        {
            "i": [int(v) for v in hot["i"]],
            "j": [int(v) for v in hot["j"]],
            "wkt": [g.wkt for g in hot.geometry],
            "lighting": list(LIGHTING_CATEGORIES),
            "lit": list(LIT_VALUES),
            "within": within,
            "deg": within / _METRES_PER_DEGREE_AT_LEAST,
        },
    ).all()
    found = pd.DataFrame([tuple(r) for r in rows], columns=columns).astype("int64")
    shapes = hot[["i", "j", "geometry"]].astype({"i": "int64", "j": "int64"})
    gaps = shapes.merge(found, on=["i", "j"], how="inner")
    gaps = gaps.sort_values(["unanswered", "dark_lighting", "i", "j"],
                            ascending=[False, False, True, True])
    return gpd.GeoDataFrame(gaps[[*columns, "geometry"]].reset_index(drop=True),
                            geometry="geometry", crs=4326)

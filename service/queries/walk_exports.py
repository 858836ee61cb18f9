"""Walks as files for evaluation in a spreadsheet or a GIS.

An export leaves the service, so it carries trimmed routes (both ends cut away, see
``geo.routes.trim_route_ends``) and, with them, only the wards the trimmed route crosses: the
full route's wards would name where it started and ended. Supervisors may ask for full routes.
No buddy, contact, meeting point or survey text is ever in an export.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import pandas as pd
from sqlalchemy import text
from sqlalchemy.orm import Session

from service.policy import RouteView, Scope
from service.queries.wards import require_active_ward_set

EXPORT_COLUMNS = (
    "id",
    "ward_code",
    "borough_code",
    "kind",
    "planned_start",
    "planned_end",
    "actual_start",
    "actual_end",
    "minutes_walked",
    "shorter_than_scheme",
    "length_m",
    "dark_at_start",
    "dark_share",
    "route_wards",
    "concerns",
    "baseline_safety",
    "felt_safer",
    "police_confidence",
    "would_recommend",
    "walk_useful",
    "synthetic",
)

_SELECT = """
SELECT w.id::text AS id, w.ward_code, w.borough_code, w.kind, w.planned_start, w.planned_end,
       w.actual_start, w.actual_end,
       round(extract(epoch FROM w.actual_end - w.actual_start) / 60)::int AS minutes_walked,
       (w.actual_end - w.actual_start < interval '30 minutes') AS shorter_than_scheme,
       round(w.length_m::numeric, 1)::float8 AS length_m, w.dark_at_start,
       round(w.dark_share::numeric, 3)::float8 AS dark_share,
       coalesce((SELECT string_agg(DISTINCT wd.code, ';' ORDER BY wd.code)
                   FROM ward_parts p JOIN wards wd ON wd.id = p.ward_id
                  WHERE p.ward_set_id = :set_id AND ST_Intersects(p.geom, {route})), '')
         AS route_wards,
       (SELECT count(*) FROM reports r WHERE r.walk_id = w.id)::int AS concerns,
       w.baseline_safety, b.felt_safer, b.police_confidence, b.would_recommend,
       o.walk_useful, w.synthetic, {route} AS geom
  FROM walks w
  LEFT JOIN buddy_surveys b ON b.walk_id = w.id
  LEFT JOIN officer_surveys o ON o.walk_id = w.id
 WHERE {scope}
 ORDER BY w.planned_start, w.id
"""


def export_frame(session: Session, scope: Scope, *, view: RouteView) -> gpd.GeoDataFrame:
    """The walks of a scope with the given routes (``policy.export_view`` chose), EPSG:4326.

    A walk whose trimmed route is too short to show has no geometry.
    """
    if scope.ward_codes is not None:
        where, params = "w.ward_code = ANY(:scope)", {"scope": list(scope.ward_codes)}
    else:
        where, params = "w.borough_code = ANY(:scope)", {"scope": list(scope.borough_codes)}
    route = "w.route" if view == "full" else "w.route_trimmed"
    query = text(_SELECT.format(route=route, scope=where)).bindparams(
        set_id=require_active_ward_set(session).id, **params
    )
    frame = gpd.read_postgis(query, session.connection(), geom_col="geom", crs=4326)
    for column in ("planned_start", "planned_end", "actual_start", "actual_end"):
        # ISO 8601 text: the one form GeoJSON, GeoPackage and spreadsheets all read alike.
        frame[column] = [None if pd.isna(v) else v.isoformat() for v in frame[column]]
    for column in ("minutes_walked", "concerns", "baseline_safety", "felt_safer"):
        frame[column] = frame[column].astype("Int64")
    for column in ("police_confidence", "walk_useful"):
        frame[column] = frame[column].astype("Int64")
    return frame


def export_csv(frame: gpd.GeoDataFrame) -> bytes:
    """The walks as CSV, the route as WKT in its last column (as QGIS reads a CSV layer)."""
    table: Any = pd.DataFrame(frame.drop(columns="geom"))
    table["route_wkt"] = [None if g is None else g.wkt for g in frame.geometry]
    return bytes(table.to_csv(index=False).encode())

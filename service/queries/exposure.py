"""What was reported along a route, counted per 100 m stretch, all in PostGIS.

Published reports, walk concerns and police.uk crimes within N metres of the route. The points'
GiST indexes are on their own CRS (4326), so the search area goes to them in small pieces: the
route's buffer, a little wider than N metres, drawn on the British National Grid, cut up with
``ST_Subdivide`` and turned back to 4326. Each piece is one index probe whose box hugs the route,
where the route's own box would take in five to twenty times as many points for a diagonal
route. Only the points found are moved to the grid, once each, for the exact distance in metres
and their place along the route; PostGIS counts them per stretch and sends back one row per
stretch and kind.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
from sqlalchemy import text
from sqlalchemy.orm import Session

SEGMENT_M = 100.0
WORST = 3
#: Markers of each kind a route map draws at most (the most recent): each is a few hundred
#: bytes of script, and a page with thousands is slow to open on a phone and unreadable.
MARKERS_MAX = 500
#: Reports and crimes a route map draws at most (the most recent): it draws them in groups
#: (maps.clusters), a few dozen bytes each, so a few thousand still open quickly on a phone.
CLUSTERED_MAX = 2000
# ST_Subdivide's limit on a piece's vertices: fewer means tighter boxes (fewer points fetched
# and tested) but more cutting and more probes; 16, with the buffer's edges cut every N metres,
# was the fastest of those tried (bench/route_exposure.py).
PIECE_VERTICES = 16

# The buffer is a polygon inscribed in the true round ends and bends (at most 1 - cos 5.625° =
# 0.5 % inside them with the default eight segments a quarter circle), and its edges become
# straight in 4326 only approximately: 1 % + 1 m wider covers both. It only picks candidates;
# ST_DWithin on the grid decides, so the answer is exactly that of a plain ST_DWithin.
# The planner's estimates for PostGIS functions are huge (millions), so PostgreSQL's JIT would
# compile this query for longer (about 1 s) than it takes to run (tens of ms): it is turned off
# for the transaction first.
# The buffer is drawn round the route simplified by up to a metre, and a metre wider: every
# point of the route is within that metre of the simplified line, so nothing within reach is
# missed, while a recording's thousands of jittery points (19,000 took 42 s to buffer, a walk
# back and forth worst of all) become a few hundred.
_PICK_SIMPLIFY_M = 1.0
_ROUTE_AND_PIECES = f"""
WITH route AS (
    SELECT g, ST_Length(g) AS len
      FROM (SELECT ST_Transform(ST_GeomFromText(:wkt, 4326), 27700) AS g) given
), pieces AS (
    SELECT ST_Subdivide(ST_Transform(ST_Segmentize(
               ST_Buffer(ST_Simplify(g, {_PICK_SIMPLIFY_M}),
                         :within * 1.01 + 1 + {_PICK_SIMPLIFY_M}),
               greatest(:within, 25)), 4326),
               {PIECE_VERTICES}) AS piece
      FROM route
)"""
_EXPOSURE_SQL = f"""{_ROUTE_AND_PIECES}, near AS MATERIALIZED (
    -- A point on the edge between two pieces is found twice: GROUP BY the key keeps it once.
    SELECT CASE WHEN r.source = 'walk_concern' THEN 'concerns' ELSE 'reports' END AS kind,
           r.is_dark, ST_Transform(r.geom, 27700) AS p
      FROM reports r JOIN pieces ON ST_Intersects(r.geom, pieces.piece)
     WHERE r.status = 'published'
       AND (CAST(:besides AS uuid) IS NULL OR r.walk_id IS DISTINCT FROM CAST(:besides AS uuid))
     GROUP BY r.id
    UNION ALL
    SELECT 'crimes', NULL, ST_Transform(c.geom, 27700)
      FROM crimes c JOIN pieces ON ST_Intersects(c.geom, pieces.piece)
     GROUP BY c.id
), counted AS (
    SELECT least(floor(ST_LineLocatePoint(route.g, near.p) * route.len / :step),
                 greatest(ceil(route.len / :step) - 1, 0))::int AS segment,
           near.kind, count(*) AS found, count(*) FILTER (WHERE near.is_dark) AS dark
      FROM near, route
     WHERE ST_DWithin(near.p, route.g, :within)
     GROUP BY 1, 2
)
SELECT route.len, counted.segment, counted.kind, counted.found, counted.dark
  FROM route LEFT JOIN counted ON true
"""


def route_exposure(
    session: Session, wkt: str, *, within: float, besides_walk: uuid.UUID | None = None
) -> dict[str, Any]:
    """Counts of reports, walk concerns and crimes within ``within`` metres of a route.

    The concerns of ``besides_walk`` are left out (a walk's briefing counts what was known
    before it, not what it found). Returns totals, the share of the reports and concerns that
    were made about the dark, a count per 100 m stretch (``from_m``/``to_m`` along the route)
    and the worst stretches.
    """
    session.execute(text("SET LOCAL jit = off"))
    rows = session.execute(
        text(_EXPOSURE_SQL),
        {"wkt": wkt, "within": within, "step": SEGMENT_M, "besides": besides_walk},
    ).all()
    length = float(rows[0].len)
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
        if row.kind is None:  # nothing within reach: the one row carries only the length
            continue
        segment = segments[row.segment]
        segment[row.kind] += row.found
        segment["total"] += row.found
        if row.kind != "crimes":
            seen += row.found
            dark += row.dark
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
    session: Session, wkt: str, *, within: float, most: int | None = None
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The concerns, reports and crimes near a route, and the wards it crosses, for its map.

    The points are found as :func:`route_exposure` finds them (the same pieces, the same
    exact distance), the most recent first, at most ``most`` of each kind (by default
    :data:`MARKERS_MAX` concerns and :data:`CLUSTERED_MAX` reports and crimes, which the map
    draws in groups): the route's stretches already count them all. Each frame's ``found``
    column says how many of its kind lie within reach, drawn or not (:func:`map_points`).
    """
    points = map_points(session, wkt, within=within, most=most)
    return points.concerns, points.reports, points.crimes, points.wards


@dataclass(frozen=True)
class MapPoints:
    """What a route map draws near the route: see :func:`map_points`."""

    concerns: gpd.GeoDataFrame
    reports: gpd.GeoDataFrame
    crimes: gpd.GeoDataFrame
    wards: gpd.GeoDataFrame

    @property
    def found(self) -> dict[str, int]:
        """How many earlier concerns, reports and crimes lie within reach, drawn or not."""
        return {
            key: int(frame["found"].iloc[0]) if len(frame) else 0
            for key, frame in (
                ("concerns", self.concerns),
                ("reports", self.reports),
                ("crimes", self.crimes),
            )
        }


def map_points(
    session: Session,
    wkt: str,
    *,
    within: float,
    most: int | None = None,
    besides_walk: uuid.UUID | None = None,
) -> MapPoints:
    """The points a route map draws near a route, and the wards it crosses.

    ``concerns`` are the published walk concerns within ``within`` metres, less those of walk
    ``besides_walk`` (its map draws its own apart: :func:`walk_concerns`), and
    ``reports`` and ``crimes`` the published reports and police.uk crimes, found as
    :func:`route_exposure` finds them (the same pieces, the same exact distance), the most
    recent first: at most ``most`` concerns (default :data:`MARKERS_MAX`) and ``most`` or
    :data:`CLUSTERED_MAX` reports and crimes, which the map draws in groups. Each of these
    frames has a ``found`` column: how many of its kind lie within reach, drawn or not.
    A concern along a stretch has its line as WKT in ``line`` (else None); its point is the
    stretch's middle, where it is counted.
    """
    params = {"wkt": wkt, "within": within}
    session.execute(text("SET LOCAL jit = off"))  # as in route_exposure

    def frame(
        columns: str, table: str, condition: str, newest: str, limit: int
    ) -> gpd.GeoDataFrame:
        # A point on the edge between two pieces is found twice: DISTINCT ON keeps it once.
        # The window counts every point within reach before LIMIT keeps the newest.
        sql = f"""{_ROUTE_AND_PIECES}
            SELECT {columns}, count(*) OVER () AS found, geometry FROM (
                SELECT DISTINCT ON (t.id) t.*, {newest} AS newest, t.geom AS geometry
                  FROM {table} t JOIN pieces ON ST_Intersects(t.geom, pieces.piece), route
                 WHERE {condition}
                   AND ST_DWithin(ST_Transform(t.geom, 27700), route.g, :within)
                 ORDER BY t.id
            ) found
            ORDER BY newest DESC NULLS LAST, id
            LIMIT :most"""
        values = {**params, "most": limit}
        if ":walk" in condition:
            values["walk"] = besides_walk
        return gpd.read_postgis(
            text(sql).bindparams(**values),
            session.connection(),
            geom_col="geometry",
            crs=4326,
        )

    newest_report = "t.occurred_on"
    concerns = frame(
        "categories, text AS note, occurred_at AS at, ST_AsText(concern_line) AS line",
        "reports",
        "t.status = 'published' AND t.source = 'walk_concern' "
        "AND t.walk_id IS DISTINCT FROM CAST(:walk AS uuid)",
        newest_report,
        most or MARKERS_MAX,
    )
    reports = frame(
        "categories, is_dark",
        "reports",
        "t.status = 'published' AND t.source <> 'walk_concern'",
        newest_report,
        most or CLUSTERED_MAX,
    )
    crimes = frame("crime_type, month", "crimes", "true", "t.month", most or CLUSTERED_MAX)
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
    return MapPoints(
        concerns=concerns,
        reports=reports,
        crimes=crimes,
        wards=wards,
    )


def walk_concerns(session: Session, walk_id: uuid.UUID) -> gpd.GeoDataFrame:
    """Every concern recorded on one walk, in the order noted, whatever its status or place.

    Pending ones and those a moderator hid too (the officer noted them), wherever they lie, in
    the walk page's order, so the map's numbers match its list. Whether a caller may see them
    is the policy's decision (``service.policy.sees_walk_concerns``), not this query's.

    Columns: ``number`` (1, 2, ... in that order), ``categories``, ``note``, ``at`` (when
    noted), ``status`` (``published``, ``pending`` or ``hidden``), ``line`` (a stretch's WKT or
    None) and the point geometry.
    """
    return gpd.read_postgis(
        text(
            "SELECT row_number() OVER (ORDER BY occurred_at, id) AS number, categories, "
            "text AS note, occurred_at AS at, status, ST_AsText(concern_line) AS line, "
            "geom AS geometry FROM reports "
            "WHERE walk_id = :walk ORDER BY occurred_at, id"
        ).bindparams(walk=walk_id),
        session.connection(),
        geom_col="geometry",
        crs=4326,
    )


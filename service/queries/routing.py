"""Routes along streets: the walkable network built from OSM ways, and pgRouting over it.

The network (``street_vertices``, ``street_edges``, migration 0013) is the walkable OSM ways
split where they meet: a vertex is a coordinate two ways share (or one way passes twice) or
a way's end; an edge is the stretch of a way between two vertices, costed by its length in
metres and carrying the way's ``lit`` tag as ``yes``, ``no`` or ``unknown``. OSM ways cross
at shared nodes mid-way, so splitting there is what makes a junction a junction.

Routing searches only the edges in a box round the route's ends and waypoints
(``pgr_dijkstraVia`` / ``pgr_dijkstra``, undirected: people walk both ways along a one-way
street), so one route on a Greater London network reads a few thousand edges, not a million.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import shapely
from shapely.geometry import LineString
from sqlalchemy import text
from sqlalchemy.orm import Session

from service.errors import InvalidInput
from service.queries.gaps import LIT_VALUES

__all__ = [
    "NEAR_STREET_M",
    "BetterLitRoute",
    "LitWeights",
    "NoStreetRoute",
    "RouteFigures",
    "better_lit_route",
    "network_loaded",
    "rebuild_street_network",
    "route_figures",
    "snap_route",
]

NEAR_STREET_M = 100.0
"""How near a street a route's end (or a waypoint) must be to be taken onto the network."""

#: ``highway=*`` values nobody walks along: left out of the network.
NOT_WALKABLE = (
    "motorway",
    "motorway_link",
    "construction",
    "proposed",
    "abandoned",
    "raceway",
    "bus_guideway",
    "busway",
)
# ``lit=*`` values that mean lit are the gaps map's (``service.queries.gaps.LIT_VALUES``), so
# a way lit on the planner's map is lit here; ``no`` and ``disused`` are unlit; anything else,
# or no tag, is unknown.

# Reports near an edge weigh per this many metres of it (a density, not a count, so a long
# street with the same reports as a short one is not punished more).
_DENSITY_PER_M = 100.0
_REPORT_NEAR_M = 30.0
# "Within 30 m" measured in degrees (London's metres per degree averaged over latitude and
# longitude: 24 m east-west to 39 m north-south). Near a busy street a better-lit route counts
# hundreds of thousands of report-edge pairs; measured on the sphere they took seconds.
_NEAR_DEG = _REPORT_NEAR_M / (111_320 * (1 + math.cos(math.radians(51.5))) / 2)
# A route's box is its envelope widened by this share of its size, at least _MARGIN_M: room
# for the detour a better-lit way may take, without reading the whole city.
_MARGIN_SHARE = 0.5
_MARGIN_M = 400.0
# A drawn line with more points than this is thinned to bends of about 10 m first.
_MAX_WAYPOINTS = 200
_SIMPLIFY_DEG = 0.0001
# Degrees of latitude per metre (and of longitude at London's latitude), for boxes only.
_DEG_LAT_M = 1 / 111_320
_DEG_LON_M = 1 / (111_320 * math.cos(math.radians(51.5)))


class NoStreetRoute(InvalidInput):
    """No route along the streets: no street near an end, no way through, or no network."""


@dataclass(frozen=True)
class LitWeights:
    """How much a better-lit route shuns dark ways and reported places (settings ``route_*``).

    An edge costs ``length * (1 + unlit * [not lit]) * (1 + reports * reports per 100 m)``,
    counting published reports within about 30 m of it.
    """

    unlit: float = 1.0
    reports: float = 0.25


@dataclass(frozen=True)
class RouteFigures:
    """A route's line (WGS84), its length in metres and the share of it not known to be lit."""

    line: LineString
    length_m: float
    unlit_share: float


@dataclass(frozen=True)
class BetterLitRoute:
    """The better-lit way between a drawn route's ends, beside the drawn route's own figures."""

    alternative: RouteFigures
    drawn: RouteFigures


# --- building the network -----------------------------------------------------------------

_WAY_POINTS = text(
    "CREATE TEMPORARY TABLE way_points ON COMMIT DROP AS "
    "SELECT f.osm_id, (d).path[1] AS i, ST_X((d).geom) AS x, ST_Y((d).geom) AS y, "
    "(d).path[1] = 1 OR (d).path[1] = ST_NPoints(f.geom) AS is_end "
    "FROM osm_features f, LATERAL ST_DumpPoints(f.geom) d "
    "WHERE f.kind IN ('street', 'path') AND GeometryType(f.geom) = 'LINESTRING' "
    "AND f.highway <> ALL(:not_walkable)"
)
_JUNCTIONS = text(
    "CREATE TEMPORARY TABLE junctions ON COMMIT DROP AS "
    "SELECT row_number() OVER (ORDER BY x, y) AS id, x, y FROM way_points "
    "GROUP BY x, y HAVING count(*) > 1 OR bool_or(is_end)"
)
_VERTICES = text(
    "INSERT INTO street_vertices (id, geom) "
    "SELECT id, ST_SetSRID(ST_MakePoint(x, y), 4326) FROM junctions"
)
# Each point belongs to the edge begun by the last vertex at or before it; a vertex also ends
# the edge before it. Edges of one point (a way's last vertex, as a start) are dropped.
_EDGES = text(
    "WITH marked AS ("
    "  SELECT p.osm_id, p.i, p.x, p.y, j.id AS vid, "
    "  count(j.id) OVER (PARTITION BY p.osm_id ORDER BY p.i) AS k "
    "  FROM way_points p LEFT JOIN junctions j ON j.x = p.x AND j.y = p.y), "
    "pieces AS ("
    "  SELECT osm_id, i, x, y, vid, k AS edge FROM marked "
    "  UNION ALL SELECT osm_id, i, x, y, vid, k - 1 FROM marked WHERE vid IS NOT NULL), "
    "lines AS ("
    "  SELECT osm_id, (array_agg(vid ORDER BY i))[1] AS source, "
    "  (array_agg(vid ORDER BY i DESC))[1] AS target, "
    "  ST_SetSRID(ST_MakeLine(ST_MakePoint(x, y) ORDER BY i), 4326) AS geom "
    "  FROM pieces WHERE edge > 0 GROUP BY osm_id, edge HAVING count(*) >= 2) "
    "INSERT INTO street_edges (id, source, target, osm_id, highway, lit, length_m, component, "
    "geom) SELECT row_number() OVER (ORDER BY l.osm_id, l.source), l.source, l.target, l.osm_id, "
    "f.highway, CASE WHEN f.lit = ANY(:lit_yes) THEN 'yes' "
    "WHEN f.lit IN ('no', 'disused') THEN 'no' ELSE 'unknown' END, "
    "ST_Length(l.geom::geography), 0, l.geom "
    "FROM lines l JOIN osm_features f ON f.osm_type = 'w' AND f.osm_id = l.osm_id "
    "WHERE NOT (l.source = l.target AND ST_NPoints(l.geom) <= 2)"
)


# Which connected part of the network each edge is in: a route is looked for only within
# one, so a footway the extract cut off never takes a route's end.
_COMPONENTS = text(
    "UPDATE street_edges e SET component = c.component FROM pgr_connectedComponents("
    "'SELECT id, source, target, length_m AS cost, length_m AS reverse_cost "
    "FROM street_edges') c WHERE c.node = e.source"
)


def rebuild_street_network(session: Session) -> tuple[int, int]:
    """Build the walkable street network again from the loaded OSM ways; (vertices, edges).

    Runs in the caller's transaction (``walktalk osm load`` calls it after storing an extract,
    so the network always matches the ways). Motorways and the like are left out.
    """
    session.execute(text("TRUNCATE street_edges, street_vertices"))
    params = {"not_walkable": list(NOT_WALKABLE)}
    session.execute(_WAY_POINTS, params)
    # Temporary tables have no statistics until analysed: without them the planner guesses a
    # few rows and may join a London's million points to its junctions by nested loop.
    session.execute(text("ANALYZE way_points"))
    session.execute(_JUNCTIONS)
    session.execute(text("ANALYZE junctions"))
    vertices = session.execute(_VERTICES).rowcount  # type: ignore[attr-defined]
    edges = session.execute(_EDGES, {"lit_yes": list(LIT_VALUES)}).rowcount  # type: ignore[attr-defined]
    if edges:
        session.execute(_COMPONENTS)
    session.execute(text("DROP TABLE way_points"))
    session.execute(text("DROP TABLE junctions"))
    # Fresh statistics, so the first route's box search uses the GiST index at once.
    session.execute(text("ANALYZE street_edges"))
    session.execute(text("ANALYZE street_vertices"))
    return int(vertices), int(edges)


def network_loaded(session: Session) -> bool:
    """Whether a street network is built (OSM streets have been loaded)."""
    return bool(session.scalar(text("SELECT EXISTS (SELECT FROM street_edges)")))


# --- finding routes -----------------------------------------------------------------------

# The streets nearest a point: for each, the vertex at its nearer end, how far it is and its
# part of the network. The edge, not the vertex: a point halfway along a long street is near
# the street, not a corner.
_NEAREST = text(
    "WITH p AS (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS g), "
    "e AS (SELECT e.source, e.target, e.component, "
    "  ST_Distance(e.geom::geography, p.g::geography) AS metres, "
    "  ST_LineLocatePoint(e.geom, p.g) AS along "
    "  FROM street_edges e, p ORDER BY e.geom <-> p.g LIMIT 16) "
    "SELECT CASE WHEN along <= 0.5 THEN source ELSE target END, metres, component "
    "FROM e WHERE metres <= :within ORDER BY metres"
)
_SIZES = text(
    "SELECT component, count(*) FROM street_edges WHERE component = ANY(:components) "
    "GROUP BY component"
)


@dataclass(frozen=True)
class _Near:
    vertex: int
    metres: float
    component: int


def _near(session: Session, point: tuple[float, float]) -> list[_Near]:
    """Streets within 100 m of a point, nearest first."""
    rows = session.execute(
        _NEAREST, {"lon": point[0], "lat": point[1], "within": NEAR_STREET_M}
    ).all()
    return [_Near(int(r[0]), float(r[1]), int(r[2])) for r in rows]


def _ends(
    session: Session, start: tuple[float, float], end: tuple[float, float]
) -> tuple[int, int, int]:
    """Start vertex, end vertex and the network part both lie in (the biggest they share)."""
    near_start, near_end = _near(session, start), _near(session, end)
    for which, near in (("start", near_start), ("end", near_end)):
        if not near:
            raise NoStreetRoute(
                f"the route's {which} is more than {NEAR_STREET_M:g} m from any street or "
                f"path: draw the {which} nearer a street, or keep the line as drawn"
            )
    shared = {n.component for n in near_start} & {n.component for n in near_end}
    if not shared:
        raise NoStreetRoute(
            "the streets near the route's start and those near its end do not join up (a "
            "river, a railway or the edge of the loaded map is in the way): draw the route "
            "between streets that meet, or keep the line as drawn"
        )
    sizes = {int(c): int(n) for c, n in session.execute(_SIZES, {"components": sorted(shared)})}
    component = max(shared, key=lambda c: (sizes.get(c, 0), -c))
    first = next(n.vertex for n in near_start if n.component == component)
    last = next(n.vertex for n in near_end if n.component == component)
    return first, last, component


def _box_sql(points: list[tuple[float, float]]) -> str:
    """The edges query pgRouting runs: edges in the points' widened box (numbers inlined).

    pgRouting takes its edges as SQL text; only floats made here go into it.
    """
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    size_m = max((max(xs) - min(xs)) / _DEG_LON_M, (max(ys) - min(ys)) / _DEG_LAT_M)
    margin_m = max(_MARGIN_M, _MARGIN_SHARE * size_m)
    west, east = min(xs) - margin_m * _DEG_LON_M, max(xs) + margin_m * _DEG_LON_M
    south, north = min(ys) - margin_m * _DEG_LAT_M, max(ys) + margin_m * _DEG_LAT_M
    return f"ST_MakeEnvelope({west!r}, {south!r}, {east!r}, {north!r}, 4326)"


def _edges_sql(box: str, component: int, weights: LitWeights | None = None) -> str:
    where = f"geom && {box} AND component = {int(component)}"
    if weights is None:
        return f"SELECT id, source, target, length_m AS cost FROM street_edges WHERE {where}"
    unlit, per_report = float(weights.unlit), float(weights.reports)
    return (
        "WITH e AS (SELECT id, source, target, length_m, lit, geom FROM street_edges "
        f"WHERE {where}), "
        "n AS (SELECT e.id, count(*) AS reports FROM e JOIN reports r "
        f"ON r.geom && ST_Expand(e.geom, {_NEAR_DEG!r}) "
        f"AND ST_DWithin(r.geom, e.geom, {_NEAR_DEG!r}) "
        f"WHERE r.status = 'published' AND r.geom && {box} GROUP BY e.id) "
        "SELECT e.id, e.source, e.target, e.length_m "
        f"* (1 + {unlit!r} * (e.lit <> 'yes')::int) "
        f"* (1 + {per_report!r} * coalesce(n.reports, 0) * {_DENSITY_PER_M!r} "
        "/ greatest(e.length_m, 10)) AS cost "
        "FROM e LEFT JOIN n ON n.id = e.id"
    )


# The path's legs (one per pair of consecutive waypoints), edge by edge in walking order,
# each edge with the vertex it is entered from.
_VIA = text(
    "SELECT p.path_id, p.node, p.edge, e.length_m "
    "FROM pgr_dijkstraVia(:edges, CAST(:vias AS bigint[]), directed => false, "
    "strict => true, U_turn_on_edge => true) p JOIN street_edges e ON e.id = p.edge "
    "WHERE p.edge > 0 ORDER BY p.seq"
)
# The walked edges joined into one line, each turned to run the way it is walked.
_WALKED = text(
    "WITH walked AS (SELECT u.seq, e.length_m, e.lit, "
    "  CASE WHEN u.node = e.source THEN e.geom ELSE ST_Reverse(e.geom) END AS geom "
    "  FROM unnest(CAST(:edges AS bigint[]), CAST(:nodes AS bigint[])) WITH ORDINALITY "
    "  AS u(edge, node, seq) JOIN street_edges e ON e.id = u.edge) "
    "SELECT ST_AsBinary(ST_RemoveRepeatedPoints(ST_MakeLine(geom ORDER BY seq))), "
    "sum(length_m), coalesce(sum(length_m) FILTER (WHERE lit <> 'yes'), 0) FROM walked"
)
# A waypoint placed beside a street goes to the vertex at the nearer end of that street; when
# that vertex lies off the way (a dead end, a corner just past), the legs to and from it walk
# there and straight back. Such a spur, up to this long, is cut out.
_SPUR_M = NEAR_STREET_M


def _without_spurs(legs: list[list[tuple[int, int, float]]]) -> list[tuple[int, int, float]]:
    """The legs' (edge, from-vertex, metres) joined, short out-and-back spurs between them cut.

    Only at a waypoint: a walk along a street and back that the officer drew end to end is
    kept, as is any spur longer than ``_SPUR_M``.
    """
    walked: list[tuple[int, int, float]] = []
    for leg in legs:
        spur, i = 0.0, 0
        while (
            i < len(leg) and walked and walked[-1][0] == leg[i][0] and spur + leg[i][2] <= _SPUR_M
        ):
            spur += leg[i][2]
            walked.pop()
            i += 1
        walked.extend(leg[i:])
    return walked


def _path(session: Session, edges_sql: str, vias: list[int]) -> RouteFigures | None:
    legs: dict[int, list[tuple[int, int, float]]] = {}
    for path_id, node, edge, metres in session.execute(
        _VIA, {"edges": edges_sql, "vias": vias}
    ):
        legs.setdefault(int(path_id), []).append((int(edge), int(node), float(metres)))
    walked = _without_spurs([legs[k] for k in sorted(legs)])
    if not walked:
        return None
    row = session.execute(
        _WALKED, {"edges": [w[0] for w in walked], "nodes": [w[1] for w in walked]}
    ).one()
    length = float(row[1])
    return RouteFigures(
        line=shapely.from_wkb(bytes(row[0])),
        length_m=length,
        unlit_share=float(row[2]) / length if length > 0 else 0.0,
    )


def _require_network(session: Session) -> None:
    if not network_loaded(session):
        raise NoStreetRoute(
            "no streets are loaded, so routes cannot follow them: a supervisor loads an "
            "OpenStreetMap extract with `walktalk osm load FILE`; until then keep the line "
            "as drawn"
        )


def snap_route(session: Session, line: LineString) -> LineString:
    """The drawn line taken onto the streets: from its first point through its bends to its last.

    Each point of the drawn line goes to the network vertex at the nearer end of the street
    nearest it (a bend more than 100 m from any street is passed over); the shortest walk
    along the streets joins them in order.

    Raises
    ------
    NoStreetRoute
        No network is loaded, an end is more than 100 m from any street, the ends meet at
        one junction, or the streets near the line do not join up.

    """
    _require_network(session)
    if len(line.coords) > _MAX_WAYPOINTS:
        # A recorded track has a point every few metres: its bends are what matter, and one
        # nearest-street search per point would take seconds.
        line = line.simplify(_SIMPLIFY_DEG)
    coords = [(float(x), float(y)) for x, y, *_ in line.coords]
    first, last, component = _ends(session, coords[0], coords[-1])
    vias = [first]
    for point in coords[1:-1]:
        found = next((n for n in _near(session, point) if n.component == component), None)
        if found is not None and found.vertex != vias[-1]:
            vias.append(found.vertex)
    if last != vias[-1]:
        vias.append(last)
    if len(vias) < 2:
        raise NoStreetRoute(
            "the drawn line starts and ends at the same street corner: draw it along the "
            "streets you mean to walk, or keep the line as drawn"
        )
    path = _path(session, _edges_sql(_box_sql(coords), component), vias)
    if path is None:
        raise NoStreetRoute(
            "the streets near the drawn line do not join up (a river, a railway or the edge "
            "of the loaded map is in the way): draw it along streets that meet, or keep the "
            "line as drawn"
        )
    return path.line


# The share of a line along which the street nearest each 10 m piece, if within 20 m, is not
# known to be lit; pieces with no street that near count as unlit (nobody says they are lit).
# The nearest by the index's ordering (KNN), measured in metres after.
_LINE_FIGURES = text(
    "WITH l AS (SELECT ST_GeomFromWKB(:wkb, 4326) AS g), "
    "pieces AS (SELECT (d).geom AS g, ST_Centroid((d).geom) AS c FROM l, "
    "  LATERAL ST_DumpSegments(ST_Segmentize(l.g::geography, 10)::geometry) d), "
    "judged AS (SELECT ST_Length(p.g::geography) AS metres, n.lit, n.metres AS away "
    "  FROM pieces p LEFT JOIN LATERAL (SELECT e.lit, "
    "  ST_Distance(e.geom::geography, p.c::geography) AS metres FROM street_edges e "
    "  ORDER BY e.geom <-> p.c LIMIT 1) n ON true) "
    "SELECT coalesce(sum(metres), 0), coalesce(sum(metres) FILTER "
    "(WHERE lit IS DISTINCT FROM 'yes' OR away > 20), 0) FROM judged"
)


def route_figures(session: Session, line: LineString) -> RouteFigures:
    """A line's length in metres and the share of it along streets not known to be lit."""
    length, unlit = session.execute(_LINE_FIGURES, {"wkb": line.wkb}).one()
    length = float(length)
    return RouteFigures(
        line=line, length_m=length, unlit_share=float(unlit) / length if length > 0 else 0.0
    )


def better_lit_route(
    session: Session, drawn: LineString, weights: LitWeights | None = None
) -> BetterLitRoute:
    """The better-lit way between a drawn route's ends, and the drawn route's own figures.

    The cheapest path along the streets when an edge costs its length weighted up where it is
    not known to be lit and where published reports lie within about 30 m of it (``weights``). It
    is never darker than the shortest path between the same ends: if the reports' weight
    would make it so, the shortest path is the better-lit way.

    Raises
    ------
    NoStreetRoute
        As for :func:`snap_route`.

    """
    weights = weights or LitWeights()
    _require_network(session)
    coords = [(float(x), float(y)) for x, y, *_ in drawn.coords]
    start, end, component = _ends(session, coords[0], coords[-1])
    if start == end:
        raise NoStreetRoute(
            "the route starts and ends at the same street corner, so there is no other way "
            "between its ends to suggest"
        )
    box = _box_sql([coords[0], coords[-1]])
    lit = _path(session, _edges_sql(box, component, weights), [start, end])
    shortest = _path(session, _edges_sql(box, component), [start, end])
    if lit is None or shortest is None:
        raise NoStreetRoute(
            "the streets between the route's ends do not join up within the loaded map: "
            "there is no other way to suggest; keep the line as drawn"
        )
    if lit.unlit_share > shortest.unlit_share:
        lit = shortest
    return BetterLitRoute(alternative=lit, drawn=route_figures(session, drawn))
